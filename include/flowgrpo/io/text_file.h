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

/// For a JSON-lines metrics file that a resumed run is about to append to: drops
/// the rows whose integer `key` is >= `first` (written after the checkpoint the
/// run resumes from, and about to be recomputed), rewriting the file atomically.
/// Lines that are not objects with an integer `key` are kept. Returns the number
/// of rows dropped (0, and nothing written, when the file does not exist).
size_t drop_jsonl_rows_from(const std::filesystem::path& path, const std::string& key, int64_t first);

}  // namespace flowgrpo::io
