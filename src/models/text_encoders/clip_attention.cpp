#include "flowgrpo/models/text_encoders/clip_attention.h"

#include <cmath>
#include <limits>

namespace flowgrpo::models {

CLIPAttentionImpl::CLIPAttentionImpl(const CLIPTextConfig& config, const torch::TensorOptions& options)
    : num_heads_(config.num_attention_heads),
      head_dim_(config.head_dim()),
      scale_(std::pow(static_cast<double>(config.head_dim()), -0.5)),
      dropout_(config.attention_dropout) {
  config.validate();
  const int64_t d = config.hidden_size;
  // Registration order as modeling_clip.py::CLIPAttention.__init__.
  k_proj = register_module("k_proj", CLIPLinear(d, d, /*bias=*/true, options));
  v_proj = register_module("v_proj", CLIPLinear(d, d, /*bias=*/true, options));
  q_proj = register_module("q_proj", CLIPLinear(d, d, /*bias=*/true, options));
  out_proj = register_module("out_proj", CLIPLinear(d, d, /*bias=*/true, options));
}

torch::Tensor CLIPAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t batch = x.size(0);
  const int64_t seq = x.size(1);
  const auto heads = [&](const torch::Tensor& t) {
    return t.view({batch, seq, num_heads_, head_dim_}).transpose(1, 2);  // [B, H, S, d_h]
  };
  // modeling_clip.py::CLIPAttention.forward scales the query projection before the product.
  const auto q = heads(q_proj->forward(x) * scale_);
  const auto k = heads(k_proj->forward(x));
  const auto v = heads(v_proj->forward(x));
  auto scores = torch::matmul(q, k.transpose(-2, -1));  // [B, H, S, S]
  const bool half = x.scalar_type() == torch::kHalf || x.scalar_type() == torch::kBFloat16;
  if (half) scores = scores.to(torch::kFloat);
  // The causal mask of CLIPTextTransformer (_create_4d_causal_attention_mask):
  // query i sees keys j <= i. transformers adds finfo.min instead of -inf; every
  // row keeps its diagonal, so both give exactly zero weight to the future.
  const auto future = torch::ones({seq, seq}, x.options().dtype(torch::kBool)).triu(1);
  scores = scores.masked_fill(future, -std::numeric_limits<double>::infinity());
  auto probs = torch::softmax(scores, -1);
  if (half) probs = probs.to(x.scalar_type());
  if (dropout_ > 0.0 && is_training()) probs = torch::dropout(probs, dropout_, /*train=*/true);
  const auto out = torch::matmul(probs, v).transpose(1, 2).reshape({batch, seq, num_heads_ * head_dim_});
  return out_proj->forward(out);
}

}  // namespace flowgrpo::models
