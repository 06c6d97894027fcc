#include "flowgrpo/shapes/vocabulary.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

namespace fs = flowgrpo::shapes;

namespace {

using flowgrpo::testing::invalid_argument_message;

double distance(fs::Rgb a, fs::Rgb b) {
  const double dr = a.r - b.r, dg = a.g - b.g, db = a.b - b.b;
  return std::sqrt(dr * dr + dg * dg + db * db);
}

}  // namespace

TEST(ShapesVocabulary, WordsRoundTrip) {
  for (auto s : fs::all_shapes()) {
    EXPECT_EQ(fs::parse_shape(fs::to_string(s)), s);
    EXPECT_EQ(fs::parse_shape_noun(fs::plural(s)), s);
  }
  for (auto c : fs::all_colors()) EXPECT_EQ(fs::parse_color(fs::to_string(c)), c);
  for (auto r : fs::all_relations()) {
    EXPECT_EQ(fs::parse_relation(fs::to_string(r)), r);
    EXPECT_EQ(fs::converse(fs::converse(r)), r);
    EXPECT_NE(fs::converse(r), r);
  }
  for (int n = fs::kMinCount; n <= fs::kMaxCount; ++n)
    EXPECT_EQ(fs::parse_number_word(fs::number_word(n)), n);
  EXPECT_EQ(fs::to_string(fs::Relation::kLeftOf), "left of");
  EXPECT_EQ(fs::plural(fs::Shape::kTriangle), "triangles");
  EXPECT_EQ(fs::number_word(3), "three");
}

TEST(ShapesVocabulary, UnknownWordsListTheValidOnes) {
  const auto shape = invalid_argument_message([] { fs::parse_shape("hexagon"); });
  EXPECT_NE(shape.find("unknown shape 'hexagon'"), std::string::npos) << shape;
  EXPECT_NE(shape.find("'circle', 'square', 'triangle'"), std::string::npos) << shape;
  const auto color = invalid_argument_message([] { fs::parse_color("pink"); });
  EXPECT_NE(color.find("unknown colour 'pink'"), std::string::npos) << color;
  EXPECT_NE(color.find("'red', 'green', 'blue', 'yellow', 'purple', 'cyan'"), std::string::npos) << color;
  const auto rel = invalid_argument_message([] { fs::parse_relation("near"); });
  EXPECT_NE(rel.find("'left of', 'right of', 'above', 'below'"), std::string::npos) << rel;
  const auto num = invalid_argument_message([] { fs::parse_number_word("five"); });
  EXPECT_NE(num.find("'one', 'two', 'three', 'four'"), std::string::npos) << num;
  EXPECT_THROW(fs::number_word(0), std::invalid_argument);
  EXPECT_THROW(fs::number_word(5), std::invalid_argument);
  EXPECT_THROW(fs::parse_shape("circles"), std::invalid_argument);  // plural only through parse_shape_noun
}

TEST(ShapesVocabulary, PaletteIsSeparable) {
  // The separability the detector's colour threshold (80) relies on (docs/shapes.md).
  for (auto a : fs::all_colors()) {
    EXPECT_GE(distance(fs::rgb(a), fs::kBackground), 216.0) << fs::to_string(a);
    for (auto b : fs::all_colors())
      if (a != b) {
        EXPECT_GE(distance(fs::rgb(a), fs::rgb(b)), 136.0) << fs::to_string(a) << " " << fs::to_string(b);
      }
  }
}

TEST(ShapesVocabulary, PromptWordsAreTheClosedVocabulary) {
  const auto words = fs::prompt_words();
  const std::set<std::string> set(words.begin(), words.end());
  EXPECT_EQ(set.size(), words.size());
  for (const char* w : {"a", "photo", "of", "and", "left", "right", "above", "below", "one", "four", "circle",
                        "circles", "cyan"})
    EXPECT_TRUE(set.count(w)) << w;
  EXPECT_FALSE(set.count("an"));
  EXPECT_EQ(words.size(),
            4u + 6u + 6u + 4u + 4u);  // function words, shapes, colours, relation words, numbers
}
