#include "flowgrpo/data/prompt_dataset.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fd = flowgrpo::data;
using flowgrpo::testing::TempDir;
using flowgrpo::testing::write_text_file;
using nlohmann::json;

namespace {

using flowgrpo::testing::invalid_argument_message;

const char* kGood1 =
    R"({"tag": "position", "include": [{"class": "square", "count": 1}, {"class": "circle", "count": 1, "position": ["left of", 0]}], "prompt": "a photo of a circle left of a square"})";
const char* kGood2 =
    R"({"tag": "counting", "include": [{"class": "triangle", "count": 3}], "exclude": [{"class": "triangle", "count": 4}], "prompt": "a photo of three triangles"})";

// The error for a file whose third line is `bad` (the others valid).
std::string line3_error(const TempDir& dir, const std::string& bad) {
  const auto path = dir / "bad.jsonl";
  write_text_file(path, std::string(kGood1) + "\n" + kGood2 + "\n" + bad + "\n" + kGood1 + "\n");
  return invalid_argument_message([&] { fd::PromptDataset::load_geneval(path); });
}

}  // namespace

TEST(PromptDataset, LoadsGenevalMetadata) {
  TempDir dir;
  const auto path = dir / "test_metadata.jsonl";
  write_text_file(path, std::string("\xEF\xBB\xBF") + kGood1 + "\r\n" + kGood2 + "\n");
  const auto ds = fd::PromptDataset::load(path);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.prompt(0), "a photo of a circle left of a square");
  EXPECT_EQ(ds.tag(0), "position");
  EXPECT_EQ(ds.tag(1), "counting");
  EXPECT_EQ(ds.metadata(1)["exclude"][0]["count"], 4);
  EXPECT_EQ(ds.metadata(0)["prompt"], ds.prompt(0));  // the whole record is the metadata
  EXPECT_EQ(ds.source(), path);
  EXPECT_EQ(ds.distinct_tags(), (std::vector<std::string>{"counting", "position"}));
  EXPECT_EQ(ds.with_tag("counting").size(), 1u);
  EXPECT_EQ(ds.subset({1, 0, 1}).prompt(2), "a photo of three triangles");
  EXPECT_THROW(ds.prompt(2), std::out_of_range);
  // Saving writes GenEval's own layout, and loading it back gives the same records.
  const auto saved = dir / "saved.jsonl";
  ds.save_geneval(saved);
  std::ifstream in(saved, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), std::string(kGood1) + "\n" + kGood2 + "\n");
  EXPECT_EQ(fd::PromptDataset::load_geneval(saved).metadata(), ds.metadata());
}

TEST(PromptDataset, LoadsText) {
  TempDir dir;
  const auto path = dir / "train.txt";
  write_text_file(path, "  a photo of a cat \nA \"quoted\" sign\r\n");
  const auto ds = fd::PromptDataset::load(path);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.prompt(0), "a photo of a cat");
  EXPECT_EQ(ds.prompt(1), "A \"quoted\" sign");
  EXPECT_EQ(ds.metadata(0), json::object());
  EXPECT_EQ(ds.tag(1), "");
  EXPECT_TRUE(ds.distinct_tags().empty());
  EXPECT_EQ(fd::prompt_file("/p", fd::PromptFormat::kText, "train"), std::filesystem::path("/p/train.txt"));
  EXPECT_EQ(fd::prompt_file("/p", fd::PromptFormat::kGeneval, "test"),
            std::filesystem::path("/p/test_metadata.jsonl"));
  EXPECT_EQ(fd::parse_prompt_format("geneval"), fd::PromptFormat::kGeneval);
  EXPECT_NE(invalid_argument_message([] { fd::parse_prompt_format("ocr"); }).find("valid: geneval, text"),
            std::string::npos);
}

