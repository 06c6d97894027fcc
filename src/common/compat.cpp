#include "flowgrpo/compat.h"

#include <ATen/autocast_mode.h>

#include <sstream>

namespace flowgrpo::compat {

namespace {

void set_autocast(c10::DeviceType device, bool enabled, c10::ScalarType dtype) {
#if FLOWGRPO_HAS_DEVICE_AUTOCAST_API
  at::autocast::set_autocast_enabled(device, enabled);
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == c10::DeviceType::CUDA) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace

c10::ScalarType autocast_dtype(c10::DeviceType device) {
#if FLOWGRPO_HAS_DEVICE_AUTOCAST_API
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::get_autocast_gpu_dtype()
                                         : at::autocast::get_autocast_cpu_dtype();
#endif
}

bool autocast_enabled(c10::DeviceType device) {
#if FLOWGRPO_HAS_DEVICE_AUTOCAST_API
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

AutocastGuard::AutocastGuard(c10::DeviceType device, c10::ScalarType dtype, bool enabled)
    : device_(device), previous_enabled_(autocast_enabled(device)), previous_dtype_(autocast_dtype(device)) {
  TORCH_CHECK(device == c10::DeviceType::CPU || device == c10::DeviceType::CUDA,
              "AutocastGuard: autocast is supported on CPU and CUDA only, got ", device);
  set_autocast(device_, enabled, dtype);
}

AutocastGuard::~AutocastGuard() {
  set_autocast(device_, previous_enabled_, previous_dtype_);
  // Cached fp32->low-precision weight casts must not outlive the scope.
  if (!previous_enabled_) at::autocast::clear_cache();
}

torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v, double scale) {
#if FLOWGRPO_TORCH_AT_LEAST(2, 1)
  // `scale` became an argument of the public op in 2.1.
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                          /*is_causal=*/false, scale);
#else
  // Reference math path (what SDPA's math backend computes): softmax in fp32 for
  // reduced-precision inputs, result cast back to the input dtype.
  const auto in_dtype = q.scalar_type();
  const bool upcast = in_dtype == torch::kHalf || in_dtype == torch::kBFloat16;
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * scale;
  auto probs =
      upcast ? torch::softmax(scores.to(torch::kFloat), -1).to(in_dtype) : torch::softmax(scores, -1);
  return torch::matmul(probs, v);
#endif
}

std::string build_info() {
  std::ostringstream os;
  os << "flowgrpo " << FLOWGRPO_VERSION << ", LibTorch " << TORCH_VERSION << ", CUDA "
     << (FLOWGRPO_WITH_CUDA ? "on" : "off")
     << (FLOWGRPO_WITH_CUDA && torch::cuda::is_available() ? " (device available)" : "") << ", distributed "
     << (FLOWGRPO_WITH_DISTRIBUTED ? "on" : "off");
  return os.str();
}

}  // namespace flowgrpo::compat
