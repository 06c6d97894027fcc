#pragma once
/// @file unet_mid_block_2d.h
/// diffusers v0.33.1 `models/unets/unet_2d_blocks.py::UNetMidBlock2D` as the
/// AutoencoderKL encoder and decoder build it (num_layers 1, no time embedding,
/// eps 1e-6, output_scale_factor 1):
///
///     h = resnets.0(x); h = attentions.0(h) (if add_attention); h = resnets.1(h)

#include "flowgrpo/models/autoencoders/resnet_block_2d.h"
#include "flowgrpo/models/autoencoders/spatial_self_attention.h"

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

class UNetMidBlock2DImpl : public torch::nn::Module {
 public:
  /// @param add_attention config `mid_block_add_attention`; without it
  ///        `attentions` is empty (diffusers holds a None there: no parameters).
  UNetMidBlock2DImpl(int64_t channels, int64_t groups, bool add_attention);

  /// x [B, C, H, W] → [B, C, H, W].
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::ModuleList resnets{nullptr};     ///< Two ResnetBlock2D(C → C).
  torch::nn::ModuleList attentions{nullptr};  ///< One SpatialSelfAttention, or none.
};
TORCH_MODULE(UNetMidBlock2D);

}  // namespace flowgrpo::models
