#include "flowgrpo/models/autoencoders/downsample_2d.h"

namespace flowgrpo::models {

namespace F = torch::nn::functional;

Downsample2DImpl::Downsample2DImpl(int64_t channels) {
  conv = register_module(
      "conv",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(0).bias(true)));
}

torch::Tensor Downsample2DImpl::forward(const torch::Tensor& x) {
  // downsampling.py::Downsample2D.forward with padding 0: the LDM encoder pads
  // right and bottom only, so the stride-2 grid starts at the top-left pixel.
  // A symmetric padding=1 convolution would shift every latent by half a pixel.
  auto padded = F::pad(x, F::PadFuncOptions({0, 1, 0, 1}).mode(torch::kConstant).value(0.0));
  return conv->forward(padded);
}

}  // namespace flowgrpo::models
