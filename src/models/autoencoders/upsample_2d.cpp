#include "flowgrpo/models/autoencoders/upsample_2d.h"

namespace flowgrpo::models {

namespace F = torch::nn::functional;

Upsample2DImpl::Upsample2DImpl(int64_t channels) {
  conv = register_module(
      "conv",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).stride(1).padding(1).bias(true)));
}

torch::Tensor Upsample2DImpl::forward(const torch::Tensor& x) {
  // upsampling.py::Upsample2D.forward: F.interpolate(scale_factor=2.0, mode="nearest"),
  // then the 3×3 convolution. Nearest ×2 copies each pixel into a 2×2 block.
  auto up = F::interpolate(
      x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
  return conv->forward(up);
}

}  // namespace flowgrpo::models
