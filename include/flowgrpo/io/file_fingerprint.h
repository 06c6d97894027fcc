#pragma once
/// @file file_fingerprint.h
/// Content fingerprints of model files, for caches derived from them (the prompt
/// embeddings of a pipeline's text encoders): a cache built from other files must be
/// recognised as stale without reading gigabytes of weights at every start.
///
/// What is hashed, per file (64-bit FNV-1a, printed as 16 hex digits): its role name,
/// its size, and its bytes — all of them for files up to 8 MiB (configs, tokenizer
/// files), and for larger ones (weights) the first 1 MiB (a safetensors header with
/// every name, dtype, shape and offset), the last 64 KiB and 64 blocks of 64 KiB spread
/// evenly in between. Changing any tensor's name, shape or dtype, truncating or
/// extending a file, or re-training the weights (which changes every block) changes
/// the fingerprint; a deliberately crafted change of a few bytes between sampled
/// blocks would not, which is not what a cache key has to guard against.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace flowgrpo::io {

/// Fingerprint of `files`, each given with a role name (e.g. "text_encoder/config.json")
/// so that the same bytes in another role hash differently. Order matters.
/// @throws std::invalid_argument naming the file if one is missing or unreadable.
std::string fingerprint_files(const std::vector<std::pair<std::string, std::filesystem::path>>& files);

}  // namespace flowgrpo::io
