#pragma once
/// @file lora.h
/// LoRA adapters on any module tree, with PEFT's semantics (peft 0.10, the
/// version flow_grpo pins) and PEFT's on-disk layout.
///
/// Targeting (peft/tuners/tuners_utils.py::check_target_module_exists): a module
/// named `name` is adapted when `name` equals a target, or ends with "." + target;
/// a single-string target list is a regular expression that must match the whole
/// name (re.fullmatch; evaluated with std::regex ECMAScript here). Hence
/// "attn.to_q" adapts `transformer_blocks.0.attn.to_q` and not `...attn2.to_q`.
///
/// Injection replaces each matched torch::nn::Linear by a LoRALinear with
/// Module::replace_module; the module's forward must call its children through
/// forward_linear (lora_linear.h) for the replacement to take effect (every
/// module in flowgrpo/models does).
///
/// On disk (PEFT `save_pretrained`): a directory with
///  - `adapter_config.json`: {"peft_type": "LORA", "r", "lora_alpha",
///    "target_modules", "init_lora_weights", "base_model_name_or_path",
///    "task_type": null, "bias": "none", ...} (all LoraConfig fields of peft 0.10);
///  - `adapter_model.safetensors`: `base_model.model.<module>.lora_A.weight` [r, in]
///    and `.lora_B.weight` [out, r] (PEFT strips the adapter name "default").
/// PEFT (`PeftModel.from_pretrained`) reads this directly. diffusers'
/// `load_lora_weights` wants a different key layout; save_lora_diffusers()
/// writes that.

