#pragma once
/// @file memory_plan.h
/// What one GPU holds during a Flow-GRPO run of an SD3 pipeline at real size,
/// computed from the components' configs and the run config — no weight is read, and
/// nothing of real size is allocated but the VAE (see SD3ParameterCounts).
///
/// The two phases of an epoch hold different things:
///  - rollout: the transformer (model.dtype), the trainable adapter with its AdamW
///    state and EMA copy (float32), the VAE (float32) and its decoding activations,
///    the CFG batch's transient activations, the stored trajectories;
///  - training: the same weights and optimizer state, the gradients, and the
///    activations kept for the backward pass of one micro-batch (CFG doubles it when
///    train.cfg), all of them or — with gradient checkpointing — only each block's
///    inputs plus one block's activations while it is recomputed.
/// Text encoders are resident only without a prompt cache (model.prompt_cache: off).
///
/// Activations are an analytic estimate, not a measurement: per joint transformer
/// block and token, k · D elements in model.dtype, with k counted from the tensors the
/// block saves for its backward pass (docs/memory.md). Attention is assumed to run
/// with a memory-efficient kernel (no tokens² score matrix), as LibTorch's SDPA does on
/// CUDA for 16-bit inputs. A fixed allowance covers the CUDA context and allocator
/// fragmentation.

#include "flowgrpo/config/config.h"
#include "flowgrpo/models/autoencoders/autoencoder_kl_config.h"
#include "flowgrpo/models/text_encoders/clip_text_config.h"
#include "flowgrpo/models/text_encoders/t5_config.h"
#include "flowgrpo/models/transformers/sd3_transformer_config.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace flowgrpo::train {

/// The components of an SD3 pipeline, by config.
struct SD3ComponentConfigs {
  models::SD3TransformerConfig transformer;
  models::AutoencoderKLConfig vae;
  models::CLIPTextConfig clip_l, clip_g;
  std::optional<models::T5Config> t5;  ///< absent when the folder has no T5

  /// stabilityai/stable-diffusion-3.5-medium's configs (the presets).
  static SD3ComponentConfigs sd35_medium();
  /// The config.json files of a diffusers SD3 folder.
  /// @throws std::invalid_argument naming the folder and file.
  static SD3ComponentConfigs from_folder(const std::filesystem::path& dir);
};

/// Exact parameter counts. The transformer's come from its config
/// (SD3TransformerConfig::num_parameters, linear_layers; tested equal to the built
/// module's and to diffusers'), the text encoders' from modules built on the `meta`
/// device, the VAE's from the module built on the CPU (84 M parameters at SD3's size).
struct SD3ParameterCounts {
  int64_t transformer = 0;
  int64_t transformer_buffers = 0;  ///< the positional table `pos_embed.pos_embed` (stored with the weights)
  int64_t lora = 0;  ///< the adapter model.lora describes (0 when disabled: then every weight trains)
  int64_t vae = 0;
  int64_t clip_l = 0, clip_g = 0, t5 = 0;
};

/// Counts every component without loading weights; the adapter is model.lora's
/// targets (PEFT matching, models::matches_target) over the transformer's Linear layers.
SD3ParameterCounts count_sd3_parameters(const SD3ComponentConfigs& configs, const config::ModelConfig& model);

struct MemoryItem {
  std::string name;
  double bytes = 0;
  std::string basis;  ///< how the figure is computed
};

struct MemoryPlan {
  std::vector<MemoryItem> rollout;
  std::vector<MemoryItem> training;
  double rollout_bytes() const;
  double training_bytes() const;
  double peak_bytes() const;
  /// A markdown table of both phases in GB (10^9 bytes).
  std::string table() const;
  nlohmann::json to_json() const;
};

/// The plan of `config` (per-GPU batch sample.train_batch_size, model.* dtype,
/// resolution, LoRA, gradient checkpointing, prompt cache; train.cfg, train.ema).
MemoryPlan plan_sd3_memory(const config::Config& config, const SD3ComponentConfigs& configs,
                           const SD3ParameterCounts& counts);

}  // namespace flowgrpo::train
