#include "flowgrpo/models/text_encoders/t5_block.h"

#include <limits>

namespace flowgrpo::models {

torch::Tensor t5_clamp_fp16(const torch::Tensor& x) {
  if (x.scalar_type() != torch::kHalf) return x;
  // modeling_t5.py::T5Block.forward: the bound is a device tensor (no host sync);
  // 65504 - 1000 rounds to 64512 in float16, where clamp compares.
  const double max = static_cast<double>(std::numeric_limits<c10::Half>::max());
  const auto bound = torch::where(torch::isinf(x).any(), max - 1000.0, max);
  return torch::clamp(x, -bound, bound);
}

T5BlockImpl::T5BlockImpl(const T5Config& config, bool has_relative_attention_bias,
                         const torch::TensorOptions& options) {
  layer_self_attention_ = T5LayerSelfAttention(config, has_relative_attention_bias, options);
  layer_ff_ = T5LayerFF(config, options);
  layer = register_module("layer", torch::nn::ModuleList(layer_self_attention_, layer_ff_));
}

T5Attention T5BlockImpl::self_attention() const {
  return layer_self_attention_->SelfAttention;
}

torch::Tensor T5BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& position_bias) {
  auto h = t5_clamp_fp16(layer_self_attention_->forward(x, position_bias));
  return t5_clamp_fp16(layer_ff_->forward(h));
}

}  // namespace flowgrpo::models
