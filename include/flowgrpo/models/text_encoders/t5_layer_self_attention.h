#pragma once
/// @file t5_layer_self_attention.h
/// The first sub-layer of a T5 block (transformers `T5LayerSelfAttention`,
/// `layer.0`): pre-norm self-attention with a residual,
/// x + SelfAttention(layer_norm(x), position_bias).

#include "flowgrpo/models/text_encoders/t5_attention.h"
#include "flowgrpo/models/text_encoders/t5_config.h"
#include "flowgrpo/models/text_encoders/t5_layer_norm.h"

#include <torch/torch.h>

namespace flowgrpo::models {

class T5LayerSelfAttentionImpl : public torch::nn::Module {
 public:
  T5LayerSelfAttentionImpl(const T5Config& config, bool has_relative_attention_bias,
                           const torch::TensorOptions& options);

  /// x [B, S, d_model], position_bias as T5AttentionImpl::forward; returns
  /// x + attention, in the promoted dtype of the two.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& position_bias);

  T5Attention SelfAttention{nullptr};  // NOLINT(readability-identifier-naming): transformers' name
  T5LayerNorm layer_norm{nullptr};
};
TORCH_MODULE(T5LayerSelfAttention);

}  // namespace flowgrpo::models
