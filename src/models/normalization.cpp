#include "flowgrpo/models/normalization.h"

#include "flowgrpo/models/lora_linear.h"

namespace flowgrpo::models {

namespace F = torch::nn::functional;

namespace {
// Every diffusers LayerNorm in the SD3 blocks uses eps 1e-6 (attention.py, normalization.py).
constexpr double kBlockEps = 1e-6;
}  // namespace

torch::Tensor layer_norm_no_affine(const torch::Tensor& x, double eps) {
  return torch::layer_norm(x, {x.size(-1)}, /*weight=*/{}, /*bias=*/{}, eps);
}

RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  // normalization.py::RMSNorm.forward (diffusers v0.33.1). diffusers computes the
  // statistics in float32 for every input dtype; float64 is kept as is here (a
  // deliberate deviation, for float64 finite-difference checks; identical for
  // fp32 / bf16 / fp16).
  const auto stats_dtype = x.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  auto variance = x.to(stats_dtype).pow(2).mean(-1, /*keepdim=*/true);
  auto y = x * torch::rsqrt(variance + eps_);
  const auto wt = weight.scalar_type();
  if (wt == torch::kHalf || wt == torch::kBFloat16) y = y.to(wt);
  return y * weight;
}

AdaLayerNormZeroImpl::AdaLayerNormZeroImpl(int64_t dim) {
  register_module("linear", torch::nn::Linear(torch::nn::LinearOptions(dim, 6 * dim).bias(true)));
}

AdaLayerNormZeroOutput AdaLayerNormZeroImpl::forward(const torch::Tensor& x, const torch::Tensor& temb) {
  // normalization.py::AdaLayerNormZero.forward.
  auto emb = forward_linear(*this, "linear", F::silu(temb));
  auto c = emb.chunk(6, 1);
  // c: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
  auto y = layer_norm_no_affine(x, kBlockEps) * (1 + c[1].unsqueeze(1)) + c[0].unsqueeze(1);
  return {y, c[2], c[3], c[4], c[5]};
}

SD35AdaLayerNormZeroXImpl::SD35AdaLayerNormZeroXImpl(int64_t dim) {
  register_module("linear", torch::nn::Linear(torch::nn::LinearOptions(dim, 9 * dim).bias(true)));
}

SD35AdaLayerNormZeroXOutput SD35AdaLayerNormZeroXImpl::forward(const torch::Tensor& x,
                                                               const torch::Tensor& temb) {
  // normalization.py::SD35AdaLayerNormZeroX.forward.
  auto emb = forward_linear(*this, "linear", F::silu(temb));
  auto c = emb.chunk(9, 1);
  // c: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp, shift_msa2, scale_msa2, gate_msa2
  auto n = layer_norm_no_affine(x, kBlockEps);
  auto y = n * (1 + c[1].unsqueeze(1)) + c[0].unsqueeze(1);
  auto y2 = n * (1 + c[7].unsqueeze(1)) + c[6].unsqueeze(1);
  return {y, c[2], c[3], c[4], c[5], y2, c[8]};
}

AdaLayerNormContinuousImpl::AdaLayerNormContinuousImpl(int64_t embedding_dim,
                                                       int64_t conditioning_embedding_dim, double eps)
    : eps_(eps) {
  register_module("linear",
                  torch::nn::Linear(torch::nn::LinearOptions(conditioning_embedding_dim, 2 * embedding_dim)));
}

torch::Tensor AdaLayerNormContinuousImpl::forward(const torch::Tensor& x, const torch::Tensor& conditioning) {
  // normalization.py::AdaLayerNormContinuous.forward: (scale, shift), scale first.
  auto emb = forward_linear(*this, "linear", F::silu(conditioning).to(x.scalar_type()));
  auto c = emb.chunk(2, 1);
  return layer_norm_no_affine(x, eps_) * (1 + c[0].unsqueeze(1)) + c[1].unsqueeze(1);
}

}  // namespace flowgrpo::models
