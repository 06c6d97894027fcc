#pragma once
/// @file stat_tracker.h
/// GRPO group-relative advantages: the per-prompt reward statistics of one
/// epoch and the normalised advantages derived from them.
///
/// Source: flow_grpo/stat_tracking.py::PerPromptStatTracker (type 'grpo') and
/// scripts/train_sd3.py (calculate_zero_std_ratio, the `per_prompt_stat_tracking`
/// switch). Formulas in docs/grpo.md.

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <set>
#include <vector>

namespace flowgrpo::rl {

/// The constant added to the standard deviation before dividing
/// (stat_tracking.py: `std = np.std(...) + 1e-4`).
inline constexpr double kAdvantageStdEpsilon = 1e-4;

/// How advantages are normalised.
struct StatTrackerOptions {
  /// true: A = (r − mean of r's prompt group) / (std + 1e-4) (GRPO, [P] eq. 4).
  /// false: A = (r − mean of all rewards) / (population std of all rewards + 1e-4):
  /// the reference's path when `per_prompt_stat_tracking` is off, which train_sd3.py
  /// forces when `num_image_per_prompt == 1` (a group of one always has A = 0).
  bool per_prompt = true;
  /// Only with per_prompt: divide by the population std of *all* valid rewards passed to
  /// this update() (the whole epoch gathered across ranks) instead of the group's std.
  /// The Python class defaults to false; every SD3 config sets `sample.global_std = True`.
  bool global_std = false;
};

/// Statistics of the current epoch (everything since the last clear()) for logging.
/// Only valid samples count. A "group" is a prompt index with at least one valid sample.
struct StatTrackerStats {
  int64_t num_samples = 0;     ///< Samples passed to update() this epoch, valid or not.
  int64_t num_invalid = 0;     ///< Of those, samples excluded by the validity mask.
  int64_t num_prompts = 0;     ///< Groups this epoch.
  double mean_group_size = 0;  ///< Mean valid samples per group (logged as `group_size`); 0 without groups.
  int64_t min_group_size = 0;  ///< Smallest group (0 without groups); < k flags incomplete groups.
  int64_t max_group_size = 0;  ///< Largest group (0 without groups).
  /// Fraction of groups whose rewards are all equal, i.e. whose population std is exactly 0
  /// (train_sd3.py::calculate_zero_std_ratio: count(std == 0) / number of unique prompts);
  /// 0 without groups.
  double zero_std_ratio = 0;
  /// Mean over groups of the group's population std (regardless of `global_std`); 0 without groups.
  double reward_std_mean = 0;
  /// Distinct prompt indices seen since construction or reset_history(); clear() keeps them.
  /// Mirrors `trained_prompt_num` (stat_tracking.py keeps `history_prompts` across clear()).
  int64_t trained_prompt_num = 0;
};

/// Groups rewards by prompt index and turns them into advantages.
///
/// Semantics (see docs/grpo.md for the derivation from the reference):
///  - Groups are keyed by the integer prompt index (dataset index), never by text.
///  - Within an epoch the rewards of a prompt accumulate across update() calls; the
///    group mean (and the group std without `global_std`) is over everything accumulated
///    for that prompt, the global std over the valid rewards of the current call only —
///    as stat_tracking.py does. The usual use is one update() per epoch followed by clear().
///  - Population std (ddof = 0), +1e-4, computed in float64.
///  - A group whose accumulated rewards are all equal gets A = 0 exactly (the reference's
///    floating-point mean can leave ±1e-17 residues there; see docs/grpo.md).
///  - Invalid samples (valid[i] == false: the reward failed) enter no statistic, get A = 0
///    and are not counted as prompts; a failed reward never becomes a score.
/// Not thread-safe.
class PerPromptStatTracker {
 public:
  explicit PerPromptStatTracker(StatTrackerOptions options = {});

  /// Adds one batch of rewards (normally the whole epoch, gathered across ranks) and returns
  /// the advantages.
  /// @param rewards        [N], float32 or float64, any device.
  /// @param prompt_indices [N], int32 or int64: the prompt (group) each sample belongs to.
  /// @param valid          optional [N] bool; undefined means all valid. Values of invalid
  ///                       rewards are ignored (NaN is fine there).
  /// @return [N] float64 advantages on the device of `rewards`; 0 for invalid samples.
  /// @throws std::invalid_argument on wrong ranks, sizes or dtypes, or a valid reward that is
  ///         not finite (it must be marked invalid instead).
  torch::Tensor update(const torch::Tensor& rewards, const torch::Tensor& prompt_indices,
                       const torch::Tensor& valid = {});

  /// Statistics of the current epoch.
  StatTrackerStats stats() const;

  /// Starts a new epoch: forgets the per-prompt rewards and the sample counts, keeps the
  /// history of seen prompts (stat_tracking.py::clear).
  void clear();

  /// Forgets the history of seen prompts as well.
  void reset_history();

  /// Prompt indices seen since construction or reset_history() (for checkpointing).
  const std::set<int64_t>& history() const { return history_; }
  /// Restores the history, e.g. when resuming from a checkpoint.
  void set_history(std::set<int64_t> history) { history_ = std::move(history); }

  const StatTrackerOptions& options() const { return options_; }

 private:
  StatTrackerOptions options_;
  std::map<int64_t, std::vector<double>> groups_;  // valid rewards per prompt, this epoch
  std::set<int64_t> history_;
  int64_t num_samples_ = 0;
  int64_t num_invalid_ = 0;
};

}  // namespace flowgrpo::rl
