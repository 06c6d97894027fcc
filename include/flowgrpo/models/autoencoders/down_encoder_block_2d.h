#pragma once
/// @file down_encoder_block_2d.h
/// diffusers v0.33.1 `models/unets/unet_2d_blocks.py::DownEncoderBlock2D` as the
/// AutoencoderKL encoder builds it: `resnets` (num_layers ResnetBlock2D, the
/// first in → out, the others out → out) then, except in the last level,
/// `downsamplers.0` (Downsample2D, the asymmetric-pad stride-2 convolution).

#include "flowgrpo/models/autoencoders/downsample_2d.h"
#include "flowgrpo/models/autoencoders/resnet_block_2d.h"

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class DownEncoderBlock2DImpl : public torch::nn::Module {
 public:
  DownEncoderBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t num_layers, int64_t groups,
                         bool add_downsample);

  /// x [B, in, H, W] → [B, out, H/2, W/2] (or [B, out, H, W] without downsampler).
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::ModuleList resnets{nullptr};
  torch::nn::ModuleList downsamplers{nullptr};  ///< Null without downsampler (as diffusers' None).
};
TORCH_MODULE(DownEncoderBlock2D);

}  // namespace flowgrpo::models
