#include "flowgrpo/common/autocast.h"

#include <ATen/autocast_mode.h>
#include <c10/util/Exception.h>

namespace flowgrpo {

bool autocast_enabled(c10::DeviceType device) {
  return at::autocast::is_autocast_enabled(device);
}

c10::ScalarType autocast_dtype(c10::DeviceType device) {
  return at::autocast::get_autocast_dtype(device);
}

AutocastGuard::AutocastGuard(c10::DeviceType device, c10::ScalarType dtype, bool enabled)
    : device_(device), previous_enabled_(false), previous_dtype_(dtype) {
  TORCH_CHECK(device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA,
              "AutocastGuard: autocast is supported on CPU and CUDA only, got ", device);
  previous_enabled_ = autocast_enabled(device);
  previous_dtype_ = autocast_dtype(device);
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
}

AutocastGuard::~AutocastGuard() {
  at::autocast::set_autocast_enabled(device_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_, previous_dtype_);
  // Cached fp32->low-precision weight casts must not outlive the outermost scope.
  if (!previous_enabled_) at::autocast::clear_cache();
}

}  // namespace flowgrpo
