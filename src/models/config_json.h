#pragma once
// Reading a model component's config.json (transformers' PretrainedConfig,
// diffusers' ConfigMixin): typed values whose errors name the file and the key,
// and the keys those base classes write that no model here reads. Shared by the
// CLIP, T5, AutoencoderKL and SD3 transformer configs.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace flowgrpo::models::detail {

/// `value` as one-line JSON text for messages (invalid UTF-8 replaced).
std::string config_json_text(const nlohmann::json& value);

/// Throws std::invalid_argument `<source>: config key "<key>": <what>`.
[[noreturn]] void config_key_error(const std::string& source, const std::string& key,
                                   const std::string& what);

// Typed reads of the value of `key` in the file `source`. Each throws
// std::invalid_argument (config_key_error) "expected ..., found <value>" when the
// value has another JSON type.

/// An integer ("expected an integer").
int64_t config_int(const nlohmann::json& value, const std::string& key, const std::string& source);
/// null (nullopt) or an integer ("expected null or an integer").
std::optional<int64_t> config_optional_int(const nlohmann::json& value, const std::string& key,
                                           const std::string& source);
/// Any number, integers included ("expected a number").
double config_number(const nlohmann::json& value, const std::string& key, const std::string& source);
/// true or false ("expected true or false").
bool config_bool(const nlohmann::json& value, const std::string& key, const std::string& source);
/// A string ("expected a string").
std::string config_string(const nlohmann::json& value, const std::string& key, const std::string& source);

/// Throws std::invalid_argument "expected >= 1, found <value>" for `key` when value < 1.
void config_require_positive(int64_t value, const std::string& key, const std::string& source);

/// Keys every transformers PretrainedConfig may write (configuration_utils.py,
/// `PretrainedConfig().to_dict()`, plus older files' `gradient_checkpointing` and
/// `_attn_implementation`): generation, labels, output flags, metadata. None
/// changes what an encoder computes; `architectures`, `model_type` and
/// `pruned_heads` are not among them (each model checks those itself).
const std::set<std::string>& pretrained_config_generic_keys();

/// Metadata keys diffusers' ConfigMixin writes or adds (configuration_utils.py):
/// `_class_name` (which each model checks), `_diffusers_version`, `_name_or_path`,
/// `_use_default_values`, `_commit_hash`.
const std::set<std::string>& diffusers_config_metadata_keys();

}  // namespace flowgrpo::models::detail
