#pragma once
/// @file sample_noise.h
/// Where a rollout's randomness comes from. Every sample owns a 64-bit seed; its
/// initial latent and the noise of every step are drawn from CPU generators seeded
/// from (sample seed, stream), so a sample's trajectory is reproducible bit for bit
/// on its own, in any batch, on any device, and any single step can be redrawn
/// without replaying the ones before it (libtorch.md pitfall 11).

#include <torch/torch.h>

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace flowgrpo::sampling {

/// SplitMix64 finaliser: a well-mixed 64-bit value from `x`.
uint64_t splitmix64(uint64_t x);
/// Order-dependent combination of several integers into one seed
/// (e.g. {run seed, epoch, rank, batch, sample}).
uint64_t derive_seed(std::initializer_list<uint64_t> parts);

/// The randomness of one rollout batch.
class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  /// Batch size the source serves.
  virtual int64_t batch_size() const = 0;
  /// Initial latents x_1 ~ N(0, I): [B, sample_shape...] float32 on `device`.
  virtual torch::Tensor initial_latents(c10::IntArrayRef sample_shape, const torch::Device& device) const = 0;
  /// ε for denoising step `step` (0-based): [B, sample_shape...] float32 on `device`.
  virtual torch::Tensor step_noise(int64_t step, c10::IntArrayRef sample_shape,
                                   const torch::Device& device) const = 0;
};

/// Per-sample seeded noise (the default for training and evaluation).
class SeededNoise final : public NoiseSource {
 public:
  explicit SeededNoise(std::vector<uint64_t> seeds);
  /// Initial latents from `initial_seeds`, step noise from `seeds` (both one per
  /// sample): e.g. flow_grpo's `same_latent`, where the images of one prompt start
  /// from the same latent but take different stochastic paths.
  SeededNoise(std::vector<uint64_t> seeds, std::vector<uint64_t> initial_seeds);
  int64_t batch_size() const override { return static_cast<int64_t>(seeds_.size()); }
  torch::Tensor initial_latents(c10::IntArrayRef sample_shape, const torch::Device& device) const override;
  torch::Tensor step_noise(int64_t step, c10::IntArrayRef sample_shape,
                           const torch::Device& device) const override;
  const std::vector<uint64_t>& seeds() const { return seeds_; }
  /// The noise of a subset of the samples (same seeds, same draws).
  SeededNoise select(const std::vector<int64_t>& indices) const;

 private:
  static torch::Tensor draw(const std::vector<uint64_t>& seeds, uint64_t stream,
                            c10::IntArrayRef sample_shape, const torch::Device& device);
  std::vector<uint64_t> seeds_;
  std::vector<uint64_t> initial_seeds_;
};

/// Noise given as tensors, e.g. replaying a rollout recorded by the Python reference.
class ExplicitNoise final : public NoiseSource {
 public:
  /// `initial` [B,...]; `steps` [N,B,...] (step-major, as the reference fixtures store it).
  ExplicitNoise(torch::Tensor initial, torch::Tensor steps);
  int64_t batch_size() const override { return initial_.size(0); }
  torch::Tensor initial_latents(c10::IntArrayRef sample_shape, const torch::Device& device) const override;
  torch::Tensor step_noise(int64_t step, c10::IntArrayRef sample_shape,
                           const torch::Device& device) const override;

 private:
  torch::Tensor initial_;
  torch::Tensor steps_;
};

}  // namespace flowgrpo::sampling
