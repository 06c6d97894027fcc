#pragma once
/// @file vae_encoder.h
/// The AutoencoderKL encoder: diffusers v0.33.1
/// `models/autoencoders/vae.py::Encoder(double_z=True)`:
///
///     conv_in        Conv 3×3, in_channels → block_out_channels[0]
///     down_blocks    DownEncoderBlock2D per level (all but the last downsample ×2)
///     mid_block      UNetMidBlock2D(block_out_channels[-1]) (resnet, attention, resnet)
///     conv_norm_out  GroupNorm(norm_num_groups, block_out_channels[-1], eps 1e-6), then SiLU
///     conv_out       Conv 3×3 → 2·latent_channels (mean and logvar, in that order)

#include "flowgrpo/models/autoencoders/autoencoder_kl_config.h"
#include "flowgrpo/models/autoencoders/down_encoder_block_2d.h"
#include "flowgrpo/models/autoencoders/unet_mid_block_2d.h"

#include <torch/torch.h>

namespace flowgrpo::models {

class VAEEncoderImpl : public torch::nn::Module {
 public:
  /// `config` must be valid (AutoencoderKLConfig::validate); AutoencoderKLImpl checks it.
  explicit VAEEncoderImpl(const AutoencoderKLConfig& config);

  /// image [B, in_channels, H, W] (H, W multiples of 2^(levels−1); unchecked here)
  /// → moments [B, 2·latent_channels, H/2^(levels−1), W/2^(levels−1)].
  torch::Tensor forward(const torch::Tensor& image);

  torch::nn::Conv2d conv_in{nullptr};
  torch::nn::ModuleList down_blocks{nullptr};
  UNetMidBlock2D mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
  torch::nn::Conv2d conv_out{nullptr};
};
TORCH_MODULE(VAEEncoder);

}  // namespace flowgrpo::models
