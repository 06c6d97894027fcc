#pragma once
/// @file upsample_2d.h
/// diffusers v0.33.1 `models/upsampling.py::Upsample2D(use_conv=True)` as the
/// AutoencoderKL decoder builds it: nearest-neighbour ×2 upsampling
/// (F.interpolate(scale_factor=2, mode="nearest")) then a 3×3 convolution with
/// padding 1. The weights are `conv.{weight,bias}`.

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class Upsample2DImpl : public torch::nn::Module {
 public:
  explicit Upsample2DImpl(int64_t channels);

  /// x [B, C, H, W] → [B, C, 2H, 2W].
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample2D);

}  // namespace flowgrpo::models