TEST(PromptDataset, FileErrorsNameFileAndLine) {
  TempDir dir;
  const auto missing = invalid_argument_message([&] { fd::PromptDataset::load_geneval(dir / "nope.jsonl"); });
  EXPECT_NE(missing.find((dir / "nope.jsonl").string() + ": prompt file not found"), std::string::npos)
      << missing;
  write_text_file(dir / "empty.jsonl", "");
  EXPECT_NE(invalid_argument_message([&] {
              fd::PromptDataset::load_geneval(dir / "empty.jsonl");
            }).find("empty prompt file"),
            std::string::npos);
  write_text_file(dir / "empty.txt", "");
  EXPECT_NE(invalid_argument_message([&] {
              fd::PromptDataset::load_text(dir / "empty.txt");
            }).find("empty prompt file"),
            std::string::npos);
  write_text_file(dir / "blank.txt", "one\n\nthree\n");
  const auto blank = invalid_argument_message([&] { fd::PromptDataset::load_text(dir / "blank.txt"); });
  EXPECT_NE(blank.find("blank.txt:2: blank prompt"), std::string::npos) << blank;
  write_text_file(dir / "prompts.csv", "x\n");
  EXPECT_NE(invalid_argument_message([&] {
              fd::PromptDataset::load(dir / "prompts.csv");
            }).find("extension '.csv'"),
            std::string::npos);

  const auto path = (dir / "bad.jsonl").string();
  auto expect = [&](const std::string& bad, const std::string& what) {
    const auto e = line3_error(dir, bad);
    EXPECT_NE(e.find(path + ":3: "), std::string::npos) << e;
    EXPECT_NE(e.find(what), std::string::npos) << "expected '" << what << "' in: " << e;
  };
  expect(R"({"tag": "counting", "include": [)", "invalid JSON: ");
  expect("", "blank line");
  expect("[1, 2]", "expected a JSON object, found array");
  expect(R"({"include": [{"class": "circle", "count": 1}], "prompt": "p"})", "missing key 'tag'");
  expect(R"({"tag": "objects", "include": [{"class": "circle", "count": 1}], "prompt": "p"})",
         "unknown tag 'objects' (valid: single_object, two_object, counting, colors, position, color_attr)");
  expect(R"({"tag": "colors", "include": {"class": "circle"}, "prompt": "p"})", "'include' must be an array");
  expect(R"({"tag": "colors", "include": [], "prompt": "p"})", "at least one clause");
  expect(R"({"tag": "colors", "include": [{"count": 1}], "prompt": "p"})", "missing key 'include[0].class'");
  expect(R"({"tag": "colors", "include": [{"class": "circle", "count": "1"}], "prompt": "p"})",
         "'include[0].count' must be an integer >= 1");
  expect(R"({"tag": "colors", "include": [{"class": "circle", "count": 0}], "prompt": "p"})",
         "'include[0].count' must be an integer >= 1");
  expect(R"({"tag": "colors", "include": [{"class": "circle", "count": 1, "color": 3}], "prompt": "p"})",
         "'include[0].color' must be a non-empty string");
  expect(
      R"({"tag": "position", "include": [{"class": "a", "count": 1}, {"class": "b", "count": 1, "position": ["left of", 1]}], "prompt": "p"})",
      "'include[1].position' index 1 is out of range");
  expect(
      R"({"tag": "position", "include": [{"class": "a", "count": 1}, {"class": "b", "count": 1, "position": ["left of", -1]}], "prompt": "p"})",
      "out of range");
  expect(
      R"({"tag": "position", "include": [{"class": "a", "count": 1, "position": ["above", 0]}], "prompt": "p"})",
      "the first include clause cannot have a position");
  expect(
      R"({"tag": "position", "include": [{"class": "a", "count": 1}, {"class": "b", "count": 1, "position": ["near", 0]}], "prompt": "p"})",
      "unknown relation 'near'");
  expect(
      R"({"tag": "position", "include": [{"class": "a", "count": 1}, {"class": "b", "count": 1, "position": "left of"}], "prompt": "p"})",
      "must be [relation, index]");
  expect(
      R"({"tag": "counting", "include": [{"class": "a", "count": 2}], "exclude": [{"class": "a"}], "prompt": "p"})",
      "missing key 'exclude[0].count'");
  expect(R"({"tag": "colors", "include": [{"class": "circle", "count": 1}]})", "missing key 'prompt'");
  expect(R"({"tag": "colors", "include": [{"class": "circle", "count": 1}], "prompt": "   "})",
         "blank prompt");
  expect(R"({"tag": "colors", "include": [{"class": "circle", "count": 1}], "prompt": 7})",
         "'prompt' must be a string");
}

