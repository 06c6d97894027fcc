#include "flowgrpo/config/config_loader.h"

#include "config/schema.h"
#include "config/text.h"
#include "config/yaml_values.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <system_error>
#include <type_traits>

namespace fs = std::filesystem;

namespace flowgrpo::config {

namespace {

using detail::describe_node;
using detail::for_each_field;
using detail::is_section;
using detail::ValueError;

constexpr const char* kIncludeKey = "include";

/// Where a layer of the configuration comes from.
struct Source {
  std::string name;  ///< file path as given/resolved, or "--set key=value"
  bool is_file;      ///< positions (line:column) are meaningful only in files
};

std::string where(const Source& source, const YAML::Mark& mark) {
  if (!source.is_file) return " (" + source.name + ")";
  if (mark.is_null()) return " (" + source.name + ")";
  return " (" + source.name + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) +
         ")";
}

template <class S>
std::vector<std::string> key_names(bool top_level) {
  std::vector<std::string> names;
  if (top_level) names.emplace_back(kIncludeKey);
  for_each_field<S>([&](const auto& f) { names.emplace_back(f.name); });
  return names;
}

/// Reads YAML layers into a Config, collecting every problem before reporting.
class Loader {
 public:
  explicit Loader(Config& config) : config_(config) {}

  void apply_file(const fs::path& path, const std::string& included_from) {
    const std::string name = path.lexically_normal().string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      throw std::invalid_argument("config file not found: " + name +
                                  (included_from.empty() ? "" : " (included from " + included_from + ")"));
    }
    YAML::Node root;
    try {
      root = YAML::LoadFile(path.string());
    } catch (const YAML::ParserException& e) {
      throw std::invalid_argument(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                  std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
    } catch (const YAML::BadFile&) {
      throw std::invalid_argument("cannot read config file " + name);
    } catch (const YAML::Exception& e) {
      throw std::invalid_argument(name + ": invalid YAML: " + e.msg);
    }
    apply_document(root, name, path.parent_path(), path);
  }

  void apply_text(const std::string& text, const std::string& source_name) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      throw std::invalid_argument(source_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                  std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
    } catch (const YAML::Exception& e) {
      throw std::invalid_argument(source_name + ": invalid YAML: " + e.msg);
    }
    fs::path as_path(source_name);
    apply_document(root, source_name, as_path.parent_path(), as_path);
  }

  void apply_override(const std::string& argument) {
    const std::string shown = "--set " + argument;
    const auto equals = argument.find('=');
    if (equals == std::string::npos)
      throw std::invalid_argument(shown + ": expected KEY=VALUE, e.g. --set sample.num_steps=20");
    std::string key = argument.substr(0, equals);
    key.erase(0, key.find_first_not_of(" \t"));
    key.erase(key.find_last_not_of(" \t") + 1);
    std::vector<std::string> segments;
    for (std::size_t start = 0;;) {
      const auto dot = key.find('.', start);
      segments.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (std::any_of(segments.begin(), segments.end(), [](const std::string& s) { return s.empty(); }))
      throw std::invalid_argument(shown + ": malformed key '" + key +
                                  "'; expected a dotted path like model.lora.rank");
    YAML::Node value;
    try {
      value = YAML::Load(argument.substr(equals + 1));
    } catch (const YAML::ParserException& e) {
      throw std::invalid_argument(shown + ": the value is not valid YAML: " + e.msg +
                                  " (quote it, e.g. --set 'run_name=\"a: b\"')");
    } catch (const YAML::Exception& e) {
      throw std::invalid_argument(shown + ": the value is not valid YAML: " + e.msg);
    }
    // yaml-cpp's Node::operator= rebinds shared data, so the nesting is built by
    // construction rather than by reassigning one node.
    YAML::Node document = nest(segments, 0, value);
    const Source source{shown, false};
    read_yaml(source, [&] { read_section(config_, document, "", source); });
  }

  /// Throws one std::invalid_argument listing everything collected.
  void finish() const {
    if (errors_.empty()) return;
    if (errors_.size() == 1) throw std::invalid_argument(errors_.front());
    throw std::invalid_argument(std::to_string(errors_.size()) + " configuration errors:\n  - " +
                                detail::join(errors_, "\n  - "));
  }

 private:
  // Runs `read` over a document from `source`: a yaml-cpp exception the readers did not
  // anticipate (a conversion of an unexpected node) still names the file and position.
  template <class F>
  static void read_yaml(const Source& source, F&& read) {
    try {
      read();
    } catch (const YAML::Exception& e) {
      std::string at = source.name;
      if (source.is_file && !e.mark.is_null())
        at += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
      throw std::invalid_argument(at + ": cannot read the YAML document: " + e.msg);
    }
  }

  static YAML::Node nest(const std::vector<std::string>& segments, std::size_t i, const YAML::Node& value) {
    if (i == segments.size()) return value;
    YAML::Node map(YAML::NodeType::Map);
    map[segments[i]] = nest(segments, i + 1, value);
    return map;
  }

  void apply_document(const YAML::Node& root, const std::string& name, const fs::path& base_dir,
                      const fs::path& path) {
    std::error_code ec;
    fs::path identity = fs::weakly_canonical(path, ec);
    if (ec) identity = fs::absolute(path).lexically_normal();
    const auto repeated = std::find(chain_.begin(), chain_.end(), identity);
    if (repeated != chain_.end()) {
      std::vector<std::string> cycle(chain_names_.begin() + (repeated - chain_.begin()), chain_names_.end());
      cycle.push_back(name);
      throw std::invalid_argument("include cycle: " + detail::join(cycle, " -> "));
    }
    chain_.push_back(identity);
    chain_names_.push_back(name);
    const Source source{name, true};
    if (root.IsMap()) {
      for (auto it = root.begin(); it != root.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == kIncludeKey)
          apply_includes(it->second, it->first.Mark(), source, base_dir);
      }
    }
    read_yaml(source, [&] { read_section(config_, root, "", source); });
    chain_.pop_back();
    chain_names_.pop_back();
  }

