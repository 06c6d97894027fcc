#pragma once
/// @file advantages.h
/// Shaping the per-sample advantages for training: clipping, repetition over the
/// trained timesteps, and taking this rank's share of the gathered epoch.
///
/// Source: scripts/train_sd3.py (the `unsqueeze(1).repeat(1, num_train_timesteps)` of the
/// rewards, `advantages.reshape(num_processes, -1, T)[process_index]`, and the
/// `torch.clamp(advantages[:, j], -adv_clip_max, adv_clip_max)` in the training loop).

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::rl {

/// clamp(advantages, −adv_clip_max, +adv_clip_max), elementwise, any shape and dtype.
/// The reference clips per timestep inside the loss; clipping first is equivalent.
/// @throws std::invalid_argument if adv_clip_max is not a finite positive number or the
///         tensor is undefined.
torch::Tensor clip_advantages(const torch::Tensor& advantages, double adv_clip_max);

/// Repeats per-sample advantages [N] over T trained timesteps: [N, T] (contiguous copy),
/// A[i, j] = A[i]. Timestep-dependent advantages (e.g. a KL reward) can later replace it.
/// @throws std::invalid_argument unless advantages is 1-D and num_timesteps >= 1.
torch::Tensor expand_over_timesteps(const torch::Tensor& advantages, int64_t num_timesteps);

/// This rank's rows of a tensor gathered rank-major over `num_processes` ranks
/// (all_gather concatenates rank 0's rows, then rank 1's, ...): for gathered [W·n, ...]
/// returns gathered.reshape(W, n, ...)[rank], i.e. rows [rank·n, (rank+1)·n), as a view.
/// Works for advantages [W·n, T], [W·n] and validity masks alike.
/// @throws std::invalid_argument if gathered is undefined or 0-D, num_processes < 1,
///         rank outside [0, num_processes), or the row count is not divisible by num_processes.
torch::Tensor ungather_rank_major(const torch::Tensor& gathered, int64_t num_processes, int64_t rank);

}  // namespace flowgrpo::rl
