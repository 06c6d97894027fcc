#pragma once
/// @file prompt_spec.h
/// A typed ShapesEval prompt: GenEval's tag and clauses with the task's vocabulary,
/// convertible to and from GenEval metadata JSON and to the prompt text by GenEval's
/// templates (djghosh13/geneval prompts/create_prompts.py; docs/shapes.md):
///
/// | tag           | prompt                                       | include (exclude) |
/// |---------------|----------------------------------------------|------------------------------------------------------------|
/// | single_object | a photo of a triangle                        | [{triangle, 1}] | | two_object    | a
/// photo of a circle and a square             | [{circle, 1}, {square, 1}]                                 |
/// | counting      | a photo of three triangles / one triangle    | [{triangle, 3}] (exclude [{triangle, 4}])
/// | | colors        | a photo of a red circle                      | [{circle, 1, red}] | | position      |
/// a photo of a circle left of a square         | [{square, 1}, {circle, 1, position: ["left of", 0]}] | |
/// color_attr    | a photo of a red square and a green circle   | [{square, 1, red}, {circle, 1, green}] |

#include "flowgrpo/data/prompt_dataset.h"
#include "flowgrpo/shapes/vocabulary.h"

#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flowgrpo::shapes {

/// GenEval's task categories.
enum class Tag : uint8_t { kSingleObject, kTwoObject, kCounting, kColors, kPosition, kColorAttr };
inline constexpr int kNumTags = 6;
/// "single_object", "two_object", "counting", "colors", "position", "color_attr".
std::string to_string(Tag tag);
/// Throws std::invalid_argument listing the valid tags.
Tag parse_tag(const std::string& name);
/// In GenEval's order (as data::geneval_tags()).
const std::array<Tag, kNumTags>& all_tags();

/// `position: [relation, target]`: every object of this clause must be `relation` every
/// object of include clause `target` (an earlier clause).
struct PositionRequirement {
  Relation relation;
  int target = 0;
  bool operator==(const PositionRequirement& o) const { return relation == o.relation && target == o.target; }
};

/// One GenEval `include` clause: at least (official) / exactly (strict) `count` objects
/// of `shape`, all `color` if given, placed as `position` requires if given.
struct IncludeClause {
  Shape shape = Shape::kCircle;
  int count = 1;
  std::optional<Color> color;
  std::optional<PositionRequirement> position;
  bool operator==(const IncludeClause& o) const {
    return shape == o.shape && count == o.count && color == o.color && position == o.position;
  }
};

/// One GenEval `exclude` clause: fewer than `count` objects of `shape`.
struct ExcludeClause {
  Shape shape = Shape::kCircle;
  int count = 1;
  bool operator==(const ExcludeClause& o) const { return shape == o.shape && count == o.count; }
};

/// A ShapesEval prompt as GenEval metadata with typed words.
struct PromptSpec {
  Tag tag = Tag::kSingleObject;
  std::vector<IncludeClause> include;
  std::vector<ExcludeClause> exclude;

  /// "a photo of a <shape>".
  static PromptSpec single_object(Shape shape);
  /// "a photo of a <first> and a <second>"; throws std::invalid_argument if equal.
  static PromptSpec two_object(Shape first, Shape second);
  /// "a photo of <n> <shapes>" ("one <shape>" for 1) with GenEval's exclude clause
  /// {shape, n+1}; throws std::invalid_argument unless 1 <= n <= 4.
  static PromptSpec counting(Shape shape, int count);
  /// "a photo of a <color> <shape>".
  static PromptSpec colors(Color color, Shape shape);
  /// "a photo of a <subject> <relation> a <reference>": include [{reference, 1},
  /// {subject, 1, position: [relation, 0]}] as GenEval. Throws std::invalid_argument if
  /// the shapes are equal.
  static PromptSpec position(Shape subject, Relation relation, Shape reference);
  /// "a photo of a <c1> <s1> and a <c2> <s2>"; throws std::invalid_argument unless the
  /// shapes differ and the colours differ.
  static PromptSpec color_attr(Color c1, Shape s1, Color c2, Shape s2);

  /// Throws std::invalid_argument saying how the clauses differ from the tag's template
  /// (the table above). Specs built by the factories always pass.
  void check_template() const;
  bool matches_template() const;

  /// The prompt text by GenEval's template. Throws std::invalid_argument if the spec
  /// does not match its tag's template.
  std::string prompt() const;

  /// GenEval metadata `{tag, include, exclude?, prompt}` (exclude only when non-empty).
  /// Throws as prompt().
  nlohmann::json to_metadata() const;

  /// Reads GenEval metadata with ShapesEval words. Needs `tag` (a GenEval tag) and
  /// `include`; `exclude` is optional and `prompt` is ignored. Clauses must be well
  /// formed (positive counts, a position naming an earlier clause). With
  /// `require_template` the clauses must also match the tag's template (counts 1..4).
  /// Throws std::invalid_argument naming the key and the problem, e.g.
  /// "include[0].class: unknown shape 'dog' (valid: 'circle', 'square', 'triangle')".
  static PromptSpec from_metadata(const nlohmann::json& metadata, bool require_template = true);

  /// Parses a prompt written by prompt() back into a spec. Throws std::invalid_argument
  /// for text that is not one of the six templates, naming the unexpected word (and
  /// listing the valid words where an unknown word is the problem).
  static PromptSpec parse_prompt(const std::string& text);

  bool operator==(const PromptSpec& o) const {
    return tag == o.tag && include == o.include && exclude == o.exclude;
  }
  bool operator!=(const PromptSpec& o) const { return !(*this == o); }
};

/// The data::MetadataValidator of ShapesEval prompt files: the record's words must be
/// ShapesEval words, its clauses must match its tag's template, and its `prompt` must be
/// the template's text. Throws std::invalid_argument (the loader adds file:line).
void validate_shapes_record(const nlohmann::json& record);

/// Loads a ShapesEval GenEval-metadata file, validating every line with
/// validate_shapes_record. Throws std::invalid_argument naming the file and line.
data::PromptDataset load_shapes_prompts(const std::filesystem::path& path);

}  // namespace flowgrpo::shapes
