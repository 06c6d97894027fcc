#pragma once
/// @file flow_step.h
/// One denoising step of the flow-matching sampler, in the three forms Flow-GRPO
/// uses (flow_grpo.md §1; flow_grpo/diffusers_patch/sd3_sde_with_logprob.py):
///  - the deterministic Euler ODE step (evaluation, and steps outside an SDE window);
///  - the Flow-SDE step with the same marginals as the ODE, returning the Gaussian
///    log-likelihood of the transition (the paper's sampler);
///  - the CPS step (coefficient-preserving sampling, Flow-GRPO-Fast recipes).
/// All SDE/CPS arithmetic is float32 whatever the model's dtype, as the reference.

#include <torch/torch.h>

#include <string>
#include <string_view>

namespace flowgrpo::sampling {

/// Which stochastic step replaces the ODE during rollouts.
enum class SdeType { kSde, kCps };
std::string to_string(SdeType type);
/// "sde" or "cps"; throws std::invalid_argument listing them.
SdeType parse_sde_type(std::string_view name);

/// What a stochastic step returns (the reference's 4-tuple).
struct StepOutput {
  torch::Tensor prev_sample;       ///< x' [B,...] float32 (drawn, or the given one)
  torch::Tensor log_prob;          ///< [B] float32: mean over non-batch dims of the log density
  torch::Tensor prev_sample_mean;  ///< μ [B,...] float32 (differentiable w.r.t. model_output)
  torch::Tensor std_dev_t;         ///< [B,1,...,1] float32; for kSde excludes sqrt(-dt)
};

/// Euler ODE step as diffusers' FlowMatchEulerDiscreteScheduler.step:
/// prev = sample.float() + (σ' − σ)·v, cast back to v's dtype.
/// `sigma`, `sigma_next`: per-sample [B] (or one element) float32.
torch::Tensor euler_step(const torch::Tensor& model_output, const torch::Tensor& sample,
                         const torch::Tensor& sigma, const torch::Tensor& sigma_next);

/// The Flow-SDE or CPS step.
///
/// Flow-SDE (flow_grpo.md §1.2, paper eq. 9), with a = noise_level and dt = σ' − σ < 0:
///   std = a·sqrt(σ / (1 − (σ == 1 ? σ_max : σ)))
///   μ   = x·(1 + std²/(2σ)·dt) + v·(1 + std²(1−σ)/(2σ))·dt
///   x'  = μ + std·sqrt(−dt)·ε
///   log p = mean_{non-batch}[ −(x'−μ)²/(2 std² (−dt)) − log(std·sqrt(−dt)) − log sqrt(2π) ]
/// CPS (§1.3): std = σ'·sin(aπ/2); μ = (1−σ')(x − σv) + sqrt(σ'² − std²)(x + (1−σ)v);
///   x' = μ + std·ε; log p = −mean_{non-batch}(x' − μ)².
///
/// @param model_output velocity v [B,...] (any float dtype; computed in float32)
/// @param sample       x [B,...]
/// @param sigma        σ per sample, [B] or one element (broadcast), float
/// @param sigma_next   σ' likewise
/// @param sigma_max    the schedule's sigmas[1], used in place of σ when σ == 1
/// @param noise_level  a; 0 gives the Euler mean with an undefined (NaN) log-prob
/// @param noise        standard-normal ε [B,...] to draw x' (used when prev_sample is undefined)
/// @param prev_sample  a given x' to score (then `noise` is ignored and may be undefined)
/// Throws std::invalid_argument on shape mismatches or when neither noise nor prev_sample is given.
StepOutput flow_step(SdeType type, const torch::Tensor& model_output, const torch::Tensor& sample,
                     const torch::Tensor& sigma, const torch::Tensor& sigma_next, double sigma_max,
                     double noise_level, const torch::Tensor& noise, const torch::Tensor& prev_sample = {});

}  // namespace flowgrpo::sampling
