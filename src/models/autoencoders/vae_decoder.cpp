#include "flowgrpo/models/autoencoders/vae_decoder.h"

namespace flowgrpo::models {

namespace {

constexpr double kVaeDecoderNormEps = 1e-6;

void record_vae_activation(ActivationRecord* record, const std::string& name, const torch::Tensor& t) {
  if (record != nullptr) (*record)[name] = t;
}

}  // namespace

VAEDecoderImpl::VAEDecoderImpl(const AutoencoderKLConfig& c) {
  const auto& channels = c.block_out_channels;
  const int64_t levels = c.num_levels();
  conv_in = register_module(
      "conv_in", torch::nn::Conv2d(
                     torch::nn::Conv2dOptions(c.latent_channels, channels.back(), 3).stride(1).padding(1)));
  mid_block = register_module("mid_block",
                              UNetMidBlock2D(channels.back(), c.norm_num_groups, c.mid_block_add_attention));
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  // vae.py::Decoder walks block_out_channels reversed; each level has one more
  // resnet than the encoder's.
  int64_t out = channels.back();
  for (int64_t i = 0; i < levels; ++i) {
    const int64_t in = out;
    out = channels[static_cast<size_t>(levels - 1 - i)];
    up_blocks->push_back(UpDecoderBlock2D(in, out, c.layers_per_block + 1, c.norm_num_groups,
                                          /*add_upsample=*/i != levels - 1));
  }
  conv_norm_out = register_module(
      "conv_norm_out",
      torch::nn::GroupNorm(
          torch::nn::GroupNormOptions(c.norm_num_groups, channels[0]).eps(kVaeDecoderNormEps)));
  conv_out = register_module(
      "conv_out",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(channels[0], c.out_channels, 3).stride(1).padding(1)));
}

torch::Tensor VAEDecoderImpl::forward(const torch::Tensor& z, ActivationRecord* record,
                                      const std::string& prefix) {
  // vae.py::Decoder.forward with latent_embeds None. diffusers casts the mid-block
  // output to the up blocks' dtype, which is the parameters' dtype here anyway.
  auto h = conv_in->forward(z);
  record_vae_activation(record, prefix + "conv_in", h);
  h = mid_block->forward(h);
  record_vae_activation(record, prefix + "mid_block", h);
  for (size_t i = 0; i < up_blocks->size(); ++i) {
    h = up_blocks->ptr<UpDecoderBlock2DImpl>(i)->forward(h);
    record_vae_activation(record, prefix + "up_blocks." + std::to_string(i), h);
  }
  h = conv_norm_out->forward(h);
  record_vae_activation(record, prefix + "conv_norm_out", h);
  h = conv_out->forward(torch::silu(h));
  record_vae_activation(record, prefix + "conv_out", h);
  return h;
}

}  // namespace flowgrpo::models
