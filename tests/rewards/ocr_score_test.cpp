#include "flowgrpo/rewards/ocr_score.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace fr = flowgrpo::rewards;

namespace {

double reward(const std::string& recognised, const std::string& prompt) {
  const auto r = fr::ocr_reward(recognised, prompt);
  EXPECT_TRUE(r.has_value()) << "no reward for '" << recognised << "' / '" << prompt << "'";
  return r.value_or(-1.0);
}

}  // namespace

TEST(OcrScore, TargetIsTheFirstQuotedText) {
  EXPECT_EQ(fr::ocr_target("A sign that says \"Open Late\" on a wall"), "Open Late");
  EXPECT_EQ(fr::ocr_target("\"first\" and \"second\""), "first");
  // prompt.split('"')[1]: an unclosed quote runs to the end of the prompt.
  EXPECT_EQ(fr::ocr_target("a sign \"unclosed text"), "unclosed text");
  // No quote at all: the whole prompt (the reference raises IndexError there).
  EXPECT_EQ(fr::ocr_target("no quotes here"), "no quotes here");
  EXPECT_EQ(fr::ocr_target("say \"\""), "");
}

TEST(OcrScore, ExactMatchAndNormalisation) {
  EXPECT_DOUBLE_EQ(reward("Open Late", "A sign that says \"Open Late\""), 1.0);
  // Spaces removed and lowercased on both sides.
  EXPECT_DOUBLE_EQ(reward("OPENLATE", "A sign that says \"open late\""), 1.0);
  EXPECT_DOUBLE_EQ(reward("o p e n l a t e", "\"Open Late\""), 1.0);
}

TEST(OcrScore, SubstringCostsNothing) {
  EXPECT_DOUBLE_EQ(reward("Welcome! OPEN LATE every day", "a shop sign \"Open Late\""), 1.0);
}

TEST(OcrScore, EditDistanceOverTargetLength) {
  // "helloworld" (10 code points): one substitution, one deletion, one insertion.
  EXPECT_DOUBLE_EQ(reward("hellp world", "\"hello world\""), 0.9);
  EXPECT_DOUBLE_EQ(reward("helloworl", "\"hello world\""), 0.9);
  EXPECT_DOUBLE_EQ(reward("helXloworld", "\"hello world\""), 0.9);
  EXPECT_DOUBLE_EQ(reward("hexxo world", "\"hello world\""), 0.8);
  // Nothing recognised: distance = len(target), reward 0; unrelated long text is capped at 0.
  EXPECT_DOUBLE_EQ(reward("", "\"hello\""), 0.0);
  EXPECT_DOUBLE_EQ(reward("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "\"hello\""), 0.0);
}

TEST(OcrScore, CountsCodePointsNotBytes) {
  // "café" is 4 code points (5 UTF-8 bytes): one substitution costs 1/4.
  EXPECT_DOUBLE_EQ(reward("cafe", "\"café\""), 0.75);
  EXPECT_DOUBLE_EQ(reward("CAFÉ", "\"café\""), 1.0);  // É lowercases to é
  EXPECT_DOUBLE_EQ(reward("你好世", "\"你好世界\""), 0.75);
  EXPECT_DOUBLE_EQ(reward("ΑΒΓΔ", "\"αβγδ\""), 1.0);
  EXPECT_DOUBLE_EQ(reward("ПРИВЕТ", "\"привет\""), 1.0);
  EXPECT_EQ(fr::levenshtein_distance(fr::utf8_to_code_points("naïve"), fr::utf8_to_code_points("naive")), 1u);
}

TEST(OcrScore, EmptyTargetHasNoReward) {
  // The reference divides by len(target) = 0; the reward invalidates such samples instead.
  EXPECT_FALSE(fr::ocr_reward("anything", "a blank sign \"\"").has_value());
  EXPECT_FALSE(fr::ocr_reward("", "spaces only \"   \"").has_value());
  EXPECT_FALSE(fr::ocr_reward("x", "").has_value());
}

TEST(OcrScore, LevenshteinBasics) {
  auto d = [](const std::string& a, const std::string& b) {
    return fr::levenshtein_distance(fr::utf8_to_code_points(a), fr::utf8_to_code_points(b));
  };
  EXPECT_EQ(d("kitten", "sitting"), 3u);
  EXPECT_EQ(d("", ""), 0u);
  EXPECT_EQ(d("abc", ""), 3u);
  EXPECT_EQ(d("", "abc"), 3u);
  EXPECT_EQ(d("flaw", "lawn"), 2u);
  EXPECT_EQ(d("abc", "abc"), 0u);
}

TEST(OcrScore, Utf8DecodingReplacesMalformedBytes) {
  EXPECT_EQ(fr::utf8_to_code_points("a\xC3\xA9"), (std::u32string{U'a', 0xE9}));
  EXPECT_EQ(fr::utf8_to_code_points("\xF0\x9F\x98\x80"), std::u32string{0x1F600});
  EXPECT_EQ(fr::utf8_to_code_points("\x80"), std::u32string{0xFFFD});               // stray continuation
  EXPECT_EQ(fr::utf8_to_code_points("\xC3"), std::u32string{0xFFFD});               // truncated
  EXPECT_EQ(fr::utf8_to_code_points("\xC0\xAF"), std::u32string{0xFFFD});           // overlong
  EXPECT_EQ(fr::utf8_to_code_points("\xED\xA0\x80"), std::u32string{0xFFFD});       // surrogate
  EXPECT_EQ(fr::utf8_to_code_points("\xE2\x82x"), (std::u32string{0xFFFD, U'x'}));  // cut short
  const std::string text = "Grüße, 世界 😀";
  EXPECT_EQ(fr::code_points_to_utf8(fr::utf8_to_code_points(text)), text);
}

TEST(OcrScore, LowercaseMatchesPythonOnTheCoveredRanges) {
  // normalize_ocr_text must equal Python's s.replace(' ', '').lower() for every code point
  // of the ranges it claims (ocr_score.h).
  const std::string python = flowgrpo::testing::python();
  flowgrpo::testing::TempDir dir;
  std::u32string all;
  const std::vector<std::pair<char32_t, char32_t>> ranges{{0x21, 0x7E},   {0xA0, 0x17F},  {0x386, 0x3AB},
                                                          {0x400, 0x4FF}, {0x531, 0x556}, {0xFF21, 0xFF3A}};
  for (const auto& [lo, hi] : ranges)
    for (char32_t c = lo; c <= hi; ++c) all.push_back(c);
  {
    std::ofstream out(dir / "in.txt", std::ios::binary);
    out << fr::code_points_to_utf8(all);
  }
  const auto r = flowgrpo::testing::run_command(
      python +
      " -c \"import sys; s=open(sys.argv[1], encoding='utf-8').read(); "
      "[print(ord(c), ' '.join(str(ord(x)) for x in c.replace(' ', '').lower())) for c in s]\" " +
      (dir / "in.txt").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    uint32_t c = 0, x = 0;
    fields >> c;
    std::u32string expected;
    while (fields >> x) expected.push_back(x);
    const std::u32string in(1, static_cast<char32_t>(c));
    EXPECT_EQ(fr::normalize_ocr_text(fr::code_points_to_utf8(in)), expected)
        << "code point U+" << std::hex << c;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(all.size()));
}
