#include "flowgrpo/models/autoencoders/spatial_self_attention.h"

#include <cmath>

namespace flowgrpo::models {

SpatialSelfAttentionImpl::SpatialSelfAttentionImpl(int64_t channels, int64_t groups, double eps)
    : channels_(channels) {
  // Registration order follows diffusers' Attention.__init__ (group_norm first).
  group_norm = register_module(
      "group_norm",
      torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(eps).affine(true)));
  to_q = register_module("to_q", torch::nn::Linear(torch::nn::LinearOptions(channels, channels).bias(true)));
  to_k = register_module("to_k", torch::nn::Linear(torch::nn::LinearOptions(channels, channels).bias(true)));
  to_v = register_module("to_v", torch::nn::Linear(torch::nn::LinearOptions(channels, channels).bias(true)));
  to_out = register_module(
      "to_out",
      torch::nn::ModuleList(torch::nn::Linear(torch::nn::LinearOptions(channels, channels).bias(true)),
                            torch::nn::Dropout(0.0)));
}

torch::Tensor SpatialSelfAttentionImpl::forward(const torch::Tensor& x) {
  // attention_processor.py::AttnProcessor2_0.__call__ for a 4-D input, no mask,
  // no spatial norm, one head, residual_connection, rescale_output_factor 1.
  // diffusers normalises the [B, C, H·W] view; GroupNorm statistics are per
  // (sample, group) over channels × positions, so normalising [B, C, H, W]
  // directly is the same computation.
  const int64_t batch = x.size(0);
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  auto tokens = group_norm->forward(x).view({batch, channels_, height * width}).transpose(1, 2);
  // [B, N, C] → [B, 1 head, N, C]
  auto q = to_q->forward(tokens).unsqueeze(1);
  auto k = to_k->forward(tokens).unsqueeze(1);
  auto v = to_v->forward(tokens).unsqueeze(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(channels_));  // SDPA's default, head dim C
  auto out = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0,
                                              /*is_causal=*/false, scale);
  out = out.squeeze(1).to(q.scalar_type());
  const auto proj = to_out->ptr<torch::nn::LinearImpl>(0);
  out = proj->forward(out);  // to_out[1] is Dropout(0): identity
  out = out.transpose(1, 2).reshape({batch, channels_, height, width});
  return out + x;
}

}  // namespace flowgrpo::models
