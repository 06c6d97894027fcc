#pragma once
/// @file spatial_self_attention.h
/// The self-attention of the AutoencoderKL mid blocks: diffusers v0.33.1
/// `models/attention_processor.py::Attention(query_dim=C, heads=1, dim_head=C,
/// norm_num_groups=groups, eps=1e-6, residual_connection=True, bias=True,
/// _from_deprecated_attn_block=True)` run by `AttnProcessor2_0` on a 4-D input:
///
///     t   = GroupNorm(x) as tokens [B, H·W, C]
///     out = to_out.0(SDPA(to_q(t), to_k(t), to_v(t)))   one head of size C, scale 1/√C
///     y   = out as [B, C, H, W] + x
///
/// Parameter names are the current diffusers ones (`group_norm`, `to_q`, `to_k`,
/// `to_v`, `to_out.0`); AutoencoderKL's loader maps the legacy names
/// (`query`, `key`, `value`, `proj_attn`) onto them.

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class SpatialSelfAttentionImpl : public torch::nn::Module {
 public:
  SpatialSelfAttentionImpl(int64_t channels, int64_t groups, double eps = 1e-6);

  /// x [B, C, H, W] → [B, C, H, W] (residual included).
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::GroupNorm group_norm{nullptr};
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out{nullptr};  ///< {Linear, Dropout(0)}, so the names read "to_out.0.*".

 private:
  int64_t channels_;
};
TORCH_MODULE(SpatialSelfAttention);

}  // namespace flowgrpo::models
