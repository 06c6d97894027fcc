#include "flowgrpo/config/config_loader.h"

#include "config/schema.h"
#include "config/yaml_values.h"

#include <yaml-cpp/yaml.h>

#include <sstream>
#include <type_traits>

namespace flowgrpo::config {

namespace {

template <class T>
void write_member(YAML::Emitter& out, const T& value);

void write_json(YAML::Emitter& out, const nlohmann::json& value) {
  if (value.is_object()) {
    if (value.empty()) out << YAML::Flow;
    out << YAML::BeginMap;
    for (const auto& [k, v] : value.items()) {
      out << YAML::Key << k << YAML::Value;
      write_json(out, v);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& v : value) write_json(out, v);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else if (value.is_boolean()) {
    out << (value.get<bool>() ? "true" : "false");
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

template <class S>
void write_section(YAML::Emitter& out, const S& section) {
  out << YAML::BeginMap;
  detail::for_each_field<S>([&](const auto& f) {
    out << YAML::Key << f.name << YAML::Value;
    write_member(out, section.*(f.member));
  });
  out << YAML::EndMap;
}

template <class T>
void write_member(YAML::Emitter& out, const T& value) {
  if constexpr (detail::is_section<T>::value) {
    write_section(out, value);
  } else if constexpr (std::is_same_v<T, std::vector<RewardWeight>>) {
    if (value.empty()) out << YAML::Flow;
    out << YAML::BeginMap;
    for (const auto& reward : value) {
      out << YAML::Key << reward.name << YAML::Value;
      detail::write_value(out, reward.weight);
    }
    out << YAML::EndMap;
  } else if constexpr (std::is_same_v<T, nlohmann::json>) {
    write_json(out, value);
  } else {
    detail::write_value(out, value);
  }
}

// Blank lines around every top-level section make the dump easier to read.
std::string space_sections(const std::string& yaml) {
  std::istringstream in(yaml);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const bool top_level = !lines[i].empty() && lines[i][0] != ' ';
    const bool opens_section =
        top_level && i + 1 < lines.size() && !lines[i + 1].empty() && lines[i + 1][0] == ' ';
    const bool after_section = top_level && i > 0 && !lines[i - 1].empty() && lines[i - 1][0] == ' ';
    if (i > 0 && (opens_section || after_section)) out += '\n';
    out += lines[i];
    out += '\n';
  }
  return out;
}

}  // namespace

std::string dump_config(const Config& config) {
  YAML::Emitter out;
  out.SetIndent(2);
  write_section(out, config);
  return "# flowgrpo configuration: every effective value (keys: docs/configs.md)\n" +
         space_sections(out.c_str());
}

}  // namespace flowgrpo::config