#include "flowgrpo/models/lora_linear.h"

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flowgrpo::models {

/// The adapter configuration (PEFT `LoraConfig`, the fields flowgrpo supports).
struct LoRAConfig {
  int64_t r = 8;
  double lora_alpha = 8.0;
  /// Module-name suffixes (see file comment). Mutually exclusive with target_regex.
  std::vector<std::string> target_modules;
  /// A full-match regular expression over module names (PEFT's string form).
  std::optional<std::string> target_regex;
  LoRAInit init = LoRAInit::kGaussian;
  bool use_rslora = false;
  double lora_dropout = 0.0;  ///< Must be 0: flowgrpo's LoRA is deterministic (recomputed log-probs).
  std::string base_model_name_or_path;
  /// dtype of new adapters (default: the base layer's dtype, as PEFT).
  std::optional<torch::Dtype> dtype;

  /// Flow-GRPO's SD3 adapter (flow_grpo scripts/train_sd3.py): r 32, alpha 64,
  /// gaussian init, targets attn.{add_k_proj, add_q_proj, add_v_proj, to_add_out,
  /// to_k, to_out.0, to_q, to_v}.
  static LoRAConfig flow_grpo_sd3();

  /// Checks r >= 1, finite alpha, dropout 0, exactly one of target_modules /
  /// target_regex non-empty. @throws std::invalid_argument naming the field.
  void validate() const;

  /// The adapter_config.json object PEFT writes.
  nlohmann::json to_peft_json() const;
  /// Parses a PEFT adapter_config.json object. Accepts every LoraConfig field;
  /// rejects (std::invalid_argument naming the field and `source`) peft_type other
  /// than LORA and features flowgrpo does not implement: non-empty rank_pattern /
  /// alpha_pattern / modules_to_save / layers_to_transform, bias other than
  /// "none", use_dora, fan_in_fan_out, lora_dropout ≠ 0 (dropout is accepted
  /// when `allow_dropout`: it is inactive at inference, and flowgrpo never applies it).
  static LoRAConfig from_peft_json(const nlohmann::json& json,
                                   const std::string& source = "adapter_config.json",
                                   bool allow_dropout = true);
};

/// Whether the module named `module_name` is a target (PEFT matching rules).
bool matches_target(const std::string& module_name, const LoRAConfig& config);

/// Replaces every targeted Linear under `root` by a LoRALinear, freezes every
/// other parameter (requires_grad false) and returns the adapted module names
/// in tree order.
/// @throws std::invalid_argument if config.validate() fails, a target matches a
///         module that is not a torch::nn::Linear (PEFT: "not supported"), a
///         matched module already carries an adapter, or nothing matches (PEFT:
///         "Target modules ... not found in the base model").
std::vector<std::string> inject_lora(torch::nn::Module& root, const LoRAConfig& config);

/// Every LoRALinear under `root` with its name, in tree order.
std::vector<std::pair<std::string, std::shared_ptr<LoRALinearImpl>>> lora_layers(
    const torch::nn::Module& root);

/// The trainable adapter tensors (lora_A.weight, lora_B.weight of every
/// LoRALinear), in tree order — what the optimizer gets.
std::vector<torch::Tensor> lora_parameters(const torch::nn::Module& root);

/// `<module>.lora_A.weight` / `<module>.lora_B.weight` → tensor (aliases, no copy).
std::map<std::string, torch::Tensor> lora_state_dict(const torch::nn::Module& root);

/// Turns every adapter under `root` on or off (off = the base model, the reference policy).
void set_lora_enabled(torch::nn::Module& root, bool enabled);
/// Merges / unmerges every adapter into its base weight (LoRALinearImpl::merge).
void merge_lora(torch::nn::Module& root);
void unmerge_lora(torch::nn::Module& root);

/// Disables all adapters under a module for the lifetime of the scope (the
/// reference-policy forward of GRPO's KL term) and re-enables on exit those
/// that were enabled before. Merged adapters are unmerged on entry (so the scope
/// sees the base weights) and stay unmerged afterwards.
class AdapterDisabledScope {
 public:
  explicit AdapterDisabledScope(torch::nn::Module& root);
  ~AdapterDisabledScope();
  AdapterDisabledScope(const AdapterDisabledScope&) = delete;
  AdapterDisabledScope& operator=(const AdapterDisabledScope&) = delete;

 private:
  std::vector<std::shared_ptr<LoRALinearImpl>> reenable_;
};

/// Writes `dir`/adapter_config.json and `dir`/adapter_model.safetensors in PEFT's
/// layout (creates `dir`). `config` must describe the injected adapters (its r
/// and alpha are checked against every layer).
/// @throws std::invalid_argument if `root` has no adapters or they disagree with
///         `config`; std::runtime_error if writing fails.
void save_lora_peft(const torch::nn::Module& root, const LoRAConfig& config,
                    const std::filesystem::path& dir);

/// Reads `dir`/adapter_config.json (LoRAConfig::from_peft_json).
LoRAConfig read_lora_config(const std::filesystem::path& dir);

/// Loads adapter weights into the already injected adapters of `root`, from a
/// PEFT directory (adapter_model.safetensors, keys `base_model.model.<m>.lora_X.weight`,
/// with or without the adapter name `.default`) or from a diffusers LoRA file
/// (keys `transformer.<m>.lora_X.weight`), converting to each adapter's dtype.
/// Everything is checked first; ONE std::invalid_argument then lists all
/// problems: adapters missing from the file, unexpected keys, shape / rank
/// mismatches (the model is untouched then).
void load_lora_weights(torch::nn::Module& root, const std::filesystem::path& dir_or_file);

/// read_lora_config + inject_lora + load_lora_weights: applies an adapter saved
/// by save_lora_peft or by PEFT to a base model. Returns the adapted names.
std::vector<std::string> load_lora_adapter(torch::nn::Module& root, const std::filesystem::path& dir);

/// Writes a diffusers-loadable LoRA file (`pipeline.load_lora_weights(file)`):
/// keys `transformer.<module>.lora_A.weight` / `.lora_B.weight`. diffusers v0.33
/// reads no alpha from such a file (it assumes lora_alpha = r), so the scaling
/// alpha/r is folded into lora_B to keep the outputs identical.
void save_lora_diffusers(const torch::nn::Module& root, const std::filesystem::path& file,
                         const std::string& prefix = "transformer");

}  // namespace flowgrpo::models
