#pragma once
/// @file resnet_block_2d.h
/// diffusers v0.33.1 `models/resnet.py::ResnetBlock2D` as the AutoencoderKL
/// builds it: no time embedding (temb_channels None), pre-norm, SiLU, dropout 0,
/// output_scale_factor 1, eps 1e-6:
///
///     h   = conv2(SiLU(norm2(conv1(SiLU(norm1(x))))))
///     out = shortcut(x) + h       shortcut = conv_shortcut (1×1) iff in ≠ out, else identity

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class ResnetBlock2DImpl : public torch::nn::Module {
 public:
  /// Parameters `norm1` GroupNorm(groups, in), `conv1` 3×3 in→out, `norm2`
  /// GroupNorm(groups, out), `conv2` 3×3 out→out and, when in ≠ out,
  /// `conv_shortcut` 1×1 in→out (all with bias, as diffusers).
  ResnetBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t groups, double eps = 1e-6);

  /// x [B, in, H, W] → [B, out, H, W].
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Conv2d conv_shortcut{nullptr};  ///< Null when in == out.
};
TORCH_MODULE(ResnetBlock2D);

}  // namespace flowgrpo::models
