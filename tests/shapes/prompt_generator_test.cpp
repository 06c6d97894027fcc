#include "flowgrpo/shapes/prompt_generator.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace fs = flowgrpo::shapes;
namespace stdfs = std::filesystem;
using fs::PromptSpec;
using fs::Tag;

namespace {

std::string read_file(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

stdfs::path committed_dir() {
  return stdfs::path(FLOWGRPO_SOURCE_DIR) / "assets" / "shapes" / "prompts";
}

std::map<Tag, int> count_tags(const std::vector<PromptSpec>& specs) {
  std::map<Tag, int> out;
  for (const auto& s : specs) ++out[s.tag];
  return out;
}

}  // namespace

TEST(ShapesPromptGenerator, CommittedFilesAreReproducibleFromTheSeed) {
  flowgrpo::testing::TempDir dir;
  fs::write_prompt_files(dir.path(), fs::kPromptSeed);
  for (const char* name : {"train_metadata.jsonl", "test_metadata.jsonl", "held_out_metadata.jsonl"}) {
    const auto committed = committed_dir() / name;
    ASSERT_TRUE(stdfs::exists(committed)) << committed << " is missing: regenerate it (docs/shapes.md)";
    EXPECT_TRUE(read_file(dir / name) == read_file(committed))
        << name << " differs from the committed file; regenerate assets/shapes/prompts (docs/shapes.md)";
    // And the committed files load as ShapesEval prompt files.
    EXPECT_NO_THROW(fs::load_shapes_prompts(committed)) << name;
  }
  EXPECT_FALSE(stdfs::exists(dir / "train_metadata.jsonl.tmp"));
}

TEST(ShapesPromptGenerator, SetsFollowTheDocumentedRule) {
  const auto sets = fs::generate_prompt_sets(fs::kPromptSeed);
  // Test: the small spaces in full, color_attr 24 held out + 24 seen.
  const auto test = count_tags(sets.test);
  EXPECT_EQ(sets.test.size(), 111u);
  EXPECT_EQ(test.at(Tag::kSingleObject), 3);
  EXPECT_EQ(test.at(Tag::kTwoObject), 6);
  EXPECT_EQ(test.at(Tag::kCounting), 12);
  EXPECT_EQ(test.at(Tag::kColors), 18);
  EXPECT_EQ(test.at(Tag::kPosition), 24);
  EXPECT_EQ(test.at(Tag::kColorAttr), 48);
  // Held out: 4 position and 24 color_attr prompts, all in test, none in train.
  const auto held = count_tags(sets.held_out);
  EXPECT_EQ(held.at(Tag::kPosition), 4);
  EXPECT_EQ(held.at(Tag::kColorAttr), 24);
  EXPECT_EQ(held.size(), 2u);
  std::set<std::string> train_prompts, test_prompts;
  for (const auto& s : sets.train) train_prompts.insert(s.prompt());
  for (const auto& s : sets.test) test_prompts.insert(s.prompt());
  for (const auto& s : sets.held_out) {
    EXPECT_TRUE(fs::is_held_out(s, fs::kPromptSeed));
    EXPECT_TRUE(test_prompts.count(s.prompt())) << s.prompt();
    EXPECT_FALSE(train_prompts.count(s.prompt())) << s.prompt();
  }
  int held_in_test = 0;
  for (const auto& s : sets.test) held_in_test += fs::is_held_out(s, fs::kPromptSeed);
  EXPECT_EQ(held_in_test, 28);
  // Held-out scenes are closed under rewording: the converse wording is held out too.
  for (const auto& s : sets.held_out)
    if (s.tag == Tag::kPosition) {
      const auto& c = s.include[1];
      const auto converse =
          PromptSpec::position(s.include[0].shape, fs::converse(c.position->relation), c.shape);
      EXPECT_TRUE(fs::is_held_out(converse, fs::kPromptSeed)) << converse.prompt();
    } else {
      const auto swapped = PromptSpec::color_attr(*s.include[1].color, s.include[1].shape,
                                                  *s.include[0].color, s.include[0].shape);
      EXPECT_TRUE(fs::is_held_out(swapped, fs::kPromptSeed)) << swapped.prompt();
    }
  // Train: 1800 lines, 7:5:3:1:1 (+ single 1), every prompt not held out appears.
  const auto train = count_tags(sets.train);
  EXPECT_EQ(sets.train.size(), static_cast<size_t>(fs::kTrainSize));
  EXPECT_EQ(train.at(Tag::kPosition), 700);
  EXPECT_EQ(train.at(Tag::kCounting), 500);
  EXPECT_EQ(train.at(Tag::kColorAttr), 300);
  EXPECT_EQ(train.at(Tag::kColors), 100);
  EXPECT_EQ(train.at(Tag::kTwoObject), 100);
  EXPECT_EQ(train.at(Tag::kSingleObject), 100);
  EXPECT_EQ(train_prompts.size(), static_cast<size_t>(243 - 28));
  // Balanced within a tag: counts differ by at most one.
  std::map<std::string, int> per_prompt;
  for (const auto& s : sets.train) ++per_prompt[s.prompt()];
  std::map<Tag, std::pair<int, int>> range;
  for (const auto& s : sets.train) {
    const int n = per_prompt[s.prompt()];
    auto [it, fresh] = range.emplace(s.tag, std::make_pair(n, n));
    it->second.first = std::min(it->second.first, n);
    it->second.second = std::max(it->second.second, n);
  }
  for (const auto& [tag, r] : range) EXPECT_LE(r.second - r.first, 1) << fs::to_string(tag);
  // Every word and every colour-shape binding of color_attr still occurs in training.
  std::set<std::pair<fs::Color, fs::Shape>> bindings;
  for (const auto& s : sets.train)
    if (s.tag == Tag::kColorAttr)
      for (const auto& c : s.include) bindings.insert({*c.color, c.shape});
  EXPECT_EQ(bindings.size(), 18u);
}

TEST(ShapesPromptGenerator, DeterministicAndSeedDependent) {
  const auto a = fs::generate_prompt_sets(7);
  const auto b = fs::generate_prompt_sets(7);
  const auto c = fs::generate_prompt_sets(8);
  ASSERT_EQ(a.train.size(), b.train.size());
  EXPECT_TRUE(a.train == b.train && a.test == b.test && a.held_out == b.held_out);
  EXPECT_FALSE(a.held_out == c.held_out && a.train == c.train);
}
