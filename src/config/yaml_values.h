#pragma once
// Conversions between YAML nodes and the value types of Config keys. Readers
// parse strictly (no silent truncation, no "1.5" for an integer) and throw
// ValueError with "expected <type>, found <what>"; the loader adds the key path
// and location. Writers emit the text the readers accept.

#include "flowgrpo/config/config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace flowgrpo::config::detail {

/// A value of the wrong type or spelling; the message lacks key and location.
struct ValueError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// "'ten'", "a mapping", "a list", "nothing (null)" — for messages.
std::string describe_node(const YAML::Node& node);

void read_value(const YAML::Node& node, bool& out);
void read_value(const YAML::Node& node, int& out);
void read_value(const YAML::Node& node, std::int64_t& out);
void read_value(const YAML::Node& node, double& out);
/// null reads as "".
void read_value(const YAML::Node& node, std::string& out);
/// null reads as unset.
void read_value(const YAML::Node& node, std::optional<double>& out);
void read_value(const YAML::Node& node, std::vector<std::string>& out);
void read_value(const YAML::Node& node, std::array<int, 2>& out);
void read_value(const YAML::Node& node, ModelType& out);
void read_value(const YAML::Node& node, DType& out);
void read_value(const YAML::Node& node, SdeType& out);
void read_value(const YAML::Node& node, PromptFormat& out);
void read_value(const YAML::Node& node, LoraInit& out);
void read_value(const YAML::Node& node, DistBackend& out);
void read_value(const YAML::Node& node, log::Level& out);

void write_value(YAML::Emitter& out, bool value);
void write_value(YAML::Emitter& out, int value);
void write_value(YAML::Emitter& out, std::int64_t value);
void write_value(YAML::Emitter& out, double value);
void write_value(YAML::Emitter& out, const std::string& value);
void write_value(YAML::Emitter& out, const std::optional<double>& value);
void write_value(YAML::Emitter& out, const std::vector<std::string>& value);
void write_value(YAML::Emitter& out, const std::array<int, 2>& value);
void write_value(YAML::Emitter& out, ModelType value);
void write_value(YAML::Emitter& out, DType value);
void write_value(YAML::Emitter& out, SdeType value);
void write_value(YAML::Emitter& out, PromptFormat value);
void write_value(YAML::Emitter& out, LoraInit value);
void write_value(YAML::Emitter& out, DistBackend value);
void write_value(YAML::Emitter& out, log::Level value);

}  // namespace flowgrpo::config::detail
