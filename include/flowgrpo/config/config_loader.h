#pragma once
/// @file config_loader.h
/// Reading and writing configurations (docs/configs.md).
///
/// Precedence: built-in defaults < config file (after its `include:`s) < `--set`
/// overrides, each later layer replacing the scalars and lists it names and merging
/// the maps (sections, `reward`) key by key.
///
/// `include:` (top level of a file; a path or a list of paths, relative to the
/// including file) loads those files first, in order; the including file wins.
/// Included files may include further files; a cycle is an error that shows the
/// chain.
///
/// Every key is checked: an unknown key at any level is an error naming the full
/// key path, where it came from (file:line:column, or the `--set` argument) and the
/// valid keys at that level. Values must have the key's type ("sample.num_steps:
/// expected an integer, found 'ten' (configs/x.yaml:12:14)"). All such problems of a
/// load are collected and reported together. Value ranges are not checked here; see
/// config_validator.h.

#include "flowgrpo/config/config.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flowgrpo::config {

/// Loads defaults < `file` (if given) < `overrides`.
///
/// Each override is "a.b.c=value": a dotted key path and a value parsed as YAML
/// (a scalar, a flow list `[a, b]` or a flow map `{k: v}`), e.g.
/// `model.lora.rank=16`, `reward.pickscore=0.5`, `sample.sde_window_range=[0, 3]`.
/// `reward.NAME=null` removes a reward inherited from a file, `reward=null` all of them.
///
/// @throws std::invalid_argument for a missing or unreadable file, a YAML syntax
///         error (with file:line:column), an include cycle, a malformed override,
///         unknown keys and type errors (all collected into one message).
Config load_config(const std::optional<std::filesystem::path>& file,
                   const std::vector<std::string>& overrides);

/// Loads defaults < `yaml_text`. `source_name` names the text in messages; relative
/// `include:` paths are resolved against its parent directory (the current
/// directory if it has none).
/// @throws std::invalid_argument as load_config().
Config config_from_yaml(const std::string& yaml_text, const std::string& source_name);

/// YAML of every effective value, sections and keys in documented order, so that
/// config_from_yaml(dump_config(c), ...) == c. The output has no `include:`.
std::string dump_config(const Config& config);

}  // namespace flowgrpo::config
