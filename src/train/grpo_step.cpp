#include "flowgrpo/train/grpo_step.h"

#include "flowgrpo/models/lora.h"

namespace flowgrpo::train {

void grpo_step(sampling::VelocityModel& model, torch::nn::Module& transformer,
               const sampling::Schedule& schedule, const GrpoStepInputs& in, const GrpoStepOptions& o,
               rl::MetricAccumulator& metrics) {
  const auto out =
      sampling::score_transition(model, in.latents, in.next_latents, in.step_indices, schedule, in.positive,
                                 in.negative, o.guidance_scale, o.noise_level, o.sde_type);
  rl::GrpoLossInputs loss_in;
  loss_in.log_prob = out.log_prob;
  loss_in.old_log_prob = in.old_log_prob;
  loss_in.advantages = in.advantages;
  if (o.loss.beta > 0) {
    // The reference policy: the same forward (same CFG) with the adapters off.
    torch::NoGradGuard no_grad;
    models::AdapterDisabledScope reference(transformer);
    const auto ref =
        sampling::score_transition(model, in.latents, in.next_latents, in.step_indices, schedule, in.positive,
                                   in.negative, o.guidance_scale, o.noise_level, o.sde_type);
    loss_in.prev_sample_mean = out.prev_sample_mean;
    loss_in.ref_prev_sample_mean = ref.prev_sample_mean;
    loss_in.std_dev_t = out.std_dev_t;
  }
  const auto loss = rl::grpo_loss(loss_in, o.loss);
  (loss.loss * o.loss_scale).backward();
  // Per-image means: a micro-batch's values count once per image it holds.
  rl::record_grpo_metrics(loss, metrics, in.latents.size(0));
}

}  // namespace flowgrpo::train
