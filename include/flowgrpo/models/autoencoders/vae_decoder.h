#pragma once
/// @file vae_decoder.h
/// The AutoencoderKL decoder: diffusers v0.33.1
/// `models/autoencoders/vae.py::Decoder(norm_type="group")`:
///
///     conv_in        Conv 3×3, latent_channels → block_out_channels[-1]
///     mid_block      UNetMidBlock2D(block_out_channels[-1]) (resnet, attention, resnet)
///     up_blocks      UpDecoderBlock2D per level, channels reversed, layers_per_block + 1
///                    resnets each, all but the last upsample ×2
///     conv_norm_out  GroupNorm(norm_num_groups, block_out_channels[0], eps 1e-6), then SiLU
///     conv_out       Conv 3×3 → out_channels

#include "flowgrpo/models/autoencoders/autoencoder_kl_config.h"
#include "flowgrpo/models/autoencoders/unet_mid_block_2d.h"
#include "flowgrpo/models/autoencoders/up_decoder_block_2d.h"

#include <torch/torch.h>

#include <map>
#include <string>

namespace flowgrpo::models {

/// Named intermediate activations (the same type as joint_transformer_block.h's
/// ActivationRecord, redeclared so the VAE does not depend on the SD3 blocks).
using ActivationRecord = std::map<std::string, torch::Tensor>;

class VAEDecoderImpl : public torch::nn::Module {
 public:
  /// `config` must be valid (AutoencoderKLConfig::validate); AutoencoderKLImpl checks it.
  explicit VAEDecoderImpl(const AutoencoderKLConfig& config);

  /// z [B, latent_channels, h, w] (after post_quant_conv) → [B, out_channels,
  /// h·2^(levels−1), w·2^(levels−1)], unclamped.
  /// @param record if given, receives `<prefix>conv_in`, `<prefix>mid_block`,
  ///        `<prefix>up_blocks.{i}`, `<prefix>conv_norm_out` (after the norm,
  ///        before SiLU) and `<prefix>conv_out`, the names of the fixtures'
  ///        `inter.decoder.*` activations with prefix "decoder.".
  torch::Tensor forward(const torch::Tensor& z, ActivationRecord* record = nullptr,
                        const std::string& prefix = "decoder.");

  torch::nn::Conv2d conv_in{nullptr};
  UNetMidBlock2D mid_block{nullptr};
  torch::nn::ModuleList up_blocks{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
  torch::nn::Conv2d conv_out{nullptr};
};
TORCH_MODULE(VAEDecoder);

}  // namespace flowgrpo::models
