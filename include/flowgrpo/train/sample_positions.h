#pragma once
/// @file sample_positions.h
/// Where each of an epoch's rollouts sits, independently of how many processes made
/// it. Sampling iteration i of an epoch produces n·b images (n ranks × b per rank,
/// the K-repeat sampler's slots, rank-major); image j of rank r in iteration i has
/// the *global position* g = i·n·b + r·b + j. One process with batch n·b gives every
/// image the same position, so everything derived from positions — noise seeds, the
/// zero-advantage filter, the micro-batch shuffle — is the same for W processes × b
/// as for one process × W·b (docs/distributed.md).
///
/// Three orders appear: *local* (a rank's samples in the order it made them, index
/// l = i·b + j), *gathered* (all_gather's rank-major concatenation of the local
/// tensors, row r·(b·B) + l), and *global* (by position g).

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::train {

class SamplePositions {
 public:
  /// @param batch_size_per_rank b, @param batches_per_epoch B (sampling iterations).
  /// @throws std::invalid_argument unless 0 <= rank < world_size and b, B >= 1.
  SamplePositions(int64_t world_size, int64_t rank, int64_t batch_size_per_rank, int64_t batches_per_epoch);

  int64_t global_count() const { return world_size_ * batch_ * batches_; }
  int64_t local_count() const { return batch_ * batches_; }
  /// The position of slot j of this rank's batch within its sampling iteration (r·b + j).
  int64_t slot_in_iteration(int64_t j) const { return rank_ * batch_ + j; }
  int64_t global_of_local(int64_t local) const;
  /// The rank holding global position g.
  int64_t owner(int64_t global) const;
  /// The local index of global position g on its owner.
  int64_t local_of_global(int64_t global) const;

  /// [global_count] int64: for each global position, its row in a gathered tensor,
  /// so that gathered.index_select(0, gathered_rows()) is in global order.
  torch::Tensor gathered_rows() const;
  /// [local_count] int64: the global position of each local sample.
  torch::Tensor global_of_locals() const;
  /// The local indices of the members of `global_indices` (int64, global positions)
  /// that this rank holds, in their order there.
  torch::Tensor local_members(const torch::Tensor& global_indices) const;

 private:
  int64_t world_size_, rank_, batch_, batches_;
};

}  // namespace flowgrpo::train
