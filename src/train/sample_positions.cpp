#include "flowgrpo/train/sample_positions.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace flowgrpo::train {

SamplePositions::SamplePositions(int64_t world_size, int64_t rank, int64_t batch_size_per_rank,
                                 int64_t batches_per_epoch)
    : world_size_(world_size), rank_(rank), batch_(batch_size_per_rank), batches_(batches_per_epoch) {
  if (world_size < 1 || rank < 0 || rank >= world_size || batch_size_per_rank < 1 || batches_per_epoch < 1)
    throw std::invalid_argument("SamplePositions: rank " + std::to_string(rank) + " of " +
                                std::to_string(world_size) + ", " + std::to_string(batch_size_per_rank) +
                                " per batch, " + std::to_string(batches_per_epoch) +
                                " batches (expected 0 <= rank < world_size and positive counts)");
}

int64_t SamplePositions::global_of_local(int64_t local) const {
  return (local / batch_) * world_size_ * batch_ + slot_in_iteration(local % batch_);
}

int64_t SamplePositions::owner(int64_t global) const {
  return (global % (world_size_ * batch_)) / batch_;
}

int64_t SamplePositions::local_of_global(int64_t global) const {
  return (global / (world_size_ * batch_)) * batch_ + global % batch_;
}

torch::Tensor SamplePositions::gathered_rows() const {
  std::vector<int64_t> rows(static_cast<size_t>(global_count()));
  for (int64_t g = 0; g < global_count(); ++g)
    rows[static_cast<size_t>(g)] = owner(g) * local_count() + local_of_global(g);
  return torch::tensor(rows, torch::kLong);
}

torch::Tensor SamplePositions::global_of_locals() const {
  std::vector<int64_t> out(static_cast<size_t>(local_count()));
  for (int64_t l = 0; l < local_count(); ++l) out[static_cast<size_t>(l)] = global_of_local(l);
  return torch::tensor(out, torch::kLong);
}

torch::Tensor SamplePositions::local_members(const torch::Tensor& global_indices) const {
  const auto g = global_indices.to(torch::kLong).contiguous().cpu();
  const auto* p = g.data_ptr<int64_t>();
  std::vector<int64_t> out;
  for (int64_t i = 0; i < g.numel(); ++i) {
    if (p[i] < 0 || p[i] >= global_count())
      throw std::out_of_range("SamplePositions::local_members: position " + std::to_string(p[i]) +
                              " outside [0, " + std::to_string(global_count()) + ")");
    if (owner(p[i]) == rank_) out.push_back(local_of_global(p[i]));
  }
  return torch::tensor(out, torch::kLong);
}

}  // namespace flowgrpo::train
