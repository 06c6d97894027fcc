#pragma once
/// @file prompt_dataset.h
/// Prompt files in the two formats of flow_grpo (scripts/train_sd3.py,
/// flow_grpo.md §4):
///  - GenEval metadata jsonl (`prompt_fn = "geneval"`, `{split}_metadata.jsonl`): one JSON
///    object per line, `{"tag", "include": [{"class", "count", "color"?, "position"?}],
///    "exclude"?: [{"class", "count"}], "prompt"}`; the whole object is the prompt's metadata;
///  - plain text (`prompt_fn = "general_ocr"`, `{split}.txt`): one prompt per line,
///    metadata `{}`.
///
/// Loading validates every line and reports the first problem as
/// `<file>:<line>: <what is wrong>` (lines are 1-based) in a std::invalid_argument.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace flowgrpo::data {

/// GenEval's six task tags, in GenEval's order: single_object, two_object, counting,
/// colors, position, color_attr.
const std::vector<std::string>& geneval_tags();
bool is_geneval_tag(const std::string& tag);

/// GenEval's spatial relations: "left of", "right of", "above", "below" (the only ones
/// evaluate_images.py::relative_position can report).
const std::vector<std::string>& geneval_relations();

/// Checks the structure of one GenEval metadata record: an object with a known `tag`,
/// a non-empty `include` array of clauses `{class: non-empty string, count: integer >= 1,
/// color?: non-empty string, position?: [relation, index]}` where `relation` is one of
/// geneval_relations() and `index` names an *earlier* include clause (0 <= index < own
/// position, as GenEval's evaluator requires), an optional `exclude` array of
/// `{class, count}` and a non-blank string `prompt`. Further keys are allowed.
/// Throws std::invalid_argument saying which key is wrong and why (no file or line).
void validate_geneval_record(const nlohmann::json& record);

/// One record as a jsonl line (no trailing newline) in the byte layout of Python's
/// `json.dumps` (", " and ": " separators, non-ASCII escaped as \uXXXX) with GenEval's key
/// order: tag, include, exclude, prompt, then any other keys sorted; inside clauses
/// class, count, color, position, then others sorted. This is how GenEval's
/// create_prompts.py writes its files.
std::string format_geneval_record(const nlohmann::json& record);

/// Extra validation applied to every GenEval record after the structural check, e.g. a
/// task's vocabulary (shapes::validate_shapes_record). It throws std::invalid_argument
/// with what is wrong; the loader prefixes the file and line.
using MetadataValidator = std::function<void(const nlohmann::json& record)>;

/// The two prompt-file formats.
enum class PromptFormat {
  kGeneval,  ///< "geneval": GenEval metadata jsonl
  kText,     ///< "text": one prompt per line
};
std::string to_string(PromptFormat format);
/// Parses "geneval" or "text"; throws std::invalid_argument listing both otherwise.
PromptFormat parse_prompt_format(const std::string& name);

/// The file of `split` ("train", "test", ...) in a prompt directory, as flow_grpo names
/// it: `dir/{split}_metadata.jsonl` (GenEval) or `dir/{split}.txt` (text).
std::filesystem::path prompt_file(const std::filesystem::path& dir, PromptFormat format,
                                  const std::string& split);

/// Prompts with their metadata and tags, in file order. Immutable once built.
class PromptDataset {
 public:
  PromptDataset() = default;
  /// An in-memory dataset. The tag of a record is its "tag" string ("" when absent).
  /// Throws std::invalid_argument if the vectors differ in length.
  PromptDataset(std::vector<std::string> prompts, std::vector<nlohmann::json> metadata,
                std::filesystem::path source = {});

  /// Loads a GenEval metadata jsonl file; every line is validated with
  /// validate_geneval_record and then `validator` (if given). A UTF-8 BOM and CR line
  /// endings are accepted. Throws std::invalid_argument naming the file (and the 1-based
  /// line where one applies) for: a missing or unreadable file, an empty file, a blank
  /// line, invalid UTF-8 (as load_text), invalid JSON, a missing or ill-typed field, an
  /// unknown tag or relation, a position index out of range, a blank prompt, or whatever
  /// `validator` rejects.
  static PromptDataset load_geneval(const std::filesystem::path& path,
                                    const MetadataValidator& validator = nullptr);

  /// Loads a plain-text file, one prompt per line with surrounding whitespace stripped
  /// (as flow_grpo's TextPromptDataset), metadata `{}`. Throws std::invalid_argument
  /// naming the file (and line) for a missing file, an empty file, a blank line or a
  /// line that is not valid UTF-8 ("FILE:LINE: invalid UTF-8 at byte N of the line",
  /// N counted from 0), which the tokenizers would otherwise reject mid-run.
  static PromptDataset load_text(const std::filesystem::path& path);

  /// Loads `path` in `format`; `validator` applies to GenEval files only.
  static PromptDataset load(const std::filesystem::path& path, PromptFormat format,
                            const MetadataValidator& validator = nullptr);

  /// Loads `path` in the format its name implies: `*.jsonl` GenEval, `*.txt` text.
  /// Throws std::invalid_argument for any other extension (and as the loaders do).
  static PromptDataset load(const std::filesystem::path& path, const MetadataValidator& validator = nullptr);

  size_t size() const { return prompts_.size(); }
  bool empty() const { return prompts_.empty(); }
  /// Throws std::out_of_range for i >= size().
  const std::string& prompt(size_t i) const { return prompts_.at(i); }
  /// The record of prompt i (the whole JSON object for GenEval files, `{}` for text).
  const nlohmann::json& metadata(size_t i) const { return metadata_.at(i); }
  /// The GenEval tag of prompt i ("" for text prompts).
  const std::string& tag(size_t i) const { return tags_.at(i); }
  const std::vector<std::string>& prompts() const { return prompts_; }
  const std::vector<nlohmann::json>& metadata() const { return metadata_; }
  /// The file it was loaded from (empty for in-memory datasets).
  const std::filesystem::path& source() const { return source_; }

  /// The distinct non-empty tags, in GenEval's order for the known ones, then others sorted.
  std::vector<std::string> distinct_tags() const;
  /// The entries at `indices` (in that order). Throws std::out_of_range for a bad index.
  PromptDataset subset(const std::vector<size_t>& indices) const;
  /// The entries whose tag is `tag` (possibly none).
  PromptDataset with_tag(const std::string& tag) const;

  /// Writes the dataset as GenEval jsonl (format_geneval_record per line, '\n' endings).
  /// Throws std::invalid_argument if a record is not a valid GenEval record, and
  /// std::runtime_error if the file cannot be written.
  void save_geneval(const std::filesystem::path& path) const;

 private:
  std::vector<std::string> prompts_;
  std::vector<nlohmann::json> metadata_;
  std::vector<std::string> tags_;
  std::filesystem::path source_;
};

}  // namespace flowgrpo::data
