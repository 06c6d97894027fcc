#include "flowgrpo/models/autoencoders/resnet_block_2d.h"

namespace flowgrpo::models {

namespace {

torch::nn::GroupNorm resnet_group_norm(int64_t groups, int64_t channels, double eps) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(eps).affine(true));
}

torch::nn::Conv2d resnet_conv(int64_t in, int64_t out, int64_t kernel) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(1).padding(kernel / 2).bias(true));
}

}  // namespace

ResnetBlock2DImpl::ResnetBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t groups, double eps) {
  // Registration order follows diffusers' ResnetBlock2D.__init__.
  norm1 = register_module("norm1", resnet_group_norm(groups, in_channels, eps));
  conv1 = register_module("conv1", resnet_conv(in_channels, out_channels, 3));
  norm2 = register_module("norm2", resnet_group_norm(groups, out_channels, eps));
  conv2 = register_module("conv2", resnet_conv(out_channels, out_channels, 3));
  if (in_channels != out_channels)
    conv_shortcut = register_module("conv_shortcut", resnet_conv(in_channels, out_channels, 1));
}

torch::Tensor ResnetBlock2DImpl::forward(const torch::Tensor& x) {
  // resnet.py::ResnetBlock2D.forward with temb None, time_embedding_norm
  // "default", dropout 0 (identity in eval and train) and output_scale_factor 1
  // (the division by 1 is exact, so it is left out).
  auto h = conv1->forward(torch::silu(norm1->forward(x)));
  h = conv2->forward(torch::silu(norm2->forward(h)));
  const auto shortcut = conv_shortcut ? conv_shortcut->forward(x) : x;
  return shortcut + h;
}

}  // namespace flowgrpo::models
