#pragma once
/// @file compat.h
/// Every difference between the LibTorch versions flowgrpo builds against
/// (Debian's 1.13 on CPU, 2.x with CUDA on GPU machines) lives in this header.
/// Code elsewhere calls these wrappers and never tests TORCH_VERSION_* itself.

#include <torch/torch.h>
#include <torch/version.h>

#include <string>

/// True when the LibTorch being compiled against is at least major.minor.
#define FLOWGRPO_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

/// `at::scaled_dot_product_attention` (fused flash / memory-efficient kernels)
/// is public API from 2.0. 1.13 ships only a private, differently-shaped op.
#define FLOWGRPO_HAS_SDPA FLOWGRPO_TORCH_AT_LEAST(2, 0)

/// The device-generic autocast API (`set_autocast_enabled(device, bool)`)
/// replaced the per-device functions in 2.4 (PR #124359).
#define FLOWGRPO_HAS_DEVICE_AUTOCAST_API FLOWGRPO_TORCH_AT_LEAST(2, 4)

namespace flowgrpo::compat {

/// The message of a c10::Error without the C++ backtrace that LibTorch
/// appends; what a person should see at the command line.
inline std::string error_message(const c10::Error& e) {
  return e.what_without_backtrace();
}

/// Whether autocast is active for a device type (kCPU or kCUDA).
bool autocast_enabled(c10::DeviceType device);

/// The low-precision dtype autocast uses on a device type (kCPU or kCUDA).
c10::ScalarType autocast_dtype(c10::DeviceType device);

/// RAII autocast scope for one device type with a given low-precision dtype
/// (bf16 or fp16). Restores the previous state and clears the cast cache on exit,
/// as Python's `torch.autocast` does. Not copyable; thread-local like LibTorch's.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device, c10::ScalarType dtype, bool enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_;
  bool previous_enabled_;
  c10::ScalarType previous_dtype_;
};

/// Numerically exact attention softmax(q k^T * scale) v over the last two
/// dimensions, dispatched to `at::scaled_dot_product_attention` where available
/// (fused kernels on GPU) and to an explicit fp32-accumulating implementation on
/// LibTorch 1.13. q: [..., Lq, D], k/v: [..., Lk, D]. No mask, no dropout.
torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v, double scale);

/// A short description of the build: LibTorch version, CUDA/c10d availability.
std::string build_info();

}  // namespace flowgrpo::compat
