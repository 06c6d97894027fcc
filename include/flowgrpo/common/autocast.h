#pragma once
/// @file autocast.h
/// A scoped autocast region, as Python's `torch.autocast` context manager.

#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace flowgrpo {

/// Whether autocast is active for a device type (kCPU or kCUDA) on this thread.
bool autocast_enabled(c10::DeviceType device);

/// The low-precision dtype autocast uses on a device type (kCPU or kCUDA).
c10::ScalarType autocast_dtype(c10::DeviceType device);

/// RAII autocast scope for one device type with a given low-precision dtype
/// (bf16 or fp16). Restores the previous state and clears the cast cache on exit,
/// as Python's `torch.autocast` does. Not copyable; thread-local like LibTorch's.
/// Throws c10::Error for a device type other than CPU or CUDA.
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

}  // namespace flowgrpo