// Issue 14: invalid UTF-8 in a prompt file used to pass loading and fail inside the
// CLIP/T5 tokenizers mid-run, naming neither file nor line.
TEST(PromptDataset, InvalidUtf8IsRejectedAtLoadWithFileLineAndByte) {
  TempDir dir;
  const auto text = dir / "train.txt";
  // Line 2: "caf" then a lone Latin-1 0xE9 (not UTF-8) at byte 3.
  write_text_file(text, "a photo of a cat\ncaf\xE9 sign\n");
  EXPECT_EQ(invalid_argument_message([&] { fd::PromptDataset::load_text(text); }),
            text.string() + ":2: invalid UTF-8 at byte 3 of the line (0xe9); prompt files must be UTF-8");
  // Truncated, overlong, surrogate and out-of-range sequences; the BOM line keeps its offsets.
  for (const auto& [bad, byte] : std::vector<std::pair<std::string, std::string>>{
           {"ok \xE2\x82", "3"},         // truncated euro sign at the end of the line
           {"\xC0\xAF", "0"},            // overlong '/'
           {"x\xED\xA0\x80", "1"},       // UTF-16 surrogate D800
           {"ab\xF4\x90\x80\x80", "2"},  // above U+10FFFF
           {"\x80", "0"}}) {             // stray continuation byte
    write_text_file(text, "\xEF\xBB\xBFok\n" + bad + "\n");
    const auto e = invalid_argument_message([&] { fd::PromptDataset::load(text); });
    EXPECT_EQ(e.rfind(text.string() + ":2: invalid UTF-8 at byte " + byte + " ", 0), 0u) << e;
  }
  // Valid multi-byte text (2-, 3- and 4-byte sequences) and a BOM load unchanged.
  write_text_file(text, "\xEF\xBB\xBF caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xB1\r\n");
  EXPECT_EQ(fd::PromptDataset::load_text(text).prompt(0), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xB1");

  // GenEval files too (nlohmann would also refuse it, with a less direct message).
  const auto jsonl = dir / "test_metadata.jsonl";
  write_text_file(
      jsonl, std::string(kGood1) + "\n" +
                 R"({"tag": "colors", "include": [{"class": "circle", "count": 1}], "prompt": "a )" + "\xFF" +
                 R"("})" + "\n");
  EXPECT_EQ(invalid_argument_message([&] { fd::PromptDataset::load_geneval(jsonl); }),
            jsonl.string() + ":2: invalid UTF-8 at byte 77 of the line (0xff); prompt files must be UTF-8");
}

TEST(PromptDataset, ValidatorHookGetsFileAndLine) {
  TempDir dir;
  const auto path = dir / "p.jsonl";
  write_text_file(path, std::string(kGood1) + "\n" + kGood2 + "\n");
  const auto e = invalid_argument_message([&] {
    fd::PromptDataset::load_geneval(path, [](const json& record) {
      if (record["tag"] == "counting") throw std::invalid_argument("no counting here");
    });
  });
  EXPECT_EQ(e, path.string() + ":2: no counting here");
}

TEST(PromptDataset, FormatsLikePythonJsonDumps) {
  const auto record = json::parse(
      R"({"prompt": "caf\u00e9 \"x\"\n\ud83d\ude00", "zeta": [1.5, true, null], "include": [{"position": ["above", 0], "count": 1, "class": "c", "extra": 2}], "tag": "position"})");
  EXPECT_EQ(
      fd::format_geneval_record(record),
      R"({"tag": "position", "include": [{"class": "c", "count": 1, "position": ["above", 0], "extra": 2}], )"
      R"("prompt": "caf\u00e9 \"x\"\n\ud83d\ude00", "zeta": [1.5, true, null]})");
  EXPECT_THROW(fd::PromptDataset({"a"}, {}), std::invalid_argument);
}
