#include "flowgrpo/data/k_repeat_sampler.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <stdexcept>
#include <string>

namespace flowgrpo::data {

KRepeatSampler::KRepeatSampler(int64_t dataset_size, int64_t batch_size, int64_t group_size,
                               int64_t world_size, int64_t rank, int64_t seed)
    : dataset_size_(dataset_size),
      batch_size_(batch_size),
      group_size_(group_size),
      world_size_(world_size),
      rank_(rank),
      seed_(seed) {
  if (batch_size < 1 || group_size < 1 || world_size < 1 || rank < 0 || rank >= world_size)
    throw std::invalid_argument(
        "KRepeatSampler: batch size, group size and world size must be >= 1, 0 <= rank < world");
  const int64_t total = world_size * batch_size;
  if (total % group_size != 0)
    throw std::invalid_argument("KRepeatSampler: " + std::to_string(world_size) + " ranks x " +
                                std::to_string(batch_size) + " images = " + std::to_string(total) +
                                " slots cannot hold whole groups of " + std::to_string(group_size));
  if (groups_per_iteration() > dataset_size)
    throw std::invalid_argument("KRepeatSampler: " + std::to_string(groups_per_iteration()) +
                                " distinct prompts per iteration, but the prompt file has only " +
                                std::to_string(dataset_size));
}

std::vector<int64_t> KRepeatSampler::all_indices(int64_t iteration) const {
  auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(seed_ + iteration));
  const auto opts = torch::TensorOptions().dtype(torch::kLong);
  const auto chosen = torch::randperm(dataset_size_, gen, opts).narrow(0, 0, groups_per_iteration());
  const auto repeated = chosen.repeat_interleave(group_size_);
  const auto shuffled = repeated.index_select(0, torch::randperm(world_size_ * batch_size_, gen, opts));
  return {shuffled.data_ptr<int64_t>(), shuffled.data_ptr<int64_t>() + shuffled.numel()};
}

std::vector<int64_t> KRepeatSampler::indices(int64_t iteration) const {
  const auto all = all_indices(iteration);
  return {all.begin() + rank_ * batch_size_, all.begin() + (rank_ + 1) * batch_size_};
}

}  // namespace flowgrpo::data
