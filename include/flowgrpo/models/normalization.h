#pragma once
/// @file normalization.h
/// The normalisation layers of the SD3 MMDiT, numerically as diffusers v0.33.1
/// `models/normalization.py`. Each adaptive norm owns only `linear` (named as in
/// diffusers); its LayerNorm has no parameters (elementwise_affine=False).

#include <torch/torch.h>

namespace flowgrpo::models {

/// F.layer_norm over the last dimension without weight and bias.
torch::Tensor layer_norm_no_affine(const torch::Tensor& x, double eps);

/// diffusers `RMSNorm(dim, eps, elementwise_affine=True)` (normalization.py):
///     var = x.float().pow(2).mean(-1, keepdim); y = x * rsqrt(var + eps)  (promotes to fp32)
///     y = y.to(weight.dtype) if weight is fp16/bf16;  y = y * weight
/// so the statistics are float32 (float64 for float64 input, where diffusers
/// would round to float32), and the result is float32 when the weight is (as in
/// diffusers, also under autocast). Parameter: `weight` [dim].
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

/// Output of AdaLayerNormZero: the modulated input and the remaining chunks.
struct AdaLayerNormZeroOutput {
  torch::Tensor x;                                         ///< LN(x)·(1+scale_msa) + shift_msa
  torch::Tensor gate_msa, shift_mlp, scale_mlp, gate_mlp;  ///< [B, D] each
};

/// diffusers `AdaLayerNormZero(dim)` without class/label embedding:
/// emb = linear(SiLU(temb)) [B, 6D] chunked as shift_msa, scale_msa, gate_msa,
/// shift_mlp, scale_mlp, gate_mlp. `linear`: Linear(D → 6D).
class AdaLayerNormZeroImpl : public torch::nn::Module {
 public:
  explicit AdaLayerNormZeroImpl(int64_t dim);
  AdaLayerNormZeroOutput forward(const torch::Tensor& x, const torch::Tensor& temb);
};
TORCH_MODULE(AdaLayerNormZero);

/// Output of SD35AdaLayerNormZeroX.
struct SD35AdaLayerNormZeroXOutput {
  torch::Tensor x;  ///< LN(x)·(1+scale_msa) + shift_msa
  torch::Tensor gate_msa, shift_mlp, scale_mlp, gate_mlp;
  torch::Tensor x2;  ///< LN(x)·(1+scale_msa2) + shift_msa2 (same LN(x))
  torch::Tensor gate_msa2;
};

/// diffusers `SD35AdaLayerNormZeroX(dim)`: emb = linear(SiLU(temb)) [B, 9D]
/// chunked as shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp,
/// shift_msa2, scale_msa2, gate_msa2. `linear`: Linear(D → 9D).
class SD35AdaLayerNormZeroXImpl : public torch::nn::Module {
 public:
  explicit SD35AdaLayerNormZeroXImpl(int64_t dim);
  SD35AdaLayerNormZeroXOutput forward(const torch::Tensor& x, const torch::Tensor& temb);
};
TORCH_MODULE(SD35AdaLayerNormZeroX);

/// diffusers `AdaLayerNormContinuous(D, C, elementwise_affine=False, eps, norm_type="layer_norm")`:
///     emb = linear(SiLU(cond).to(x.dtype)); scale, shift = chunk(emb, 2)   (scale FIRST)
///     y = LN(x)·(1 + scale[:, None]) + shift[:, None]
/// `linear`: Linear(C → 2D).
class AdaLayerNormContinuousImpl : public torch::nn::Module {
 public:
  AdaLayerNormContinuousImpl(int64_t embedding_dim, int64_t conditioning_embedding_dim, double eps);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& conditioning);

 private:
  double eps_;
};
TORCH_MODULE(AdaLayerNormContinuous);

}  // namespace flowgrpo::models
