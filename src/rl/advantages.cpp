#include "flowgrpo/rl/advantages.h"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace flowgrpo::rl {

torch::Tensor clip_advantages(const torch::Tensor& advantages, double adv_clip_max) {
  if (!advantages.defined()) throw std::invalid_argument("clip_advantages: advantages is undefined");
  if (!std::isfinite(adv_clip_max) || adv_clip_max <= 0)
    throw std::invalid_argument("clip_advantages: adv_clip_max must be a finite positive number, got " +
                                std::to_string(adv_clip_max));
  // train_sd3.py: torch.clamp(sample["advantages"][:, j], -adv_clip_max, adv_clip_max)
  return torch::clamp(advantages, -adv_clip_max, adv_clip_max);
}

torch::Tensor expand_over_timesteps(const torch::Tensor& advantages, int64_t num_timesteps) {
  if (!advantages.defined() || advantages.dim() != 1) {
    std::ostringstream s;
    s << "expand_over_timesteps: advantages must be 1-D [N], got ";
    if (advantages.defined())
      s << advantages.sizes();
    else
      s << "an undefined tensor";
    throw std::invalid_argument(s.str());
  }
  if (num_timesteps < 1)
    throw std::invalid_argument("expand_over_timesteps: num_timesteps must be >= 1, got " +
                                std::to_string(num_timesteps));
  // train_sd3.py: rewards.unsqueeze(1).repeat(1, num_train_timesteps)
  return advantages.unsqueeze(1).repeat({1, num_timesteps});
}

torch::Tensor ungather_rank_major(const torch::Tensor& gathered, int64_t num_processes, int64_t rank) {
  if (!gathered.defined() || gathered.dim() < 1)
    throw std::invalid_argument("ungather_rank_major: gathered must have at least one dimension");
  if (num_processes < 1)
    throw std::invalid_argument("ungather_rank_major: num_processes must be >= 1, got " +
                                std::to_string(num_processes));
  if (rank < 0 || rank >= num_processes)
    throw std::invalid_argument("ungather_rank_major: rank " + std::to_string(rank) + " is outside [0, " +
                                std::to_string(num_processes) + ")");
  const int64_t rows = gathered.size(0);
  if (rows % num_processes != 0)
    throw std::invalid_argument("ungather_rank_major: " + std::to_string(rows) +
                                " gathered rows are not divisible by " + std::to_string(num_processes) +
                                " processes");
  // train_sd3.py: advantages.reshape(num_processes, -1, T)[process_index]; rank-major rows.
  const int64_t per_rank = rows / num_processes;
  return gathered.narrow(0, rank * per_rank, per_rank);
}

}  // namespace flowgrpo::rl
