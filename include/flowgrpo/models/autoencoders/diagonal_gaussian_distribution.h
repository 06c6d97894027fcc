#pragma once
/// @file diagonal_gaussian_distribution.h
/// The latent distribution the AutoencoderKL encoder returns: diffusers v0.33.1
/// `models/autoencoders/vae.py::DiagonalGaussianDistribution` (not deterministic).

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <optional>

namespace flowgrpo::models {

/// N(mean, diag(exp(logvar))) per latent element.
struct DiagonalGaussianDistribution {
  /// Splits encoder moments [B, 2C, h, w] into mean = the first C channels and
  /// logvar = the last C, clamped to [−30, 20] as diffusers does; stddev = exp(logvar/2).
  /// @throws std::invalid_argument if `moments` is not 4-D with an even channel count.
  static DiagonalGaussianDistribution from_moments(const torch::Tensor& moments);

  torch::Tensor mean;    ///< [B, C, h, w]
  torch::Tensor logvar;  ///< [B, C, h, w], clamped to [−30, 20]
  torch::Tensor stddev;  ///< exp(0.5·logvar) (diffusers' `std`)

  /// The mode (= mean), what pipelines encode images with (`latent_dist.mode()`).
  torch::Tensor mode() const { return mean; }

  /// mean + stddev·ε, ε ~ N(0, I) of mean's shape and dtype (diffusers' randn_tensor):
  /// drawn from `generator` on the generator's device and then moved to mean's
  /// device, so a CPU generator gives the same draw whatever device the VAE is on;
  /// without a generator, from the default generator of mean's device.
  torch::Tensor sample(std::optional<at::Generator> generator = std::nullopt) const;
};

}  // namespace flowgrpo::models
