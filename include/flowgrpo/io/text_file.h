#pragma once
/// @file text_file.h
/// Small text files (config.json, model_index.json, trainer states, adapter
/// configs): JSON read with errors that name the file, text written atomically.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace flowgrpo::io {

/// Parses the JSON document in `path`.
/// @throws std::invalid_argument "PATH: cannot open file" or "PATH: invalid JSON: ..."
nlohmann::json read_json_file(const std::filesystem::path& path);

/// Typed access to a JSON document read from `path` (read_json_file), with errors that
/// name the file and the key instead of nlohmann's "key 'x' not found" / type_error.
/// `parent` is the dotted path of `object` inside the document ("" at the top), so a
/// nested key is reported as "model.lora".
/// @throws std::invalid_argument "PATH: expected a JSON object, found TYPE" (for `object`
///         itself, when it is not one) or "PATH: missing key 'KEY'".
const nlohmann::json& json_member(const nlohmann::json& object, const std::string& key,
                                  const std::filesystem::path& path, const std::string& parent = "");
/// json_member, which must be a JSON object.
/// @throws as json_member, or "PATH: key 'KEY' must be an object, found VALUE".
const nlohmann::json& json_object(const nlohmann::json& object, const std::string& key,
                                  const std::filesystem::path& path, const std::string& parent = "");
/// json_member, which must be an integer (2.0, "2" and true are not).
/// @throws as json_member, or "PATH: key 'KEY' must be an integer, found VALUE".
int64_t json_integer(const nlohmann::json& object, const std::string& key, const std::filesystem::path& path,
                     const std::string& parent = "");
/// json_member, which must be an array of integers.
/// @throws as json_member, or "PATH: key 'KEY' must be a list of integers, found VALUE".
std::vector<int64_t> json_integer_list(const nlohmann::json& object, const std::string& key,
                                       const std::filesystem::path& path, const std::string& parent = "");

/// A decimal integer written as text (safetensors metadata, for one): the whole of
/// `text`, with an optional '-', within int64 range.
/// @throws std::invalid_argument "WHAT must be an integer, found 'TEXT'".
int64_t parse_integer_text(const std::string& text, const std::string& what);

/// Writes `text` to `path` through a temporary file in the same directory and a
/// rename, so a reader sees the old file or the new one, never half of one.
/// Creates missing parent directories.
/// @throws std::runtime_error naming the file when writing or renaming fails.
void write_text_atomic(const std::filesystem::path& path, const std::string& text);

/// For a JSON-lines metrics file that a resumed run is about to append to: drops
/// the rows whose integer `key` is >= `first` (written after the checkpoint the
/// run resumes from, and about to be recomputed), rewriting the file atomically.
/// Lines that are not objects with an integer `key` are kept. Returns the number
/// of rows dropped (0, and nothing written, when the file does not exist).
size_t drop_jsonl_rows_from(const std::filesystem::path& path, const std::string& key, int64_t first);

}  // namespace flowgrpo::io
