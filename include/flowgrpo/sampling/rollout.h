#pragma once
/// @file rollout.h
/// Sampling a batch of trajectories with the Flow-SDE (training rollouts) or the
/// Euler ODE (evaluation), and re-scoring stored transitions under current weights
/// (the training side). Both sides go through the same code path —
/// guided_velocity + flow_step — so that with unchanged weights and the same batch
/// composition the recomputed log-probabilities equal the stored ones exactly
/// (flow_grpo.md pitfall 7).

#include "flowgrpo/sampling/flow_step.h"
#include "flowgrpo/sampling/sample_noise.h"
#include "flowgrpo/sampling/schedule.h"
#include "flowgrpo/sampling/sde_window.h"
#include "flowgrpo/sampling/velocity_model.h"

#include <functional>
#include <optional>
#include <vector>

namespace flowgrpo::sampling {

struct RolloutOptions {
  double guidance_scale = 4.5;
  double noise_level = 0.7;
  SdeType sde_type = SdeType::kSde;
  /// SDE steps; steps outside run the ODE (noise level 0). Defaults to the full schedule.
  std::optional<SdeWindow> window;
};

/// A sampled batch. T = number of SDE steps (window size, or N for the full sampler).
struct Rollout {
  torch::Tensor latents;        ///< [B,T,...] float32: x before each SDE step
  torch::Tensor next_latents;   ///< [B,T,...] float32: x after it
  torch::Tensor log_probs;      ///< [B,T] float32: log p(next | latents) at sampling time
  torch::Tensor timesteps;      ///< [B,T] float32 scheduler timesteps (1000·σ)
  torch::Tensor step_indices;   ///< [B,T] int64 indices into schedule.sigmas
  torch::Tensor final_latents;  ///< [B,...] float32: x at σ = 0 (decode this)
  Schedule schedule;
  SdeWindow window;

  int64_t batch_size() const { return final_latents.size(0); }
  int64_t num_sde_steps() const { return window.size; }
};

/// Called after every denoising step (step index, number of steps), e.g. for a progress bar.
using StepCallback = std::function<void(int64_t, int64_t)>;

/// Runs the SDE sampler. The model runs under the caller's grad mode (use
/// torch::NoGradGuard for rollouts; never InferenceMode, whose tensors cannot be
/// used in backward later). `sample_shape` is the latent shape without batch
/// ([C,H,W]); the batch size is noise.batch_size(). Latents stay float32 between
/// steps. Throws std::invalid_argument on inconsistent inputs.
Rollout sample_rollout(VelocityModel& model, const Conditioning& positive, const Conditioning& negative,
                       const Schedule& schedule, const RolloutOptions& options, const NoiseSource& noise,
                       c10::IntArrayRef sample_shape, const torch::Device& device,
                       const StepCallback& on_step = {});

/// Deterministic Euler sampling (evaluation at the full step count): returns x at σ = 0.
torch::Tensor sample_ode(VelocityModel& model, const Conditioning& positive, const Conditioning& negative,
                         const Schedule& schedule, double guidance_scale, const NoiseSource& noise,
                         c10::IntArrayRef sample_shape, const torch::Device& device,
                         const StepCallback& on_step = {});

/// Re-scores stored transitions latents → next_latents at per-sample schedule
/// indices under the model's current weights (the training-side log-prob of
/// flow_grpo's compute_log_prob). Differentiable when grad mode is on.
StepOutput score_transition(VelocityModel& model, const torch::Tensor& latents,
                            const torch::Tensor& next_latents, const torch::Tensor& step_indices,
                            const Schedule& schedule, const Conditioning& positive,
                            const Conditioning& negative, double guidance_scale, double noise_level,
                            SdeType sde_type);

}  // namespace flowgrpo::sampling
