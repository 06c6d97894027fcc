#pragma once
/// @file vocabulary.h
/// The words of ShapesEval, the synthetic GenEval-like task (docs/shapes.md): three
/// shapes, six colours with their RGB values, the background, the number words and
/// GenEval's four spatial relations. Every `parse_*` throws std::invalid_argument
/// naming the bad word and listing the valid ones.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace flowgrpo::shapes {

/// An object class (GenEval's `class`).
enum class Shape : uint8_t { kCircle, kSquare, kTriangle };
/// An object colour (GenEval's `color`).
enum class Color : uint8_t { kRed, kGreen, kBlue, kYellow, kPurple, kCyan };
/// A spatial relation of GenEval's `position` clause: "A <relation> B".
enum class Relation : uint8_t { kLeftOf, kRightOf, kAbove, kBelow };

inline constexpr int kNumShapes = 3;
inline constexpr int kNumColors = 6;
inline constexpr int kNumRelations = 4;
/// Counts a prompt may ask for: one to four.
inline constexpr int kMinCount = 1;
inline constexpr int kMaxCount = 4;

/// An 8-bit RGB colour.
struct Rgb {
  uint8_t r, g, b;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

/// The plain background of every render: light grey (235,235,235). It is at least 216
/// (of 441) RGB units from every palette colour, and the lines from it to the colours are
/// at least 30° apart, so a blurred edge (a blend of a colour with the background) at 50%
/// coverage or more stays at least 70 units from every other colour's line and cannot
/// take another colour (detector.h). Unlike white it leaves head-room for a generator's
/// overshoot.
inline constexpr Rgb kBackground{235, 235, 235};

/// "circle", "square", "triangle".
std::string to_string(Shape shape);
/// "circles", "squares", "triangles".
std::string plural(Shape shape);
Shape parse_shape(const std::string& word);
/// Accepts the singular or plural form.
Shape parse_shape_noun(const std::string& word);
const std::array<Shape, kNumShapes>& all_shapes();

/// "red", "green", "blue", "yellow", "purple", "cyan".
std::string to_string(Color color);
Color parse_color(const std::string& word);
const std::array<Color, kNumColors>& all_colors();
/// The colour's RGB value in renders: red (220,30,30), green (30,160,40), blue (30,60,220),
/// yellow (240,210,20), purple (150,20,170), cyan (20,200,210). The closest pair
/// (blue/purple) is 136 RGB units apart.
Rgb rgb(Color color);

/// "left of", "right of", "above", "below".
std::string to_string(Relation relation);
Relation parse_relation(const std::string& words);
const std::array<Relation, kNumRelations>& all_relations();
/// The relation with its operands swapped ("left of" <-> "right of", "above" <-> "below").
Relation converse(Relation relation);

/// "one" .. "four" for 1..4. Throws std::invalid_argument outside [kMinCount, kMaxCount].
std::string number_word(int count);
/// 1..4 for "one".."four".
int parse_number_word(const std::string& word);

/// Every word that can appear in a ShapesEval prompt, sorted and unique ("a", "above",
/// "and", "below", ..., "triangles", "two", "yellow"): the closed vocabulary a text
/// encoder for this task needs.
std::vector<std::string> prompt_words();

}  // namespace flowgrpo::shapes
