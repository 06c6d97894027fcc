#include "flowgrpo/models/autoencoders/diagonal_gaussian_distribution.h"

#include "flowgrpo/common/shape_string.h"

#include <stdexcept>

namespace flowgrpo::models {

DiagonalGaussianDistribution DiagonalGaussianDistribution::from_moments(const torch::Tensor& moments) {
  if (!moments.defined() || moments.dim() != 4 || moments.size(1) % 2 != 0) {
    throw std::invalid_argument(
        "DiagonalGaussianDistribution: expected moments [B, 2C, h, w], found " +
        (moments.defined() ? shape_string(moments.sizes()) : std::string("an undefined tensor")));
  }
  // vae.py::DiagonalGaussianDistribution.__init__: chunk(2, dim=1), logvar clamped
  // to [-30, 20] so that exp() stays finite in every dtype.
  auto parts = moments.chunk(2, 1);
  DiagonalGaussianDistribution d;
  d.mean = parts[0];
  d.logvar = torch::clamp(parts[1], -30.0, 20.0);
  d.stddev = torch::exp(0.5 * d.logvar);
  return d;
}

torch::Tensor DiagonalGaussianDistribution::sample(std::optional<at::Generator> generator) const {
  // diffusers' randn_tensor: the noise is drawn on the generator's device (CPU
  // for a CPU generator, whatever device the latents are on), or on the latents'
  // device without a generator, in mean's dtype.
  const auto gen_device = generator ? generator->device() : mean.device();
  const auto options = mean.options().device(gen_device);
  auto eps =
      generator ? torch::randn(mean.sizes(), *generator, options) : torch::randn(mean.sizes(), options);
  return mean + stddev * eps.to(mean.device());
}

}  // namespace flowgrpo::models
