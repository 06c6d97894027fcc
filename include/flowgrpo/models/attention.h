#pragma once
/// @file attention.h
/// diffusers v0.33.1 `models/attention_processor.py::Attention` as the SD3 MMDiT
/// uses it, with its two processors:
///  - JointAttnProcessor2_0 (`attn` of a JointTransformerBlock): image and
///    context streams projected separately, per-head RMS qk-norm, concatenated
///    as [image, context] along the sequence, one softmax attention, split back,
///    `to_out.0` on the image part and `to_add_out` on the context part (absent in
///    the context_pre_only block, whose context output is returned unprojected);
///  - AttnProcessor2_0 (`attn2` of a dual-attention block): self-attention on
///    the image tokens.
/// All attention goes through at::scaled_dot_product_attention
/// with scale 1/√head_dim (F.scaled_dot_product_attention's default).
///
/// Linear children are called through forward_linear (lora_linear.h), so any of
/// them can be replaced by a LoRALinear.

#include <torch/torch.h>

#include <utility>

namespace flowgrpo::models {

/// Constructor arguments (the subset of diffusers' Attention the SD3 model uses).
struct AttentionOptions {
  int64_t query_dim = 0;  ///< D
  int64_t heads = 1;
  int64_t dim_head = 64;          ///< inner dim = heads · dim_head, out dim = D
  int64_t added_kv_proj_dim = 0;  ///< > 0: joint attention with add_{q,k,v}_proj (context dim)
  bool context_pre_only = false;  ///< joint only: no to_add_out
  bool qk_norm = false;           ///< RMSNorm norm_q / norm_k (and norm_added_q / _k for joint)
  double eps = 1e-6;              ///< RMSNorm eps
};

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const AttentionOptions& options);

  /// Joint attention (JointAttnProcessor2_0).
  /// @param x image tokens [B, N, D]; @param context [B, S, D].
  /// @return {image output [B, N, D], context output [B, S, D]}; the context
  ///         output is not projected when context_pre_only.
  /// @throws std::logic_error if this Attention was built without added_kv_proj_dim.
  std::pair<torch::Tensor, torch::Tensor> forward_joint(const torch::Tensor& x, const torch::Tensor& context);

  /// Self-attention (AttnProcessor2_0) on x [B, N, D] → [B, N, D].
  torch::Tensor forward(const torch::Tensor& x);

  const AttentionOptions& options() const { return options_; }

 private:
  /// [B, L, H·Dh] → [B, H, L, Dh]
  torch::Tensor heads_first(const torch::Tensor& t) const;
  torch::Tensor apply_norm(const char* name, const torch::Tensor& t) const;

  AttentionOptions options_;
  torch::nn::ModuleList to_out{nullptr};  ///< {Linear, Dropout(0)} so that names read "to_out.0.*".
};
TORCH_MODULE(Attention);

/// diffusers `FeedForward(dim, dim_out, activation_fn="gelu-approximate")`:
/// net.0 = GELU with `proj` Linear(D → 4D) and tanh approximation, net.1 = Dropout,
/// net.2 = Linear(4D → D).
class FeedForwardImpl : public torch::nn::Module {
 public:
  FeedForwardImpl(int64_t dim, int64_t dim_out, int64_t mult = 4);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::ModuleList net{nullptr};
};
TORCH_MODULE(FeedForward);

/// diffusers `GELU(dim_in, dim_out, approximate="tanh")` (activations.py): proj then gelu.
class GELUProjImpl : public torch::nn::Module {
 public:
  GELUProjImpl(int64_t dim_in, int64_t dim_out);
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(GELUProj);

}  // namespace flowgrpo::models
