#pragma once
/// @file lora_linear.h
/// A linear layer with a low-rank adapter (LoRA, Hu et al. 2021), numerically as
/// PEFT's `peft/tuners/lora/layer.py::Linear`:
///
///     y = base(x) + lora_B(lora_A(x)) · (lora_alpha / r)
///
/// Unlike PEFT, the base weights keep the names of the layer they replace
/// (`weight`, `bias` instead of `base_layer.weight`), so that a model with
/// adapters still loads its base weights strictly under the diffusers names;
/// the adapter adds `lora_A.weight` [r, in] and `lora_B.weight` [out, r] (PEFT's
/// names without the adapter name `default`).
///
/// Also here: the linear-call helpers that make a module tree LoRA-injectable
/// (see forward_linear()).

#include <torch/torch.h>

#include <memory>
#include <string>

namespace flowgrpo::models {

/// How a new adapter is initialised (PEFT `LoraConfig.init_lora_weights`).
enum class LoRAInit {
  kGaussian,  ///< "gaussian": A ~ N(0, std = 1/r), B = 0 (what diffusers and flow_grpo use).
  kKaiming,   ///< true (PEFT's default): A kaiming-uniform(a = √5) as nn.Linear, B = 0.
  kNone,      ///< false: both A and B keep nn.Linear's default init (B ≠ 0; for tests only).
};

/// "gaussian", "true", "false".
std::string to_string(LoRAInit init);
/// Parses "gaussian", "true", "false" (case-sensitive, as PEFT's JSON values
/// after stringification); throws std::invalid_argument listing the valid ones.
LoRAInit parse_lora_init(const std::string& name);

/// Options of one adapter.
struct LoRALinearOptions {
  int64_t r = 8;            ///< Rank (>= 1).
  double lora_alpha = 8.0;  ///< scaling = lora_alpha / r (or / √r with use_rslora).
  bool use_rslora = false;  ///< PEFT `use_rslora`: scaling = lora_alpha / √r.
  LoRAInit init = LoRAInit::kGaussian;
  /// dtype of lora_A / lora_B; by default the base weight's dtype (as PEFT moves
  /// the adapter to the base layer's dtype). The adapter is always created on the
  /// base weight's device.
  c10::optional<torch::Dtype> dtype;
};

/// A Linear plus one LoRA adapter. Parameters: `weight` [out, in] and `bias` [out]
/// (if the base had one) — frozen (requires_grad false) — and the trainable
/// `lora_A.weight` [r, in], `lora_B.weight` [out, r].
class LoRALinearImpl : public torch::nn::Module {
 public:
  /// Wraps `base`, sharing (not copying) its weight and bias tensors and freezing them.
  /// Draws the initial adapter from LibTorch's default generator.
  /// @throws std::invalid_argument if r < 1 or lora_alpha is not finite.
  LoRALinearImpl(const torch::nn::Linear& base, const LoRALinearOptions& options);

  /// base(x) + B(A(x)) · scaling when enabled and not merged; base(x) otherwise
  /// (PEFT `Linear.forward`: x is cast to the adapter dtype, the sum back to the
  /// base result's dtype).
  torch::Tensor forward(const torch::Tensor& x);

  /// Turns the adapter on or off. Turning it off while merged unmerges first
  /// (as PEFT's disable_adapters), so that off always means the base weights.
  void set_enabled(bool enabled);
  bool enabled() const { return enabled_; }

  /// Adds B·A·scaling to `weight` in place (no-op if already merged). After
  /// merge() forward() is a plain linear with the merged weight; gradients no
  /// longer reach the adapter. The delta is computed in float32 for half types.
  void merge();
  /// Subtracts the delta added by merge() (no-op if not merged). Floating-point
  /// subtraction: the restored weight can differ from the original in the last bit.
  void unmerge();
  bool merged() const { return merged_; }

  /// B·A·scaling with the base weight's dtype and shape [out, in].
  torch::Tensor delta_weight() const;

  int64_t r() const { return options_.r; }
  double scaling() const { return scaling_; }
  const LoRALinearOptions& options() const { return options_; }
  int64_t in_features() const { return weight.size(1); }
  int64_t out_features() const { return weight.size(0); }

  void pretty_print(std::ostream& stream) const override;

  torch::Tensor weight;  ///< Base weight (frozen), registered as "weight".
  torch::Tensor bias;    ///< Base bias (frozen, undefined if none), registered as "bias".
  torch::nn::Linear lora_A{nullptr};
  torch::nn::Linear lora_B{nullptr};

 private:
  LoRALinearOptions options_;
  double scaling_ = 1.0;
  bool enabled_ = true;
  bool merged_ = false;
};
TORCH_MODULE(LoRALinear);

/// The direct child `name` of `parent`, looked up at call time (so that it sees a
/// replacement made by Module::replace_module, which a cached holder would not).
/// @throws std::runtime_error if there is no such child.
std::shared_ptr<torch::nn::Module> child_module(const torch::nn::Module& parent, const std::string& name);

/// Applies `module` as a linear layer: a torch::nn::Linear or a LoRALinear.
/// Module code that wants its linears to be LoRA-injectable calls its children
/// through this (or through the overload below) instead of a typed holder.
/// @throws std::runtime_error if `module` is neither.
torch::Tensor forward_linear(torch::nn::Module& module, const torch::Tensor& x);

/// forward_linear(*child_module(parent, name), x).
torch::Tensor forward_linear(const torch::nn::Module& parent, const std::string& name,
                             const torch::Tensor& x);

}  // namespace flowgrpo::models
