#include "flowgrpo/models/pipelines/model_index.h"

#include "flowgrpo/io/text_file.h"

#include <nlohmann/json.hpp>

#include <sstream>
#include <stdexcept>

namespace flowgrpo::models {

namespace fs = std::filesystem;

ModelIndex ModelIndex::read(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw std::invalid_argument("model folder " + dir.string() + " does not exist or is not a directory");
  const fs::path file = dir / "model_index.json";
  if (!fs::exists(file))
    throw std::invalid_argument(
        file.string() +
        " is missing: expected a diffusers pipeline folder (as `save_pretrained` or a "
        "hub download writes it)");
  const auto json = io::read_json_file(file);
  if (!json.is_object()) throw std::invalid_argument(file.string() + ": expected a JSON object");
  ModelIndex index;
  index.dir_ = dir;
  const auto cls = json.find("_class_name");
  if (cls == json.end() || !cls->is_string())
    throw std::invalid_argument(file.string() + ": key '_class_name' is missing or not a string");
  index.class_name_ = cls->get<std::string>();
  for (const auto& [key, value] : json.items()) {
    if (!key.empty() && key[0] == '_') continue;
    if (!value.is_array()) continue;  // scalar pipeline options (e.g. force_zeros_for_empty_prompt)
    if (value.size() != 2)
      throw std::invalid_argument(file.string() + ": component '" + key +
                                  "' must be [library, class], found " + value.dump());
    if (value[0].is_null() && value[1].is_null()) continue;  // optional component left out
    if (!value[0].is_string() || !value[1].is_string())
      throw std::invalid_argument(file.string() + ": component '" + key +
                                  "' must be two strings [library, class], found " + value.dump());
    index.components_[key] = {value[0].get<std::string>(), value[1].get<std::string>()};
  }
  return index;
}

void ModelIndex::require_class(const std::vector<std::string>& accepted, const std::string& what) const {
  for (const auto& a : accepted)
    if (a == class_name_) return;
  std::ostringstream os;
  os << (dir_ / "model_index.json").string() << ": _class_name is '" << class_name_ << "', but " << what
     << " needs ";
  for (size_t i = 0; i < accepted.size(); ++i) os << (i ? " or '" : "'") << accepted[i] << "'";
  os << " (is this a folder of another model family?)";
  throw std::invalid_argument(os.str());
}

fs::path ModelIndex::component_dir(const std::string& name, const std::string& expected_class) const {
  const fs::path file = dir_ / "model_index.json";
  const auto it = components_.find(name);
  if (it == components_.end())
    throw std::invalid_argument(file.string() + " lists no component '" + name + "' (expected " +
                                expected_class + ")");
  bool ok = false;
  std::stringstream classes(expected_class);
  for (std::string c; std::getline(classes, c, '|');) ok = ok || c == it->second.class_name;
  if (!ok)
    throw std::invalid_argument(file.string() + ": component '" + name + "' is " + it->second.class_name +
                                ", expected " + expected_class);
  const fs::path sub = dir_ / name;
  if (!fs::is_directory(sub))
    throw std::invalid_argument("component folder " + sub.string() + " (" + it->second.class_name +
                                ", listed in model_index.json) is missing");
  return sub;
}

}  // namespace flowgrpo::models
