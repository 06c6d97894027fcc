#pragma once
/// @file schedule.h
/// Flow-matching noise schedules, reproducing diffusers v0.33.1
/// `FlowMatchEulerDiscreteScheduler` bit for bit (schedulers/scheduling_flow_match_euler_discrete.py).
///
/// Convention (flow_grpo.md §1.1): x_σ = (1 − σ)·x0 + σ·ε, σ runs from 1 to 0,
/// the model predicts v ≈ ε − x0, and the transformer receives the scheduler
/// timestep t = 1000·σ (float32). A schedule of N steps has N+1 sigmas (terminal 0)
/// and N timesteps.

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

namespace flowgrpo::sampling {

/// The fields of diffusers' `scheduler/scheduler_config.json` that change the
/// schedule. Defaults are SD3.5-Medium's (shift 3, no dynamic shifting).
struct FlowMatchSchedulerConfig {
  int num_train_timesteps = 1000;
  double shift = 3.0;
  bool use_dynamic_shifting = false;
  double base_shift = 0.5;
  double max_shift = 1.15;
  int base_image_seq_len = 256;
  int max_image_seq_len = 4096;

  /// FLUX.1-dev's scheduler: dynamic shifting between base/max shift.
  static FlowMatchSchedulerConfig flux();

  /// Reads a diffusers `scheduler_config.json`. Options that flowgrpo does not
  /// implement (karras/exponential/beta sigmas, invert_sigmas, shift_terminal)
  /// are rejected when set; unknown keys are ignored as diffusers does.
  /// Throws std::invalid_argument naming the file and key.
  static FlowMatchSchedulerConfig from_json_file(const std::filesystem::path& path);

  /// Finds the scheduler config of a model directory: `DIR/scheduler/scheduler_config.json`,
  /// `DIR/scheduler_config.json`, or `DIR/../scheduler/scheduler_config.json` (DIR is a
  /// pipeline's transformer/ folder). Throws std::invalid_argument listing where it looked.
  static FlowMatchSchedulerConfig from_model_dir(const std::filesystem::path& dir);
};

/// A discretised schedule: what `set_timesteps` leaves in the scheduler.
struct Schedule {
  torch::Tensor sigmas;     ///< [N+1] float32, decreasing, sigmas[N] == 0.
  torch::Tensor timesteps;  ///< [N] float32, = float32(sigmas[:N]) * 1000 in float32.

  int64_t num_steps() const { return timesteps.size(0); }
  /// sigmas[1], which flow_grpo's SDE step uses instead of σ = 1 (its `sigma_max`).
  double sigma_max() const;
  /// The sigmas as doubles (exact float32 values).
  std::vector<double> sigma_values() const;
  std::vector<double> timestep_values() const;
};

/// SD3 / SD3.5 schedule (no dynamic shift): the shift is applied twice, once to the
/// 1000-step training table that provides sigma_max / sigma_min, and again to the
/// float64 linspace between them; cast to float32 last (flow_grpo.md §1.1, pitfall 2).
/// Throws std::invalid_argument if num_steps < 1 or the config uses dynamic shifting.
Schedule sd3_schedule(int num_steps, const FlowMatchSchedulerConfig& config = {});

/// μ for FLUX's dynamic shift: linear in the image token count between
/// (base_image_seq_len, base_shift) and (max_image_seq_len, max_shift).
double calculate_shift(int64_t image_seq_len, const FlowMatchSchedulerConfig& config);

/// FLUX schedule as the FLUX pipeline requests it: sigmas = linspace(1, 1/N, N) in
/// float64, cast to float32, then the exponential time shift exp(μ)/(exp(μ) + 1/σ − 1)
/// evaluated in float32, with μ = calculate_shift(image_seq_len).
Schedule flux_schedule(int num_steps, int64_t image_seq_len,
                       const FlowMatchSchedulerConfig& config = FlowMatchSchedulerConfig::flux());

/// Whichever of the two the config calls for (dynamic shifting -> FLUX rule).
Schedule make_schedule(int num_steps, const FlowMatchSchedulerConfig& config, int64_t image_seq_len = 0);

}  // namespace flowgrpo::sampling
