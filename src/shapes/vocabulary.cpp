#include "flowgrpo/shapes/vocabulary.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <stdexcept>

namespace flowgrpo::shapes {

namespace {

template <class T, size_t N>
std::string valid_list(const std::array<T, N>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "'" : ", '") + to_string(v) + "'";
  return out;
}

}  // namespace

std::string to_string(Shape shape) {
  switch (shape) {
    case Shape::kCircle: return "circle";
    case Shape::kSquare: return "square";
    case Shape::kTriangle: return "triangle";
  }
  throw std::invalid_argument("invalid Shape value " + std::to_string(static_cast<int>(shape)));
}

std::string plural(Shape shape) {
  return to_string(shape) + "s";
}

Shape parse_shape(const std::string& word) {
  for (Shape s : all_shapes())
    if (to_string(s) == word) return s;
  throw std::invalid_argument("unknown shape '" + word + "' (valid: " + valid_list(all_shapes()) + ")");
}

Shape parse_shape_noun(const std::string& word) {
  for (Shape s : all_shapes())
    if (to_string(s) == word || plural(s) == word) return s;
  throw std::invalid_argument("unknown shape '" + word + "' (valid: " + valid_list(all_shapes()) +
                              ", or their plurals)");
}

const std::array<Shape, kNumShapes>& all_shapes() {
  static const std::array<Shape, kNumShapes> v = {Shape::kCircle, Shape::kSquare, Shape::kTriangle};
  return v;
}

std::string to_string(Color color) {
  switch (color) {
    case Color::kRed: return "red";
    case Color::kGreen: return "green";
    case Color::kBlue: return "blue";
    case Color::kYellow: return "yellow";
    case Color::kPurple: return "purple";
    case Color::kCyan: return "cyan";
  }
  throw std::invalid_argument("invalid Color value " + std::to_string(static_cast<int>(color)));
}

Color parse_color(const std::string& word) {
  for (Color c : all_colors())
    if (to_string(c) == word) return c;
  throw std::invalid_argument("unknown colour '" + word + "' (valid: " + valid_list(all_colors()) + ")");
}

const std::array<Color, kNumColors>& all_colors() {
  static const std::array<Color, kNumColors> v = {Color::kRed,    Color::kGreen,  Color::kBlue,
                                                  Color::kYellow, Color::kPurple, Color::kCyan};
  return v;
}

Rgb rgb(Color color) {
  // Chosen for separability (docs/shapes.md): pairwise >= 136 apart, >= 216 from the
  // background, background-to-colour lines >= 30 degrees apart.
  switch (color) {
    case Color::kRed: return {220, 30, 30};
    case Color::kGreen: return {30, 160, 40};
    case Color::kBlue: return {30, 60, 220};
    case Color::kYellow: return {240, 210, 20};
    case Color::kPurple: return {150, 20, 170};
    case Color::kCyan: return {20, 200, 210};
  }
  throw std::invalid_argument("invalid Color value " + std::to_string(static_cast<int>(color)));
}

std::string to_string(Relation relation) {
  switch (relation) {
    case Relation::kLeftOf: return "left of";
    case Relation::kRightOf: return "right of";
    case Relation::kAbove: return "above";
    case Relation::kBelow: return "below";
  }
  throw std::invalid_argument("invalid Relation value " + std::to_string(static_cast<int>(relation)));
}

Relation parse_relation(const std::string& words) {
  for (Relation r : all_relations())
    if (to_string(r) == words) return r;
  throw std::invalid_argument("unknown relation '" + words + "' (valid: " + valid_list(all_relations()) +
                              ")");
}

const std::array<Relation, kNumRelations>& all_relations() {
  static const std::array<Relation, kNumRelations> v = {Relation::kLeftOf, Relation::kRightOf,
                                                        Relation::kAbove, Relation::kBelow};
  return v;
}

Relation converse(Relation relation) {
  switch (relation) {
    case Relation::kLeftOf: return Relation::kRightOf;
    case Relation::kRightOf: return Relation::kLeftOf;
    case Relation::kAbove: return Relation::kBelow;
    case Relation::kBelow: return Relation::kAbove;
  }
  return relation;
}

namespace {
const std::array<const char*, kMaxCount> kNumberWords = {"one", "two", "three", "four"};
}

std::string number_word(int count) {
  if (count < kMinCount || count > kMaxCount)
    throw std::invalid_argument("count " + std::to_string(count) + " is out of range (valid: " +
                                std::to_string(kMinCount) + " to " + std::to_string(kMaxCount) + ")");
  return kNumberWords[static_cast<size_t>(count - 1)];
}

int parse_number_word(const std::string& word) {
  for (int n = kMinCount; n <= kMaxCount; ++n)
    if (number_word(n) == word) return n;
  throw std::invalid_argument("unknown number word '" + word + "' (valid: 'one', 'two', 'three', 'four')");
}

std::vector<std::string> prompt_words() {
  std::set<std::string> words = {"a", "photo", "of", "and"};  // no vowel-initial word, so never "an"
  for (Shape s : all_shapes()) {
    words.insert(to_string(s));
    words.insert(plural(s));
  }
  for (Color c : all_colors()) words.insert(to_string(c));
  for (Relation r : all_relations()) {
    std::istringstream in(to_string(r));
    for (std::string w; in >> w;) words.insert(w);
  }
  for (int n = kMinCount; n <= kMaxCount; ++n) words.insert(number_word(n));
  return {words.begin(), words.end()};
}

}  // namespace flowgrpo::shapes
