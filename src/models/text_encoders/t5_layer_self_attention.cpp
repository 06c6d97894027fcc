#include "flowgrpo/models/text_encoders/t5_layer_self_attention.h"

namespace flowgrpo::models {

T5LayerSelfAttentionImpl::T5LayerSelfAttentionImpl(const T5Config& config, bool has_relative_attention_bias,
                                                   const torch::TensorOptions& options) {
  SelfAttention = register_module("SelfAttention", T5Attention(config, has_relative_attention_bias, options));
  layer_norm = register_module("layer_norm", T5LayerNorm(config.d_model, config.layer_norm_epsilon,
                                                         config.initializer_factor, options));
}

torch::Tensor T5LayerSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& position_bias) {
  return x + SelfAttention->forward(layer_norm->forward(x), position_bias);
}

}  // namespace flowgrpo::models