  void apply_includes(const YAML::Node& node, const YAML::Mark& key_mark, const Source& source,
                      const fs::path& base_dir) {
    std::vector<YAML::Node> items;
    if (node.IsScalar()) {
      items.push_back(node);
    } else if (node.IsSequence()) {
      for (const auto& item : node) items.push_back(item);
    } else if (!node.IsNull()) {
      error(std::string(kIncludeKey) + ": expected a path or a list of paths, found " + describe_node(node) +
            where(source, key_mark));
      return;
    }
    for (const auto& item : items) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        error(std::string(kIncludeKey) + ": expected a path, found " + describe_node(item) +
              where(source, item.Mark()));
        continue;
      }
      fs::path target(item.Scalar());
      if (target.is_relative()) target = base_dir / target;
      apply_file(target,
                 source.name + (item.Mark().is_null() ? "" : ":" + std::to_string(item.Mark().line + 1)));
    }
  }

  template <class S>
  void read_section(S& section, const YAML::Node& node, const std::string& path, const Source& source,
                    const YAML::Mark& mark = YAML::Mark::null_mark()) {
    if (node.IsNull()) return;  // an empty section (e.g. every key commented out)
    if (!node.IsMap()) {
      error((path.empty() ? std::string("the configuration") : path) +
            ": expected a mapping of keys, found " + describe_node(node) +
            where(source, node.Mark().is_null() ? mark : node.Mark()));
      return;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        error((path.empty() ? std::string("top level") : path) + ": keys must be names, found " +
              describe_node(key) + where(source, key.Mark()));
        continue;
      }
      const std::string& name = key.Scalar();
      const std::string key_path = path.empty() ? name : path + "." + name;
      if (!seen.insert(name).second) {
        error(key_path + ": key appears twice" + where(source, key.Mark()));
        continue;
      }
      if (path.empty() && name == kIncludeKey) {
        if (!source.is_file)
          error(std::string(kIncludeKey) + ": only allowed in config files" + where(source, {}));
        continue;  // applied before the rest of the document
      }
      bool found = false;
      for_each_field<S>([&](const auto& f) {
        if (found || name != f.name) return;
        found = true;
        read_member(section.*(f.member), value, key_path, key.Mark(), source);
      });
      if (!found) unknown_key<S>(name, key_path, path, key.Mark(), source);
    }
  }

  template <class S>
  void unknown_key(const std::string& name, const std::string& key_path, const std::string& section_path,
                   const YAML::Mark& mark, const Source& source) {
    const auto valid = key_names<S>(section_path.empty());
    std::string message = key_path + ": unknown key" + where(source, mark) + ";";
    const std::string suggestion = detail::closest_match(name, valid);
    if (!suggestion.empty()) message += " did you mean '" + suggestion + "'?";
    message += section_path.empty() ? " valid top-level keys: " : " valid keys in '" + section_path + "': ";
    error(message + detail::join(valid));
  }

  template <class T>
  void read_member(T& target, const YAML::Node& value, const std::string& key_path,
                   const YAML::Mark& key_mark, const Source& source) {
    if constexpr (is_section<T>::value) {
      read_section(target, value, key_path, source, key_mark);
    } else if constexpr (std::is_same_v<T, std::vector<RewardWeight>>) {
      read_rewards(target, value, key_path, key_mark, source);
    } else if constexpr (std::is_same_v<T, nlohmann::json>) {
      read_options(target, value, key_path, key_mark, source);
    } else {
      try {
        T parsed = target;
        detail::read_value(value, parsed);
        target = std::move(parsed);
      } catch (const ValueError& e) {
        error(key_path + ": " + e.what() + where(source, value.Mark().is_null() ? key_mark : value.Mark()));
      }
    }
  }

  // The reward map merges entry by entry; a null weight removes an inherited entry
  // and a null map (`reward: ~`, or every entry commented out) removes them all.
  void read_rewards(std::vector<RewardWeight>& rewards, const YAML::Node& node, const std::string& path,
                    const YAML::Mark& key_mark, const Source& source) {
    if (node.IsNull()) {
      rewards.clear();
      return;
    }
    if (!node.IsMap()) {
      error(path + ": expected a mapping of reward name to weight, e.g. {geneval: 1.0}, found " +
            describe_node(node) + where(source, node.Mark().is_null() ? key_mark : node.Mark()));
      return;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar() || key.Scalar().empty()) {
        error(path + ": reward names must be non-empty strings, found " + describe_node(key) +
              where(source, key.Mark()));
        continue;
      }
      const std::string& name = key.Scalar();
      const std::string entry_path = path + "." + name;
      if (!seen.insert(name).second) {
        error(entry_path + ": reward appears twice" + where(source, key.Mark()));
        continue;
      }
      auto existing =
          std::find_if(rewards.begin(), rewards.end(), [&](const RewardWeight& r) { return r.name == name; });
      if (value.IsNull()) {
        if (existing != rewards.end()) rewards.erase(existing);
        continue;
      }
      double weight = 0;
      try {
        detail::read_value(value, weight);
      } catch (const ValueError& e) {
        error(entry_path + ": " + e.what() + " (the reward's weight)" + where(source, value.Mark()));
        continue;
      }
      if (existing != rewards.end()) {
        existing->weight = weight;
      } else {
        rewards.push_back({name, weight});
      }
    }
  }

  // Free-form option maps (reward_options): merged key by key, recursively; a null
  // value removes an inherited key. Scalars keep their YAML type (bool, integer,
  // float, string; a quoted scalar is always a string).
  void read_options(nlohmann::json& target, const YAML::Node& node, const std::string& path,
                    const YAML::Mark& key_mark, const Source& source) {
    if (node.IsNull()) {
      target = nlohmann::json::object();
      return;
    }
    if (!node.IsMap()) {
      error(path + ": expected a mapping, e.g. {geneval: {url: \"http://127.0.0.1:18085\"}}, found " +
            describe_node(node) + where(source, node.Mark().is_null() ? key_mark : node.Mark()));
      return;
    }
    if (!target.is_object()) target = nlohmann::json::object();
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar() || it->first.Scalar().empty()) {
        error(path + ": keys must be non-empty strings, found " + describe_node(it->first) +
              where(source, it->first.Mark()));
        continue;
      }
      const std::string& key = it->first.Scalar();
      const YAML::Node value = it->second;
      if (value.IsNull()) {
        target.erase(key);
      } else if (value.IsMap()) {
        read_options(target[key], value, path + "." + key, it->first.Mark(), source);
      } else {
        target[key] = to_json(value, path + "." + key, source);
      }
    }
  }

  // A YAML value inside an option map as JSON; a map key that is not a non-empty
  // scalar (`{[1, 2]: 3}` inside a list) is reported with its key path and position.
  nlohmann::json to_json(const YAML::Node& node, const std::string& path, const Source& source) {
    if (node.IsSequence()) {
      auto array = nlohmann::json::array();
      std::size_t index = 0;
      for (const auto& item : node)
        array.push_back(to_json(item, path + "[" + std::to_string(index++) + "]", source));
      return array;
    }
    if (node.IsMap()) {
      auto object = nlohmann::json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar() || it->first.Scalar().empty()) {
          error(path + ": keys must be non-empty strings, found " + describe_node(it->first) +
                where(source, it->first.Mark()));
          continue;
        }
        const std::string& key = it->first.Scalar();
        object[key] = to_json(it->second, path + "." + key, source);
      }
      return object;
    }
    if (!node.IsScalar()) return nullptr;
    const std::string& s = node.Scalar();
    if (node.Tag() == "!") return s;  // quoted: a string whatever it looks like
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    try {
      std::size_t used = 0;
      const long long i = std::stoll(s, &used);
      if (used == s.size()) return i;
    } catch (const std::exception&) {
    }
    try {
      std::size_t used = 0;
      const double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (const std::exception&) {
    }
    return s;
  }

  void error(std::string message) { errors_.push_back(std::move(message)); }

  Config& config_;
  std::vector<std::string> errors_;
  std::vector<fs::path> chain_;  // files being applied, outermost first (cycle detection)
  std::vector<std::string> chain_names_;
};

}  // namespace

Config load_config(const std::optional<fs::path>& file, const std::vector<std::string>& overrides) {
  Config config;
  Loader loader(config);
  if (file) loader.apply_file(*file, "");
  for (const auto& override_argument : overrides) loader.apply_override(override_argument);
  loader.finish();
  return config;
}

Config config_from_yaml(const std::string& yaml_text, const std::string& source_name) {
  Config config;
  Loader loader(config);
  loader.apply_text(yaml_text, source_name);
  loader.finish();
  return config;
}

}  // namespace flowgrpo::config
