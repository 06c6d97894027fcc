#pragma once
/// @file clip_encoder_layer.h
/// transformers `models/clip/modeling_clip.py::CLIPEncoderLayer`, pre-LayerNorm:
///     x = x + self_attn(layer_norm1(x))
///     x = x + mlp(layer_norm2(x))

#include "flowgrpo/models/text_encoders/clip_attention.h"
#include "flowgrpo/models/text_encoders/clip_layers.h"
#include "flowgrpo/models/text_encoders/clip_mlp.h"
#include "flowgrpo/models/text_encoders/clip_text_config.h"

#include <torch/torch.h>

namespace flowgrpo::models {

/// Submodules `self_attn`, `layer_norm1`, `mlp`, `layer_norm2` (eps from the config).
class CLIPEncoderLayerImpl : public torch::nn::Module {
 public:
  /// @throws std::invalid_argument if config.validate() fails.
  CLIPEncoderLayerImpl(const CLIPTextConfig& config, const torch::TensorOptions& options);
  /// @param x [B, S, d] → [B, S, d].
  torch::Tensor forward(const torch::Tensor& x);

  CLIPAttention self_attn{nullptr};
  CLIPLayerNorm layer_norm1{nullptr};
  CLIPMLP mlp{nullptr};
  CLIPLayerNorm layer_norm2{nullptr};
};
TORCH_MODULE(CLIPEncoderLayer);

}  // namespace flowgrpo::models
