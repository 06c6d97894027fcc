#pragma once
/// @file downsample_2d.h
/// diffusers v0.33.1 `models/downsampling.py::Downsample2D(use_conv=True,
/// padding=0, name="op")` as the AutoencoderKL encoder builds it: the input is
/// padded by one zero column on the right and one zero row at the bottom
/// (F.pad (0,1,0,1), asymmetric), then a 3×3 stride-2 convolution without padding
/// halves H and W. The weights are `conv.{weight,bias}`.

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class Downsample2DImpl : public torch::nn::Module {
 public:
  explicit Downsample2DImpl(int64_t channels);

  /// x [B, C, H, W] → [B, C, ⌊(H+1−3)/2⌋+1, ⌊(W+1−3)/2⌋+1] (H/2 × W/2 for even sizes).
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Downsample2D);

}  // namespace flowgrpo::models
