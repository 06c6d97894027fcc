#pragma once
/// @file prompt_embedding_cache.h
/// Prompt embeddings computed once and kept on disk, so that RL never holds the text
/// encoders (SD3.5's T5-XXL alone is 4.7 B parameters, 9.5 GB in bf16) on the GPU.
///
/// File: safetensors with two tensors, `prompt_embeds` [N,S,D] and
/// `pooled_prompt_embeds` [N,P] (row i = prompt i, in the encoders' dtype), and
/// metadata `format` ("flowgrpo.prompt_embeddings.v1"), `fingerprint` (of the encoders'
/// weights, configs and tokenizer files and the encoding options; see
/// io/file_fingerprint.h), `encoder` (a description: model folder, sequence length)
/// and `prompts` (a JSON array of the N prompt texts, unique). Lookups read rows of
/// the memory-mapped file, so a cache larger than memory costs only what is used.

#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/sampling/velocity_model.h"

#include <filesystem>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace flowgrpo::models {

class PromptEmbeddingCache {
 public:
  /// Maps a cache file.
  /// @throws std::invalid_argument naming the file if it is not a safetensors file,
  ///         lacks a tensor or metadata key, its format is not v1, the prompt list is
  ///         not a JSON array of unique strings, or the tensors' row counts differ from it.
  static PromptEmbeddingCache open(const std::filesystem::path& path);

  /// Writes a cache atomically (a reader sees the old file or the new one).
  /// @param embeds CPU or device tensors, rows in the order of `prompts`.
  /// @throws std::invalid_argument for duplicate prompts or row counts that differ.
  static void write(const std::filesystem::path& path, const std::vector<std::string>& prompts,
                    const sampling::Conditioning& embeds, const std::string& fingerprint,
                    const std::string& encoder_description);

  const std::filesystem::path& path() const { return path_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& encoder_description() const { return encoder_; }
  size_t size() const { return prompts_.size(); }
  const std::vector<std::string>& prompts() const { return prompts_; }
  bool contains(const std::string& prompt) const { return row_.count(prompt) != 0; }
  /// The distinct prompts of `prompts` that the cache lacks, in first-seen order.
  std::vector<std::string> missing(const std::vector<std::string>& prompts) const;

  /// The embeddings of `prompts` (repeats allowed), owned CPU tensors in the stored dtype.
  /// @throws std::invalid_argument naming the file and the first prompt it lacks.
  sampling::Conditioning lookup(const std::vector<std::string>& prompts) const;

 private:
  std::filesystem::path path_;
  io::SafetensorsFile file_;
  std::string fingerprint_;
  std::string encoder_;
  std::vector<std::string> prompts_;
  std::unordered_map<std::string, int64_t> row_;
  torch::Tensor embeds_;  ///< Views of the mapped file.
  torch::Tensor pooled_;
  explicit PromptEmbeddingCache(io::SafetensorsFile file);
};

/// Encodes a batch of prompts (the pipeline's text encoders).
using PromptEncodeFn = std::function<sampling::Conditioning(const std::vector<std::string>&)>;

/// The cache at `path`, holding every prompt of `prompts`: built with `encode` when the
/// file is missing, extended (and atomically rewritten) when it lacks some prompts,
/// opened as is otherwise. `encode` runs on batches of `batch_size` prompts, with a
/// progress bar when `progress`.
/// @throws std::invalid_argument if the file exists with another fingerprint (made
///         by other encoders or options): naming the file, both fingerprints and the
///         encoders it was built from, and how to rebuild it.
PromptEmbeddingCache ensure_prompt_cache(const std::filesystem::path& path,
                                         const std::vector<std::string>& prompts,
                                         const std::string& fingerprint,
                                         const std::string& encoder_description, const PromptEncodeFn& encode,
                                         int64_t batch_size = 16, bool progress = true);

}  // namespace flowgrpo::models
