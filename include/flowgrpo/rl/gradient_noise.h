#pragma once
/// @file gradient_noise.h
/// The gradient noise scale B = tr(Σ) / |G|² (McCandlish et al., "An Empirical Model of
/// Large-Batch Training", 2018): the batch size (in images) at which the noise of a
/// gradient estimate equals its signal. With far fewer images per optimizer step than
/// B, each step is mostly noise and progress per image stops improving with the batch;
/// a policy gradient whose B is thousands of images needs thousands of images per step
/// (or as many in total at a small lr) before the reward can move.
///
/// Estimated from the micro-batches of one optimizer step, which see the same weights:
/// with micro-batch gradients g_1..g_m (each the mean over n images),
///   |G|² ≈ (|Σ g_k|² − Σ |g_k|²) / (m (m − 1))   (the mean pairwise dot product, unbiased)
///   tr Σ ≈ n · (mean_k |g_k|² − |G|²)
/// Single-step estimates are noisy and |G|² can come out negative; average both over
/// many steps and take the ratio of the averages.
///
/// "Independent" is the catch for GRPO: the images of a group (same prompt, and with
/// `same_latent` the same initial noise) have correlated gradients, so two micro-batches
/// that share groups are not independent and |G|² comes out biased high (B low). The
/// trainer's `train.group_micro_batches` makes every micro-batch hold whole groups; then
/// the estimate is unbiased and counts the within-group correlation as noise, as it is
/// for a trainer that pays for whole groups (docs/grpo.md).

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace flowgrpo::rl {

struct GradientNoiseEstimate {
  double grad_sq = 0;  ///< unbiased estimate of |G|², the squared norm of the expected gradient
  double trace = 0;    ///< estimate of tr Σ, the per-image gradient variance summed over parameters
};

/// Watches the gradients that micro-batches accumulate into `.grad` between two
/// optimizer steps. Keeps one float32 copy of the trainable gradients.
class GradientNoiseEstimator {
 public:
  /// `micro_batch_weight`: the factor each micro-batch's mean gradient carries in the
  /// accumulated `.grad` (1 / gradient-accumulation steps when the loss is scaled so
  /// that the accumulated gradient is a mean); the estimates are in unscaled units.
  explicit GradientNoiseEstimator(double micro_batch_weight = 1.0);

  /// Call after a micro-batch of `batch_size` images has been accumulated into the
  /// `.grad` of `parameters` (the same list every time).
  /// @throws std::invalid_argument on a non-positive batch size or a changed parameter list.
  void end_micro_batch(const std::vector<torch::Tensor>& parameters, int64_t batch_size);
  /// The same for a micro-batch whose mean gradient carries `weight` in `.grad` instead
  /// of the constructor's (micro-batches of unequal sizes, each weighted by its size).
  /// @throws std::invalid_argument also on a weight that is not finite and > 0.
  void end_micro_batch(const std::vector<torch::Tensor>& parameters, int64_t batch_size, double weight);

  /// Adds a micro-batch's mean gradient directly (flat, unscaled), for callers that
  /// split `.grad` themselves (the per-timestep estimates of the trainer).
  /// @throws std::invalid_argument on a non-positive batch size or a changed length.
  void add_micro_batch(const torch::Tensor& gradient, int64_t batch_size);

  /// Call at the optimizer step, after the step's last end_micro_batch. Returns the
  /// step's estimate when it had at least two micro-batches (of any sizes:
  /// tr Σ ≈ mean_k n_k (|g_k|² − |G|²)), and starts the next step.
  std::optional<GradientNoiseEstimate> end_step();

  /// Number of micro-batches seen since the last end_step.
  int64_t micro_batches() const { return static_cast<int64_t>(squared_norms_.size()); }

 private:
  double weight_;
  torch::Tensor previous_;  // accumulated gradient at the end of the previous micro-batch
  torch::Tensor sum_;       // Σ_k g_k of this step, unscaled
  std::vector<double> squared_norms_;
  std::vector<int64_t> batch_sizes_;
};

/// The `.grad` of `parameters` as one float32 vector (zeros where a gradient is undefined).
torch::Tensor flat_gradient(const std::vector<torch::Tensor>& parameters);

/// B = trace / grad_sq of averaged estimates; nullopt when grad_sq ≤ 0 (the signal is
/// below the estimate's noise: B is larger than the data can tell).
std::optional<double> gradient_noise_scale(double mean_trace, double mean_grad_sq);

}  // namespace flowgrpo::rl
