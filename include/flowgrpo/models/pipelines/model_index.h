#pragma once
/// @file model_index.h
/// A diffusers pipeline folder's `model_index.json`: the pipeline class and, per
/// component, the library and class that diffusers would instantiate from the
/// sub-folder of the same name. Pipelines (SD3 now, FLUX next) read it first so that
/// a folder of another model family is refused by name before any weight is read.

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace flowgrpo::models {

class ModelIndex {
 public:
  /// One component entry, e.g. "text_encoder_3": ["transformers", "T5EncoderModel"].
  struct Component {
    std::string library;     ///< "diffusers" or "transformers"
    std::string class_name;  ///< e.g. "AutoencoderKL"
  };

  /// Reads `dir/model_index.json`.
  /// @throws std::invalid_argument naming the file if `dir` is not a directory, the
  ///         file is missing or is not valid JSON, `_class_name` is absent or not a
  ///         string, or a component entry is neither `[library, class]` nor `[null, null]`
  ///         (an optional component that is absent, which is skipped).
  static ModelIndex read(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const std::string& class_name() const { return class_name_; }
  const std::map<std::string, Component>& components() const { return components_; }

  /// @throws std::invalid_argument if class_name() is not one of `accepted`, naming
  ///         the folder, the class found and the pipeline that was asked for
  ///         (`what`, e.g. "the SD3 pipeline (model.type: sd3)").
  void require_class(const std::vector<std::string>& accepted, const std::string& what) const;

  /// The folder of component `name`, after checking that the index lists it with
  /// class `expected_class` (or one of several, separated by '|') and that the
  /// sub-folder exists.
  /// @throws std::invalid_argument naming model_index.json and the component if it is
  ///         not listed, has another class, or its folder is missing.
  std::filesystem::path component_dir(const std::string& name, const std::string& expected_class) const;

 private:
  std::filesystem::path dir_;
  std::string class_name_;
  std::map<std::string, Component> components_;
};

}  // namespace flowgrpo::models
