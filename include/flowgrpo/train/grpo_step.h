#pragma once
/// @file grpo_step.h
/// The GRPO update of one micro-batch at one trained timestep (flow_grpo
/// train_sd3.py, inner loop): recompute the transition's log-probability under
/// the current weights with the same CFG as sampling, run the adapter-disabled
/// reference for the KL term when β > 0, and backpropagate the clipped-ratio
/// loss scaled for gradient accumulation. Shared by GrpoTrainer and the
/// `flowgrpo-tool bench --what train` measurement.

#include "flowgrpo/rl/grpo_loss.h"
#include "flowgrpo/rl/metrics.h"
#include "flowgrpo/sampling/rollout.h"

#include <torch/torch.h>

namespace flowgrpo::train {

struct GrpoStepInputs {
  torch::Tensor latents;       ///< [B,...] x before the step
  torch::Tensor next_latents;  ///< [B,...] x after it (as sampled)
  torch::Tensor step_indices;  ///< [B] int64
  torch::Tensor old_log_prob;  ///< [B] at sampling time
  torch::Tensor advantages;    ///< [B] clipped
  sampling::Conditioning positive;
  sampling::Conditioning negative;
};

struct GrpoStepOptions {
  double guidance_scale = 4.5;  ///< CFG in the training forward (1 = off)
  double noise_level = 0.7;
  sampling::SdeType sde_type = sampling::SdeType::kSde;
  rl::GrpoLossOptions loss;
  double loss_scale = 1.0;  ///< 1 / (gradient accumulation steps × trained timesteps)
};

/// Runs forward, reference forward (β > 0) and backward; records the loss
/// metrics into `metrics`, each weighted by the micro-batch's image count. `transformer` is the module whose
/// adapters are disabled for the reference.
void grpo_step(sampling::VelocityModel& model, torch::nn::Module& transformer,
               const sampling::Schedule& schedule, const GrpoStepInputs& in, const GrpoStepOptions& options,
               rl::MetricAccumulator& metrics);

}  // namespace flowgrpo::train
