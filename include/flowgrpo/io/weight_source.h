#pragma once
/// @file weight_source.h
/// One interface over a checkpoint stored as a single safetensors file or as
/// Hugging Face shards with an index, so model loaders need not care which.

#include "flowgrpo/io/safetensors.h"

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace flowgrpo::io {

/// A read-only set of named tensors backed by one or more memory-mapped
/// safetensors files. Copies are cheap and share the files; all methods are
/// const and safe to call from several threads.
class WeightSource {
 public:
  /// Standard checkpoint file names looked for in a directory, in this order.
  static const std::vector<std::string>& standard_file_names();

  /// Opens `path`, which may be
  ///  - a `.safetensors` file;
  ///  - a `*.index.json` Hugging Face index, `{"metadata": {...}, "weight_map":
  ///    {"tensor name": "shard file name", ...}}`, shards relative to the index;
  ///  - a directory holding exactly one of standard_file_names()
  ///    (`diffusion_pytorch_model.safetensors`, `model.safetensors` and their
  ///    `.index.json` forms) or, failing those, exactly one `*.safetensors` file.
  /// Every file is fully validated (SafetensorsFile::open), and an index must
  /// agree exactly with its shards.
  /// @throws std::invalid_argument naming the path and what was expected and
  ///   found: path missing; directory with none or several candidates; index not
  ///   JSON or without a "weight_map" object; and, reported together in one
  ///   message, shard files missing, tensors the index assigns to a shard that
  ///   lacks them, tensors a shard holds that the index does not assign to it.
  ///   Errors of SafetensorsFile::open for a shard propagate with the index named.
  static WeightSource open(const std::filesystem::path& path);

  /// The file that was opened (the .safetensors or the .index.json), for messages.
  std::string description() const;
  /// Every tensor name, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  /// The files behind this source (one, or the shards in name order).
  const std::vector<SafetensorsFile>& files() const;

  /// @throws std::invalid_argument naming description() and the tensor if absent.
  const TensorInfo& info(const std::string& name) const;
  /// Zero-copy read-only CPU tensor; see SafetensorsFile::view (never write to it).
  /// @throws as SafetensorsFile::view.
  torch::Tensor view(const std::string& name) const;
  /// Owned contiguous CPU copy. @throws as SafetensorsFile::load.
  torch::Tensor load(const std::string& name) const;
  /// The file holding the tensor. @throws std::invalid_argument if absent.
  std::filesystem::path file_of(const std::string& name) const;

 private:
  struct State;
  explicit WeightSource(std::shared_ptr<const State> state);
  const SafetensorsFile& file_holding(const std::string& name) const;
  std::shared_ptr<const State> state_;
};

}  // namespace flowgrpo::io
