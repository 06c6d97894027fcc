#include "flowgrpo/sampling/sample_noise.h"

#include <ATen/CPUGeneratorImpl.h>

#include <sstream>
#include <stdexcept>

namespace flowgrpo::sampling {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t derive_seed(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x6A09E667F3BCC908ull;
  for (uint64_t p : parts) h = splitmix64(h ^ splitmix64(p));
  return h;
}

SeededNoise::SeededNoise(std::vector<uint64_t> seeds) : seeds_(std::move(seeds)), initial_seeds_(seeds_) {
  if (seeds_.empty()) throw std::invalid_argument("SeededNoise: at least one sample seed is required");
}

SeededNoise::SeededNoise(std::vector<uint64_t> seeds, std::vector<uint64_t> initial_seeds)
    : seeds_(std::move(seeds)), initial_seeds_(std::move(initial_seeds)) {
  if (seeds_.empty()) throw std::invalid_argument("SeededNoise: at least one sample seed is required");
  if (initial_seeds_.size() != seeds_.size())
    throw std::invalid_argument("SeededNoise: one initial-latent seed per sample is required");
}

torch::Tensor SeededNoise::draw(const std::vector<uint64_t>& seeds, uint64_t stream,
                                c10::IntArrayRef sample_shape, const torch::Device& device) {
  std::vector<torch::Tensor> rows;
  rows.reserve(seeds.size());
  for (uint64_t seed : seeds) {
    // The generator's seed is 64-bit; mix so that nearby (seed, stream) pairs are unrelated.
    auto gen = at::detail::createCPUGenerator(derive_seed({seed, stream}));
    rows.push_back(torch::randn(sample_shape, gen, torch::TensorOptions().dtype(torch::kFloat)));
  }
  return torch::stack(rows, 0).to(device);
}

torch::Tensor SeededNoise::initial_latents(c10::IntArrayRef sample_shape, const torch::Device& device) const {
  return draw(initial_seeds_, 0, sample_shape, device);
}

torch::Tensor SeededNoise::step_noise(int64_t step, c10::IntArrayRef sample_shape,
                                      const torch::Device& device) const {
  if (step < 0) throw std::invalid_argument("SeededNoise::step_noise: negative step " + std::to_string(step));
  return draw(seeds_, static_cast<uint64_t>(step) + 1, sample_shape, device);
}

SeededNoise SeededNoise::select(const std::vector<int64_t>& indices) const {
  std::vector<uint64_t> picked, picked_initial;
  picked.reserve(indices.size());
  for (int64_t i : indices) {
    if (i < 0 || i >= batch_size())
      throw std::invalid_argument("SeededNoise::select: index " + std::to_string(i) + " out of range [0, " +
                                  std::to_string(batch_size()) + ")");
    picked.push_back(seeds_[static_cast<size_t>(i)]);
    picked_initial.push_back(initial_seeds_[static_cast<size_t>(i)]);
  }
  return SeededNoise(std::move(picked), std::move(picked_initial));
}

ExplicitNoise::ExplicitNoise(torch::Tensor initial, torch::Tensor steps)
    : initial_(std::move(initial)), steps_(std::move(steps)) {
  if (!initial_.defined() || initial_.dim() < 2)
    throw std::invalid_argument("ExplicitNoise: initial latents must be [B,...]");
  if (steps_.defined() &&
      (steps_.dim() != initial_.dim() + 1 || steps_.sizes().slice(1) != initial_.sizes())) {
    std::ostringstream os;
    os << "ExplicitNoise: step noises must be [N," << initial_.sizes().vec() << "...], found "
       << steps_.sizes();
    throw std::invalid_argument(os.str());
  }
}

torch::Tensor ExplicitNoise::initial_latents(c10::IntArrayRef sample_shape,
                                             const torch::Device& device) const {
  if (initial_.sizes().slice(1) != sample_shape)
    throw std::invalid_argument("ExplicitNoise: initial latents do not have the requested sample shape");
  return initial_.to(device, torch::kFloat);
}

torch::Tensor ExplicitNoise::step_noise(int64_t step, c10::IntArrayRef sample_shape,
                                        const torch::Device& device) const {
  if (!steps_.defined() || step < 0 || step >= steps_.size(0))
    throw std::invalid_argument("ExplicitNoise: no noise recorded for step " + std::to_string(step));
  if (steps_.sizes().slice(2) != sample_shape)
    throw std::invalid_argument("ExplicitNoise: step noise does not have the requested sample shape");
  return steps_[step].to(device, torch::kFloat);
}

}  // namespace flowgrpo::sampling
