#pragma once
/// @file clip_attention.h
/// transformers `models/clip/modeling_clip.py::CLIPAttention` as the CLIP text
/// model uses it: multi-head self-attention with a causal mask and no padding
/// mask (SD3 passes none), scale head_dim^-½, q/k/v/out projections with bias.

#include "flowgrpo/models/text_encoders/clip_layers.h"
#include "flowgrpo/models/text_encoders/clip_text_config.h"

#include <torch/torch.h>

namespace flowgrpo::models {

/// Submodules `q_proj`, `k_proj`, `v_proj`, `out_proj`: Linear(d → d) with bias.
class CLIPAttentionImpl : public torch::nn::Module {
 public:
  /// @throws std::invalid_argument if config.validate() fails.
  CLIPAttentionImpl(const CLIPTextConfig& config, const torch::TensorOptions& options);

  /// softmax((x·Wq + bq)·d_h^-½ · (x·Wk + bk)ᵀ + causal) · (x·Wv + bv), heads
  /// concatenated, then out_proj. The scores and the softmax are computed in
  /// float32 when the parameters are float16 / bfloat16 (transformers' eager path
  /// stays in the half dtype; float32 is the more accurate of the two), the
  /// weighted sum in the parameters' dtype. Dropout on the probabilities only in
  /// training mode.
  /// @param x [B, S, d] in the parameters' dtype.
  /// @return [B, S, d].
  torch::Tensor forward(const torch::Tensor& x);

  CLIPLinear k_proj{nullptr};
  CLIPLinear v_proj{nullptr};
  CLIPLinear q_proj{nullptr};
  CLIPLinear out_proj{nullptr};

 private:
  int64_t num_heads_;
  int64_t head_dim_;
  double scale_;
  double dropout_;
};
TORCH_MODULE(CLIPAttention);

}  // namespace flowgrpo::models
