#pragma once
/// @file ema.h
/// Exponential moving average of the trainable parameters, used only for evaluation
/// and saving.
///
/// Source: flow_grpo/ema.py::EMAModuleWrapper and its use in scripts/train_sd3.py
/// (`EMAModuleWrapper(params, decay=0.9, update_step_interval=8)`, `ema.step(params,
/// global_step)` after every micro-batch, `copy_ema_to(..., store_temp=True)` /
/// `copy_temp_to` around eval and save_ckpt):
///   decay(s) = min((1 + s) / (10 + s), max_decay)
///   if (s + 1) % update_every == 0:  ema ← ema + (1 − decay(s))·(θ − ema)
/// where s is the optimizer-step counter the caller passes (global_step).

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace flowgrpo::rl {

struct EmaOptions {
  double max_decay = 0.9;    ///< Cap on the decay (`decay` in ema.py); in [0, 1).
  int64_t update_every = 8;  ///< `update_step_interval`; >= 1.
  /// Where the shadow copies live; default: each parameter's own device.
  std::optional<torch::Device> device;
};

/// Checkpointable state.
struct EmaState {
  std::vector<torch::Tensor> shadow;  ///< One per parameter, same shapes and dtypes.
  int64_t num_updates = 0;            ///< Updates applied so far.
  int64_t last_update_step = -1;      ///< Step s of the most recent update, −1 if none.
};

/// EMA over a fixed, ordered list of parameters. Every method that takes parameters
/// expects the same list (same order, shapes and dtypes) as the constructor.
/// Not thread-safe.
class Ema {
 public:
  /// Copies the parameters' current values as the initial average (ema.py clones them).
  /// @throws std::invalid_argument for invalid options or an undefined parameter.
  Ema(const std::vector<torch::Tensor>& parameters, EmaOptions options = {});

  /// min((1 + step) / (10 + step), max_decay).
  static double decay_at(int64_t step, double max_decay);

  /// Whether step() at `step` updates: (step + 1) % update_every == 0.
  bool updates_at(int64_t step) const;

  /// ema.py::step: if updates_at(step), moves every shadow towards its parameter by
  /// (1 − decay_at(step)). Parameters with requires_grad == false are skipped, as in ema.py.
  /// Call it once per micro-batch with the optimizer-step counter, as the reference does
  /// (it then updates once per micro-batch at qualifying steps).
  /// @return whether an update happened.
  /// @throws std::invalid_argument if the list does not match the constructor's.
  bool step(const std::vector<torch::Tensor>& parameters, int64_t step);

  /// Overwrites the parameters with the averages (no backup).
  void copy_to(const std::vector<torch::Tensor>& parameters) const;
  /// Saves a copy of the parameters' current values (ema.py `store_temp`). The copy is a
  /// clone on the parameter's device (ema.py's `.cpu()` aliases CPU parameters, which would
  /// make restore a no-op there). @throws std::logic_error if a copy is already stored.
  void store(const std::vector<torch::Tensor>& parameters);
  /// Copies the stored values back and drops them (ema.py `copy_temp_to`).
  /// @throws std::logic_error if nothing is stored.
  void restore(const std::vector<torch::Tensor>& parameters);
  bool has_stored() const { return !stored_.empty(); }

  /// RAII swap: store() + copy_to() on construction, restore() on destruction.
  /// For evaluation and saving with the EMA weights.
  class SwapScope {
   public:
    SwapScope(Ema& ema, std::vector<torch::Tensor> parameters);
    ~SwapScope();
    SwapScope(const SwapScope&) = delete;
    SwapScope& operator=(const SwapScope&) = delete;

   private:
    Ema& ema_;
    std::vector<torch::Tensor> parameters_;
  };

  const std::vector<torch::Tensor>& shadow() const { return shadow_; }
  int64_t num_updates() const { return num_updates_; }
  int64_t last_update_step() const { return last_update_step_; }
  const EmaOptions& options() const { return options_; }

  /// Copies of the shadow tensors and counters, for checkpointing.
  EmaState state() const;
  /// Restores a state() (values copied into the existing shadows).
  /// @throws std::invalid_argument if the count, shapes or dtypes differ.
  void load_state(const EmaState& state);

 private:
  void check_matches(const std::vector<torch::Tensor>& parameters, const char* what) const;

  EmaOptions options_;
  std::vector<torch::Tensor> shadow_;
  std::vector<torch::Tensor> stored_;
  int64_t num_updates_ = 0;
  int64_t last_update_step_ = -1;
};

}  // namespace flowgrpo::rl
