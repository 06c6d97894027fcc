#include "flowgrpo/models/autoencoders/vae_encoder.h"

namespace flowgrpo::models {

namespace {
// Every norm of diffusers' Encoder / Decoder uses eps 1e-6 (vae.py: resnet_eps, conv_norm_out).
constexpr double kVaeEncoderNormEps = 1e-6;
}  // namespace

VAEEncoderImpl::VAEEncoderImpl(const AutoencoderKLConfig& c) {
  const auto& channels = c.block_out_channels;
  const int64_t levels = c.num_levels();
  conv_in = register_module(
      "conv_in",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in_channels, channels[0], 3).stride(1).padding(1)));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  int64_t out = channels[0];
  for (int64_t i = 0; i < levels; ++i) {
    const int64_t in = out;
    out = channels[static_cast<size_t>(i)];
    down_blocks->push_back(DownEncoderBlock2D(in, out, c.layers_per_block, c.norm_num_groups,
                                              /*add_downsample=*/i != levels - 1));
  }
  mid_block = register_module("mid_block",
                              UNetMidBlock2D(channels.back(), c.norm_num_groups, c.mid_block_add_attention));
  conv_norm_out = register_module(
      "conv_norm_out",
      torch::nn::GroupNorm(
          torch::nn::GroupNormOptions(c.norm_num_groups, channels.back()).eps(kVaeEncoderNormEps)));
  // double_z: mean and logvar channels.
  conv_out = register_module(
      "conv_out",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(channels.back(), 2 * c.latent_channels, 3).stride(1).padding(1)));
}

torch::Tensor VAEEncoderImpl::forward(const torch::Tensor& image) {
  // vae.py::Encoder.forward.
  auto h = conv_in->forward(image);
  for (size_t i = 0; i < down_blocks->size(); ++i)
    h = down_blocks->ptr<DownEncoderBlock2DImpl>(i)->forward(h);
  h = mid_block->forward(h);
  return conv_out->forward(torch::silu(conv_norm_out->forward(h)));
}

}  // namespace flowgrpo::models
