#pragma once
/// @file k_repeat_sampler.h
/// flow_grpo's DistributedKRepeatSampler (scripts/train_sd3.py; flow_grpo.md §4):
/// every sampling iteration draws m = n·b/k distinct prompts, repeats each k
/// times, shuffles the n·b slots, and rank r takes slots [r·b, (r+1)·b). The
/// permutations come from a CPU generator seeded with seed + iteration, identical
/// on every rank, so every group of k images is complete within one iteration
/// across all ranks (and the choice matches the reference's torch.randperm for
/// the same seed).

#include <cstdint>
#include <vector>

namespace flowgrpo::data {

class KRepeatSampler {
 public:
  /// @param dataset_size number of prompts (≥ m)
  /// @param batch_size b, prompts per rank per iteration
  /// @param group_size k, images per prompt
  /// @throws std::invalid_argument if k does not divide n·b or the dataset has fewer than m prompts.
  KRepeatSampler(int64_t dataset_size, int64_t batch_size, int64_t group_size, int64_t world_size,
                 int64_t rank, int64_t seed);

  /// The dataset indices of this rank's b slots for sampling iteration
  /// `iteration` (the reference's set_epoch(epoch · num_batches + i)).
  std::vector<int64_t> indices(int64_t iteration) const;
  /// All n·b slots of the iteration (every rank's), rank-major.
  std::vector<int64_t> all_indices(int64_t iteration) const;

  int64_t groups_per_iteration() const { return world_size_ * batch_size_ / group_size_; }

 private:
  int64_t dataset_size_, batch_size_, group_size_, world_size_, rank_, seed_;
};

}  // namespace flowgrpo::data
