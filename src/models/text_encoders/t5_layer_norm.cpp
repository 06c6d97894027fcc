#include "flowgrpo/models/text_encoders/t5_layer_norm.h"

namespace flowgrpo::models {

T5LayerNormImpl::T5LayerNormImpl(int64_t hidden_size, double eps, double init_value,
                                 const torch::TensorOptions& options)
    : eps_(eps) {
  weight = register_parameter("weight", torch::empty({hidden_size}, options));
  if (!weight.is_meta()) {
    torch::NoGradGuard no_grad;
    weight.fill_(init_value);
  }
}

torch::Tensor T5LayerNormImpl::forward(const torch::Tensor& x) {
  // modeling_t5.py::T5LayerNorm.forward, op for op: the variance is accumulated
  // in float32, x·rsqrt promotes to float32, and only a half-precision weight
  // brings the result back to its dtype before the scale.
  const auto variance = x.to(torch::kFloat).pow(2).mean(-1, /*keepdim=*/true);
  auto h = x * torch::rsqrt(variance + eps_);
  const auto wdtype = weight.scalar_type();
  if (wdtype == torch::kHalf || wdtype == torch::kBFloat16) h = h.to(wdtype);
  return weight * h;
}

}  // namespace flowgrpo::models
