#pragma once
/// @file zero_advantage_filter.h
/// Drops the samples that carry no learning signal (advantage 0 at every trained
/// timestep) and pads the kept set back to a multiple of the number of micro-batches.
///
/// Source: scripts/train_sd3.py ("Get the mask for samples where all advantages are zero
/// across the time dimension" ...) and, for the empty case, scripts/train_sd3_fast.py ([B]),
/// which pads an empty set to num_batches_per_epoch samples. Policy in docs/grpo.md.

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace flowgrpo::rl {

/// What to do when no valid sample has a non-zero advantage.
enum class EmptyEpochPolicy {
  /// Pad with num_batches_per_epoch randomly chosen valid zero-advantage samples, as
  /// train_sd3_fast.py does: every micro-batch then holds one sample whose policy gradient is 0
  /// (the KL term still acts). Keeps DDP ranks in lock-step without an extra collective.
  kKeepNumBatches,
  /// Keep nothing and report nothing_to_train. In a distributed run the caller must agree
  /// across ranks (all-reduce) before skipping, otherwise the ranks that train hang in
  /// their gradient all-reduce.
  kSkip,
};

/// "keep_num_batches" / "skip".
std::string to_string(EmptyEpochPolicy policy);
/// Inverse of to_string; throws std::invalid_argument listing the valid names.
EmptyEpochPolicy parse_empty_epoch_policy(const std::string& name);

struct ZeroAdvantageFilterOptions {
  int64_t num_batches_per_epoch = 1;  ///< The kept count is made divisible by this (>= 1).
  uint64_t seed = 0;  ///< Seeds the choice of padding/trimmed samples; derive it from (seed, epoch, rank).
  EmptyEpochPolicy empty_policy = EmptyEpochPolicy::kKeepNumBatches;
};

struct ZeroAdvantageFilterResult {
  /// Indices (int64, ascending, CPU) of the samples to train on; their count is a multiple of
  /// num_batches_per_epoch (possibly 0, then nothing_to_train is true).
  torch::Tensor kept_indices;
  int64_t num_samples = 0;  ///< N.
  int64_t num_invalid = 0;  ///< Samples excluded by the validity mask (never kept).
  int64_t num_nonzero = 0;  ///< Valid samples with a non-zero advantage at some timestep.
  int64_t num_padded = 0;   ///< Valid zero-advantage samples added back to reach divisibility.
  int64_t num_trimmed = 0;  ///< Non-zero samples dropped because too few could be added back.
  bool nothing_to_train = false;
  /// Samples per micro-batch (`actual_batch_size` in the reference logs).
  int64_t actual_batch_size = 0;
};

/// Selects the samples to train on.
///
/// 1. Keep every valid sample whose advantage is non-zero at some timestep
///    (train_sd3.py: `advantages.abs().sum(dim=1) != 0`).
/// 2. If the count c is not a multiple of B = num_batches_per_epoch, add back
///    B − c mod B samples chosen uniformly at random among the valid zero-advantage samples.
///    Invalid samples are never added back. If too few exist (only possible with invalid
///    samples), instead drop c mod B randomly chosen kept samples (the reference would crash
///    in its reshape there).
/// 3. If c = 0, apply options.empty_policy; with kKeepNumBatches and fewer than B valid
///    samples, nothing_to_train.
/// The random choices use a std::mt19937_64 seeded with options.seed and an unbiased bounded
/// draw, so they are identical across platforms and LibTorch versions.
///
/// @param advantages [N] or [N, T], any floating dtype and device.
/// @param valid      optional [N] bool validity mask; undefined means all valid.
/// @throws std::invalid_argument for bad shapes/dtypes, a non-finite advantage of a valid
///         sample, or num_batches_per_epoch < 1.
ZeroAdvantageFilterResult filter_zero_advantages(const torch::Tensor& advantages, const torch::Tensor& valid,
                                                 const ZeroAdvantageFilterOptions& options);

}  // namespace flowgrpo::rl
