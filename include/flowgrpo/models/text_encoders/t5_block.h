#pragma once
/// @file t5_block.h
/// One T5 encoder block (transformers `modeling_t5.py::T5Block` without
/// cross-attention): `layer.0` = T5LayerSelfAttention, `layer.1` = T5LayerFF.
///
/// float16: after each sub-layer a float16 hidden state is clamped as
/// transformers does "to enable fp16 training": to ±(65504 − 1000) if any
/// element is infinite, else to ±65504 (a no-op on finite values). The test is
/// on the whole batch and runs on the device (no host synchronisation).
/// bfloat16 and float32 states are never clamped.

#include "flowgrpo/models/text_encoders/t5_config.h"
#include "flowgrpo/models/text_encoders/t5_layer_ff.h"
#include "flowgrpo/models/text_encoders/t5_layer_self_attention.h"

#include <torch/torch.h>

namespace flowgrpo::models {

class T5BlockImpl : public torch::nn::Module {
 public:
  /// `has_relative_attention_bias`: true for block 0 only (T5Stack).
  T5BlockImpl(const T5Config& config, bool has_relative_attention_bias, const torch::TensorOptions& options);

  /// x [B, S, d_model], position_bias [1 or B, H, S, S] -> [B, S, d_model].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& position_bias);

  /// layer[0]'s attention (which owns the relative position table in block 0).
  T5Attention self_attention() const;

  torch::nn::ModuleList layer{nullptr};

 private:
  T5LayerSelfAttention layer_self_attention_{nullptr};
  T5LayerFF layer_ff_{nullptr};
};
TORCH_MODULE(T5Block);

/// transformers' float16 clamp (see the file comment): for a float16 `x`,
/// clamp(x, −c, c) with c = 65504 − 1000 if any element of x is ±inf, else
/// 65504; any other dtype is returned unchanged.
torch::Tensor t5_clamp_fp16(const torch::Tensor& x);

}  // namespace flowgrpo::models
