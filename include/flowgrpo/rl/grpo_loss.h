#pragma once
/// @file grpo_loss.h
/// The Flow-GRPO objective for one micro-batch at one trained timestep: the PPO-style
/// clipped-ratio policy loss plus β times the KL to the reference policy.
///
/// Source: scripts/train_sd3.py, training loop ("grpo logic"); [P] eq. 5–7 and B.3.
///   ratio = exp(logp − logp_old)
///   L_pg  = mean_B max(−A·ratio, −A·clamp(ratio, 1−ε, 1+ε))
///   L_kl  = mean_B[ mean_{non-batch}(μθ − μref)² / (2·std_dev_t²) ]     (only if β > 0;
///           no Δt, flow_grpo issue #78)
///   L     = L_pg + β·L_kl
///
/// The loss is agnostic to how the log-probabilities were computed: the same function
/// serves the Flow-SDE log-prob and the CPS log-prob (sde_type 'cps', which has no
/// variance scaling and is paired with ε = 1e-5), and Wan's KL variant is obtained by
/// passing std_dev_t·√−dt as std_dev_t.

#include <torch/torch.h>

#include <string>
#include <vector>

namespace flowgrpo::rl {

class MetricAccumulator;

struct GrpoLossOptions {
  double clip_range = 1e-4;  ///< ε (`train.clip_range`); must be finite and > 0.
  double beta = 0.0;         ///< KL weight (`train.beta`); must be finite and >= 0. 0 disables the KL.
};

/// One micro-batch at one timestep. B = batch size.
struct GrpoLossInputs {
  torch::Tensor log_prob;      ///< [B], current policy, differentiable.
  torch::Tensor old_log_prob;  ///< [B], stored at sampling (treated as a constant).
  torch::Tensor advantages;    ///< [B], already clipped to ±adv_clip_max (treated as a constant).
  /// The rest is needed only when beta > 0.
  torch::Tensor prev_sample_mean;      ///< [B, ...] μθ of the current policy, differentiable.
  torch::Tensor ref_prev_sample_mean;  ///< [B, ...] μref, adapter disabled, no grad (detached here).
  torch::Tensor std_dev_t;             ///< B elements ([B] or [B,1,1,1]) or a single element.
};

/// Detached diagnostics (0-dim float32 tensors on the inputs' device; no host sync).
struct GrpoLossMetrics {
  torch::Tensor approx_kl;        ///< ½·mean((logp − logp_old)²)
  torch::Tensor clipfrac;         ///< mean(|ratio − 1| > ε)
  torch::Tensor clipfrac_gt_one;  ///< mean(ratio − 1 > ε)
  torch::Tensor clipfrac_lt_one;  ///< mean(1 − ratio > ε)
};

struct GrpoLossOutput {
  torch::Tensor loss;  ///< 0-dim, differentiable: policy_loss + β·kl_loss (or policy_loss if β = 0).
  torch::Tensor policy_loss;  ///< 0-dim, differentiable.
  torch::Tensor kl_loss;      ///< 0-dim, differentiable when β > 0; undefined when β = 0 (not computed).
  torch::Tensor ratio;        ///< [B], differentiable.
  GrpoLossMetrics metrics;
};

/// Computes the loss. dtypes follow LibTorch promotion (float32 log-probs with the
/// float64 advantages of the stat tracker give a float64 policy loss, as in the reference).
/// Gradient semantics are those of torch.maximum/clamp: where the clipped term wins the max
/// (A > 0 and ratio > 1+ε, or A < 0 and ratio < 1−ε) the gradient w.r.t. log_prob is 0; inside
/// the clip range the two terms tie and the gradient is −A·ratio/B.
/// @throws std::invalid_argument for invalid options, and when beta > 0 but a KL input is
///         missing.
/// @throws c10::Error (TORCH_CHECK) for inconsistent shapes.
GrpoLossOutput grpo_loss(const GrpoLossInputs& inputs, const GrpoLossOptions& options);

/// Records one call's results under the reference's names: `loss`, `policy_loss`,
/// `kl_loss` (only if defined), `approx_kl`, `clipfrac`, `clipfrac_gt_one`, `clipfrac_lt_one`.
/// Each is counted `weight` times (the micro-batch's image count, for per-image means).
/// Detaches; does not synchronise.
void record_grpo_metrics(const GrpoLossOutput& output, MetricAccumulator& metrics, int64_t weight = 1);
/// The names record_grpo_metrics writes, in a fixed order (kl_loss only with β > 0):
/// what every rank reduces, whether or not it held samples in an optimizer step.
std::vector<std::string> grpo_metric_names(bool with_kl);

}  // namespace flowgrpo::rl
