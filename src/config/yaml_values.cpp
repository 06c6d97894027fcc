#include "config/yaml_values.h"

#include "config/text.h"

#include <charconv>
#include <limits>
#include <system_error>

namespace flowgrpo::config::detail {

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return "nothing (null)";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
  }
  return "?";
}

namespace {

const std::string& scalar(const YAML::Node& node, const char* expected) {
  if (!node.IsScalar())
    throw ValueError(std::string("expected ") + expected + ", found " + describe_node(node));
  return node.Scalar();
}

// Accepts an optional leading '+', which std::from_chars does not.
std::string_view without_plus(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  return text;
}

std::int64_t parse_integer(const YAML::Node& node, const char* expected) {
  const std::string& text = scalar(node, expected);
  std::string_view digits = without_plus(text);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range)
    throw ValueError(std::string("expected ") + expected + ", found '" + text + "', which is out of range");
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    throw ValueError(std::string("expected ") + expected + ", found '" + text + "'");
  return value;
}

template <class Parse>
auto read_enum(const YAML::Node& node, const char* expected, Parse parse) {
  const std::string& text = scalar(node, expected);
  try {
    return parse(text);
  } catch (const std::invalid_argument& e) {
    throw ValueError(e.what());
  }
}

}  // namespace

void read_value(const YAML::Node& node, bool& out) {
  const std::string& text = scalar(node, "true or false");
  const std::string lowered = to_lower(text);
  if (lowered == "true" || lowered == "yes" || lowered == "on") {
    out = true;
  } else if (lowered == "false" || lowered == "no" || lowered == "off") {
    out = false;
  } else {
    throw ValueError("expected true or false, found '" + text + "'");
  }
}

void read_value(const YAML::Node& node, int& out) {
  std::int64_t value = parse_integer(node, "an integer");
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
    throw ValueError("expected an integer, found '" + node.Scalar() + "', which is out of range");
  out = static_cast<int>(value);
}

void read_value(const YAML::Node& node, std::int64_t& out) {
  out = parse_integer(node, "an integer");
}

void read_value(const YAML::Node& node, double& out) {
  const std::string& text = scalar(node, "a number");
  const std::string lowered = to_lower(text);
  // YAML spells the special values .inf, -.inf, .nan; std::from_chars spells them inf, nan.
  if (lowered == ".inf" || lowered == "+.inf") {
    out = std::numeric_limits<double>::infinity();
    return;
  }
  if (lowered == "-.inf") {
    out = -std::numeric_limits<double>::infinity();
    return;
  }
  if (lowered == ".nan") {
    out = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  std::string_view digits = without_plus(text);
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range)
    throw ValueError("expected a number, found '" + text + "', which is out of range");
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    throw ValueError("expected a number, found '" + text + "'");
  out = value;
}

void read_value(const YAML::Node& node, std::string& out) {
  if (node.IsNull()) {
    out.clear();
    return;
  }
  out = scalar(node, "a string");
}

void read_value(const YAML::Node& node, std::optional<double>& out) {
  if (node.IsNull()) {
    out.reset();
    return;
  }
  double value = 0;
  try {
    read_value(node, value);
  } catch (const ValueError&) {
    throw ValueError("expected a number or null, found " + describe_node(node));
  }
  out = value;
}

void read_value(const YAML::Node& node, std::vector<std::string>& out) {
  if (!node.IsSequence()) throw ValueError("expected a list of strings, found " + describe_node(node));
  std::vector<std::string> values;
  for (const auto& item : node) {
    if (!item.IsScalar())
      throw ValueError("expected a list of strings, found " + describe_node(item) + " in the list");
    values.push_back(item.Scalar());
  }
  out = std::move(values);
}

void read_value(const YAML::Node& node, std::array<int, 2>& out) {
  const std::string expected = "a list of 2 integers like [0, 5]";
  if (!node.IsSequence() || node.size() != 2)
    throw ValueError("expected " + expected + ", found " +
                     (node.IsSequence() ? "a list of " + std::to_string(node.size()) : describe_node(node)));
  std::array<int, 2> values{};
  for (std::size_t i = 0; i < 2; ++i) {
    try {
      read_value(node[i], values[i]);
    } catch (const ValueError&) {
      throw ValueError("expected " + expected + ", found " + describe_node(node[i]) + " in the list");
    }
  }
  out = values;
}

void read_value(const YAML::Node& node, ModelType& out) {
  out = read_enum(node, "a model type", parse_model_type);
}
void read_value(const YAML::Node& node, DType& out) {
  out = read_enum(node, "a dtype", parse_dtype);
}
void read_value(const YAML::Node& node, SdeType& out) {
  out = read_enum(node, "an SDE type", parse_sde_type);
}
void read_value(const YAML::Node& node, PromptFormat& out) {
  out = read_enum(node, "a prompt format", parse_prompt_format);
}
void read_value(const YAML::Node& node, LoraInit& out) {
  out = read_enum(node, "a LoRA init", parse_lora_init);
}
void read_value(const YAML::Node& node, DistBackend& out) {
  out = read_enum(node, "a distributed backend", parse_dist_backend);
}
void read_value(const YAML::Node& node, log::Level& out) {
  out = read_enum(node, "a log level", log::parse_level);
}

void write_value(YAML::Emitter& out, bool value) {
  out << (value ? "true" : "false");
}
void write_value(YAML::Emitter& out, int value) {
  out << std::to_string(value);
}
void write_value(YAML::Emitter& out, std::int64_t value) {
  out << std::to_string(value);
}
void write_value(YAML::Emitter& out, double value) {
  out << format_double(value);
}
void write_value(YAML::Emitter& out, const std::string& value) {
  out << YAML::DoubleQuoted << value;
}
void write_value(YAML::Emitter& out, const std::optional<double>& value) {
  if (value) {
    write_value(out, *value);
  } else {
    out << YAML::Null;
  }
}
void write_value(YAML::Emitter& out, const std::vector<std::string>& value) {
  out << YAML::BeginSeq;
  for (const auto& item : value) write_value(out, item);
  out << YAML::EndSeq;
}
void write_value(YAML::Emitter& out, const std::array<int, 2>& value) {
  out << YAML::Flow << YAML::BeginSeq << std::to_string(value[0]) << std::to_string(value[1]) << YAML::EndSeq;
}
void write_value(YAML::Emitter& out, ModelType value) {
  out << to_string(value);
}
void write_value(YAML::Emitter& out, DType value) {
  out << to_string(value);
}
void write_value(YAML::Emitter& out, SdeType value) {
  out << to_string(value);
}
void write_value(YAML::Emitter& out, PromptFormat value) {
  out << to_string(value);
}
void write_value(YAML::Emitter& out, LoraInit value) {
  out << to_string(value);
}
void write_value(YAML::Emitter& out, DistBackend value) {
  out << to_string(value);
}
void write_value(YAML::Emitter& out, log::Level value) {
  out << log::to_string(value);
}

}  // namespace flowgrpo::config::detail
