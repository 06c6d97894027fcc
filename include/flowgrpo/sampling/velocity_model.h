#pragma once
/// @file velocity_model.h
/// The interface every flow-matching generator implements for the sampler and
/// the trainer (SD3/SD3.5 MMDiT, FLUX, the ShapesEval model, analytic test fields).

#include <torch/torch.h>

#include <vector>

namespace flowgrpo::sampling {

/// Text conditioning as SD3's transformer consumes it. Models that need less
/// (e.g. no pooled vector) leave the field undefined.
struct Conditioning {
  torch::Tensor encoder_hidden_states;  ///< [B,S,D] token embeddings
  torch::Tensor pooled_projections;     ///< [B,P] pooled embedding

  /// Batch size (of whichever field is defined); 0 when both are undefined.
  int64_t batch_size() const;
  /// Rows `index` of every defined field.
  Conditioning index_select(const torch::Tensor& index) const;
  /// Rows [start, start+length).
  Conditioning slice(int64_t start, int64_t length) const;
  /// Each row repeated `times` times consecutively (prompt i -> rows i*times ...).
  Conditioning repeat_interleave(int64_t times) const;
  /// [a; b] along the batch dimension; throws std::invalid_argument if the fields disagree.
  static Conditioning concat(const Conditioning& a, const Conditioning& b);
  Conditioning to(const torch::Device& device) const;
  Conditioning detach() const;
};

/// A velocity field v_θ(x, t | c) ≈ ε − x0.
///
/// Contract:
///  - `latents` [B,C,H,W] (any float dtype the model accepts; the sampler passes float32
///    and the model casts to its compute dtype);
///  - `timestep` [B] float32, the *scheduler* timestep 1000·σ (SD3 consumes it as is;
///    a FLUX wrapper divides by 1000 itself);
///  - `cond` with batch B;
///  - returns the velocity [B,C,H,W] in the model's compute dtype.
/// Must be deterministic for identical inputs (no dropout at sampling or training
/// time) so that log-probabilities can be recomputed on-policy. Whether gradients
/// flow is governed by the caller's grad mode. Not required to be thread-safe.
class VelocityModel {
 public:
  virtual ~VelocityModel() = default;
  virtual torch::Tensor forward(const torch::Tensor& latents, const torch::Tensor& timestep,
                                const Conditioning& cond) = 0;
};

/// Classifier-free guidance around any VelocityModel, exactly as the SD3 pipeline
/// and flow_grpo's training recomputation do: when `guidance_scale` > 1 the model
/// is run once on the batch [negative; positive] (latents and timesteps duplicated)
/// and v = v_u + g·(v_c − v_u); otherwise only the positive branch runs.
/// Both branches stay differentiable (flow_grpo.md §2, "CFG in training", [B]).
/// Throws std::invalid_argument if the batch sizes disagree.
torch::Tensor guided_velocity(VelocityModel& model, const torch::Tensor& latents,
                              const torch::Tensor& timestep, const Conditioning& positive,
                              const Conditioning& negative, double guidance_scale);

/// Whether `guidance_scale` turns CFG on (the diffusers rule: g > 1).
inline bool uses_cfg(double guidance_scale) {
  return guidance_scale > 1.0;
}

}  // namespace flowgrpo::sampling
