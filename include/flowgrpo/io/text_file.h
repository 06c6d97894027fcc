#pragma once
/// @file text_file.h
/// Small text files (config.json, model_index.json, trainer states, adapter
/// configs): JSON read with errors that name the file, text written atomically.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace flowgrpo::io {

/// Parses the JSON document in `path`.
/// @throws std::invalid_argument "PATH: cannot open file" or "PATH: invalid JSON: ..."
nlohmann::json read_json_file(const std::filesystem::path& path);

/// Writes `text` to `path` through a temporary file in the same directory and a
/// rename, so a reader sees the old file or the new one, never half of one.
/// Creates missing parent directories.
/// @throws std::runtime_error naming the file when writing or renaming fails.
void write_text_atomic(const std::filesystem::path& path, const std::string& text);

}  // namespace flowgrpo::io
