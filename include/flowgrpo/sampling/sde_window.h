#pragma once
/// @file sde_window.h
/// Which denoising steps of a rollout are stochastic (and trained).
///
/// Flow-GRPO samples every step with the SDE and trains the first
/// int(N·timestep_fraction) of them (flow_grpo.md §1.2: the last, near-deterministic
/// step is never trained). Flow-GRPO-Fast / MixGRPO run the ODE everywhere except a
/// window of `size` consecutive SDE steps whose start is drawn uniformly from
/// [range_begin, range_end − size] for every rollout batch, and train exactly those
/// steps (§1.4).

#include <cstdint>
#include <random>
#include <string>

namespace flowgrpo::sampling {

struct SdeWindow {
  int64_t start = 0;
  int64_t size = 0;  ///< Number of SDE steps; the window is [start, start + size).

  int64_t end() const { return start + size; }
  bool contains(int64_t step) const { return step >= start && step < end(); }
  /// Every step of an N-step schedule (the plain Flow-GRPO sampler).
  static SdeWindow full(int64_t num_steps) { return {0, num_steps}; }
  std::string to_string() const;
};

/// Draws a window of `size` steps with start uniform in [range_begin, range_end − size]
/// (both ends inclusive, like Python's random.randint). size == 0 returns the full
/// window of `num_steps`. Throws std::invalid_argument when the window cannot fit.
SdeWindow draw_sde_window(int64_t num_steps, int64_t size, int64_t range_begin, int64_t range_end,
                          std::mt19937_64& rng);

/// How many of the stored SDE steps are trained: int(num_steps · timestep_fraction)
/// for the full window (the reference's num_train_timesteps), the window size otherwise.
int64_t num_train_timesteps(const SdeWindow& window, int64_t num_steps, double timestep_fraction);

}  // namespace flowgrpo::sampling
