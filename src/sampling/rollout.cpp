#include "flowgrpo/sampling/rollout.h"

#include <stdexcept>
#include <string>

namespace flowgrpo::sampling {

namespace {

void check_schedule(const Schedule& schedule) {
  if (!schedule.sigmas.defined() || !schedule.timesteps.defined() ||
      schedule.sigmas.size(0) != schedule.timesteps.size(0) + 1)
    throw std::invalid_argument("rollout: schedule must have N timesteps and N+1 sigmas");
}

}  // namespace

Rollout sample_rollout(VelocityModel& model, const Conditioning& positive, const Conditioning& negative,
                       const Schedule& schedule, const RolloutOptions& options, const NoiseSource& noise,
                       c10::IntArrayRef sample_shape, const torch::Device& device,
                       const StepCallback& on_step) {
  check_schedule(schedule);
  const int64_t n = schedule.num_steps();
  const int64_t batch = noise.batch_size();
  const SdeWindow window = options.window.value_or(SdeWindow::full(n));
  if (window.start < 0 || window.size < 1 || window.end() > n)
    throw std::invalid_argument("rollout: SDE window " + window.to_string() + " outside the " +
                                std::to_string(n) + "-step schedule");
  const auto sigmas = schedule.sigmas.to(device);
  const auto timesteps = schedule.timesteps.to(device);
  const double sigma_max = schedule.sigma_max();

  auto x = noise.initial_latents(sample_shape, device);
  std::vector<torch::Tensor> latents, next_latents, log_probs;
  for (int64_t i = 0; i < n; ++i) {
    const auto t = timesteps[i].expand({batch});
    const auto v = guided_velocity(model, x, t, positive, negative, options.guidance_scale);
    const bool sde = window.contains(i);
    // Outside the window the step is the same formula at noise level 0, i.e. the Euler
    // mean, as flow_grpo's fast pipeline does; no log-prob is kept for it.
    const auto eps = sde ? noise.step_noise(i, sample_shape, device) : torch::zeros_like(x);
    const auto out = flow_step(options.sde_type, v, x, sigmas[i], sigmas[i + 1], sigma_max,
                               sde ? options.noise_level : 0.0, eps);
    const auto next = sde ? out.prev_sample : out.prev_sample_mean;
    if (sde) {
      latents.push_back(x);
      next_latents.push_back(next);
      log_probs.push_back(out.log_prob);
    }
    x = next;
    if (on_step) on_step(i, n);
  }

  Rollout r;
  r.latents = torch::stack(latents, 1);
  r.next_latents = torch::stack(next_latents, 1);
  r.log_probs = torch::stack(log_probs, 1);
  const auto idx = torch::arange(window.start, window.end(), torch::TensorOptions().dtype(torch::kLong));
  r.step_indices = idx.unsqueeze(0).expand({batch, window.size}).contiguous().to(device);
  r.timesteps = timesteps.index_select(0, r.step_indices.flatten()).view({batch, window.size});
  r.final_latents = x;
  r.schedule = schedule;
  r.window = window;
  return r;
}

torch::Tensor sample_ode(VelocityModel& model, const Conditioning& positive, const Conditioning& negative,
                         const Schedule& schedule, double guidance_scale, const NoiseSource& noise,
                         c10::IntArrayRef sample_shape, const torch::Device& device,
                         const StepCallback& on_step) {
  check_schedule(schedule);
  const int64_t n = schedule.num_steps();
  const int64_t batch = noise.batch_size();
  const auto sigmas = schedule.sigmas.to(device);
  const auto timesteps = schedule.timesteps.to(device);
  auto x = noise.initial_latents(sample_shape, device);
  for (int64_t i = 0; i < n; ++i) {
    const auto v =
        guided_velocity(model, x, timesteps[i].expand({batch}), positive, negative, guidance_scale);
    x = euler_step(v, x, sigmas[i], sigmas[i + 1]).to(torch::kFloat);
    if (on_step) on_step(i, n);
  }
  return x;
}

StepOutput score_transition(VelocityModel& model, const torch::Tensor& latents,
                            const torch::Tensor& next_latents, const torch::Tensor& step_indices,
                            const Schedule& schedule, const Conditioning& positive,
                            const Conditioning& negative, double guidance_scale, double noise_level,
                            SdeType sde_type) {
  check_schedule(schedule);
  if (step_indices.dim() != 1 || step_indices.size(0) != latents.size(0))
    throw std::invalid_argument("score_transition: step_indices must be [B] with B = " +
                                std::to_string(latents.size(0)));
  const auto device = latents.device();
  const auto idx = step_indices.to(device, torch::kLong);
  const int64_t n = schedule.num_steps();
  if (idx.numel() > 0 && (idx.min().item<int64_t>() < 0 || idx.max().item<int64_t>() >= n))
    throw std::invalid_argument("score_transition: step index outside the " + std::to_string(n) +
                                "-step schedule");
  const auto sigmas = schedule.sigmas.to(device);
  const auto t = schedule.timesteps.to(device).index_select(0, idx);
  const auto v = guided_velocity(model, latents, t, positive, negative, guidance_scale);
  return flow_step(sde_type, v, latents, sigmas.index_select(0, idx), sigmas.index_select(0, idx + 1),
                   schedule.sigma_max(), noise_level, /*noise=*/{}, next_latents);
}

}  // namespace flowgrpo::sampling
