#pragma once
/// @file up_decoder_block_2d.h
/// diffusers v0.33.1 `models/unets/unet_2d_blocks.py::UpDecoderBlock2D` as the
/// AutoencoderKL decoder builds it: `resnets` (num_layers = layers_per_block + 1
/// ResnetBlock2D, the first in → out, the others out → out) then, except in the
/// last level, `upsamplers.0` (Upsample2D: nearest ×2 and a 3×3 convolution).

#include "flowgrpo/models/autoencoders/resnet_block_2d.h"
#include "flowgrpo/models/autoencoders/upsample_2d.h"

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class UpDecoderBlock2DImpl : public torch::nn::Module {
 public:
  UpDecoderBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t num_layers, int64_t groups,
                       bool add_upsample);

  /// x [B, in, H, W] → [B, out, 2H, 2W] (or [B, out, H, W] without upsampler).
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::ModuleList resnets{nullptr};
  torch::nn::ModuleList upsamplers{nullptr};  ///< Null without upsampler (as diffusers' None).
};
TORCH_MODULE(UpDecoderBlock2D);

}  // namespace flowgrpo::models
