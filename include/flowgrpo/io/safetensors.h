#pragma once
/// @file safetensors.h
/// Reading and writing the safetensors format (huggingface/safetensors):
/// an 8-byte little-endian header length N, N bytes of JSON header, then the
/// raw little-endian tensor data. See docs/safetensors.md for what is validated.
///
/// Reading memory-maps the file read-only and validates the whole header up
/// front (dtype, shape, exact tiling of the data buffer), so a file that opens
/// can be read without further checks. Writing follows the official writer's
/// layout (header padded with spaces to a multiple of 8, tensors ordered by
/// element size descending, then name) and replaces the target atomically.

#include "flowgrpo/io/dtype.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace flowgrpo::io {

/// One tensor as declared in a safetensors header.
struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  ///< Empty for a scalar.
  uint64_t data_begin = 0;     ///< Byte offsets relative to the start of the data buffer.
  uint64_t data_end = 0;

  /// Number of elements (1 for a scalar, 0 if any dimension is 0).
  int64_t numel() const;
  /// data_end - data_begin (= numel() * element_size(dtype) in a validated file).
  uint64_t nbytes() const { return data_end - data_begin; }
};

/// A parsed, fully validated, memory-mapped safetensors file.
///
/// Copies are cheap and share the mapping; the mapping is released when the
/// last copy and the last tensor returned by view() are gone. All methods are
/// const and safe to call from several threads.
class SafetensorsFile {
 public:
  /// Opens, maps and validates `path`.
  /// @throws std::invalid_argument naming the file (and the tensor, where one is
  ///         at fault) if the file cannot be opened or is not a valid safetensors
  ///         file: too short, header length beyond the file or above 100,000,000,
  ///         header not a JSON object, unknown dtype, bad shape or data_offsets,
  ///         tensors that do not tile the data buffer exactly, trailing bytes,
  ///         non-string metadata, duplicate names.
  /// @throws std::runtime_error if mapping the file fails.
  static SafetensorsFile open(const std::filesystem::path& path);

  /// The path given to open().
  const std::filesystem::path& path() const;
  /// The header's "__metadata__" (empty if absent).
  const std::map<std::string, std::string>& metadata() const;
  /// Every tensor, sorted by name.
  const std::vector<TensorInfo>& tensors() const;
  /// Every tensor name, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;

  /// @throws std::invalid_argument naming the file and the tensor if it is absent.
  const TensorInfo& info(const std::string& name) const;

  /// A CPU tensor aliasing the mapped file (zero-copy); it keeps the mapping
  /// alive for as long as it (or any view of it) lives.
  ///
  /// The memory is mapped read-only: callers must NOT write to the returned
  /// tensor (an in-place op on it crashes with SIGSEGV). Use load() for a
  /// writable tensor, or copy from the view (`param.copy_(file.view(name))`).
  ///
  /// Two cases return an owned copy instead, transparently: data placed at an
  /// address not aligned for its element type (possible in files from writers
  /// that do not pad the header) and zero-element tensors.
  /// @throws std::invalid_argument naming file and tensor if the tensor is
  ///         absent, its dtype has no LibTorch type, or a BOOL tensor holds a
  ///         byte other than 0 or 1.
  torch::Tensor view(const std::string& name) const;

  /// An owned, contiguous, writable CPU copy. Throws as view().
  torch::Tensor load(const std::string& name) const;

 private:
  struct State;
  explicit SafetensorsFile(std::shared_ptr<const State> state);
  torch::Tensor make_tensor(const TensorInfo& info, bool copy) const;
  std::shared_ptr<const State> state_;
};

/// Tensors by name; std::map so that iteration (and saving) is deterministic.
using TensorMap = std::map<std::string, torch::Tensor>;

/// Owned copies of every tensor in `path`.
/// @throws as SafetensorsFile::open and SafetensorsFile::load.
TensorMap load_safetensors(const std::filesystem::path& path);

/// Writes `tensors` and `metadata` to `path` in the official layout. Tensors may
/// live on any device and be non-contiguous or require grad; their values are
/// copied to CPU in contiguous row-major order.
///
/// Atomic: the data goes to a temporary file in the same directory, which is
/// fsync'ed and renamed over `path` (and the directory fsync'ed), so readers
/// and crashes see either the old file or the complete new one.
/// @throws std::invalid_argument naming the file and tensor for an undefined or
///         non-strided tensor, a dtype safetensors cannot store, the reserved
///         name "__metadata__", or names / metadata that are not valid UTF-8.
/// @throws std::runtime_error naming the file if writing fails (missing
///         directory, disk full, permissions); the temporary file is removed.
void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace flowgrpo::io
