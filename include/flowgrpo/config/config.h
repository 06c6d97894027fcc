#pragma once
/// @file config.h
/// The typed configuration of a flowgrpo run: one struct per YAML section plus the
/// top level. Defaults are the member initialisers below; they follow the
/// reference's SD3.5-Medium GenEval recipe (`config/grpo.py::geneval_sd3`, 32 GPUs)
/// wherever the reference has a counterpart. docs/configs.md documents every key
/// (type, default, range, meaning, reference key); config_loader.h reads and
/// writes them; config_validator.h range-checks them.
///
/// Key names follow the reference: `sample.num_image_per_prompt` here is
/// `config.sample.num_image_per_prompt` there. Where this file deviates (a key moved
/// to another section, or new), the documentation says so.

#include "flowgrpo/log/logging.h"

#include <c10/core/ScalarType.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flowgrpo::config {

// ---------------------------------------------------------------------------
// Enumerations. Each has to_string (the spelling used in YAML) and parse_*
// (case-insensitive), which throws std::invalid_argument naming the bad string
// and listing the valid ones.
// ---------------------------------------------------------------------------

/// Model family of `model.pretrained`.
enum class ModelType {
  kSd3,     ///< "sd3": Stable Diffusion 3 / 3.5 (MMDiT, CLIP-L + CLIP-G + T5 encoders).
  kFlux,    ///< "flux": FLUX.1 (guidance-distilled, packed latents).
  kShapes,  ///< "shapes": the ShapesEval pixel-space SD3-architecture model (models/shapes_pipeline.h).
};
std::string to_string(ModelType type);
/// Throws std::invalid_argument listing "sd3, flux".
ModelType parse_model_type(std::string_view name);

/// Floating-point type of model computation.
enum class DType {
  kFloat32,   ///< "float32" (aliases fp32, float)
  kBFloat16,  ///< "bfloat16" (alias bf16)
  kFloat16,   ///< "float16" (aliases fp16, half)
};
std::string to_string(DType dtype);
/// Throws std::invalid_argument listing "float32, bfloat16, float16".
DType parse_dtype(std::string_view name);
/// The LibTorch scalar type of `dtype` (kFloat, kBFloat16, kHalf).
c10::ScalarType to_scalar_type(DType dtype);

/// Stochastic step used while sampling training trajectories (reference `sample.sde_type`).
enum class SdeType {
  kSde,  ///< "sde": Flow-SDE step, the paper's sampler (spec §1.2).
  kCps,  ///< "cps": coefficient-preserving sampling (spec §1.3).
};
std::string to_string(SdeType type);
/// Throws std::invalid_argument listing "sde, cps".
SdeType parse_sde_type(std::string_view name);

/// Prompt file format (reference `prompt_fn`).
enum class PromptFormat {
  kGeneval,  ///< "geneval": JSON lines with `prompt`, `tag`, `include`, `exclude` (reference "geneval").
  kText,     ///< "text": one prompt per line (reference "general_ocr").
};
std::string to_string(PromptFormat format);
/// Throws std::invalid_argument listing "geneval, text".
PromptFormat parse_prompt_format(std::string_view name);

/// Initialisation of new LoRA adapters (PEFT `init_lora_weights`).
enum class LoraInit {
  kGaussian,  ///< "gaussian": A ~ N(0, 1/rank), B = 0 (PEFT "gaussian", the reference).
  kKaiming,   ///< "kaiming": A Kaiming-uniform, B = 0 (PEFT's default, `True`).
};
std::string to_string(LoraInit init);
/// Throws std::invalid_argument listing "gaussian, kaiming".
LoraInit parse_lora_init(std::string_view name);

/// Collective-communication backend.
enum class DistBackend {
  kAuto,  ///< "auto": NCCL when running on CUDA devices, Gloo otherwise, none for one process.
  kGloo,  ///< "gloo"
  kNccl,  ///< "nccl"
  kNone,  ///< "none": single process; a world size above 1 is an error.
};
std::string to_string(DistBackend backend);
/// Throws std::invalid_argument listing "auto, gloo, nccl, none".
DistBackend parse_dist_backend(std::string_view name);

// ---------------------------------------------------------------------------
// Sections. Field order is the documented order (docs/configs.md, dump_config).
// ---------------------------------------------------------------------------

/// `model.lora`: the LoRA adapter trained on the transformer (spec §2, "LoRA").
struct LoraConfig {
  bool enabled = true;  ///< reference `use_lora`; false trains every transformer weight.
  int rank = 32;        ///< r (reference: 32 for SD3, 64 for FLUX).
  double alpha = 64.0;  ///< α; the adapter output is scaled by α / r.
  /// Module names, relative to a transformer block, that receive an adapter.
  std::vector<std::string> target_modules = {"attn.to_q",       "attn.to_k",       "attn.to_v",
                                             "attn.to_out.0",   "attn.add_q_proj", "attn.add_k_proj",
                                             "attn.add_v_proj", "attn.to_add_out"};
  LoraInit init = LoraInit::kGaussian;
  std::string path;  ///< Adapter folder to start from (reference `train.lora_path`); "" = new adapter.
};

/// `model`: what is loaded and how it computes.
struct ModelConfig {
  /// Diffusers pipeline folder (with transformer/, vae/, text_encoder*/ ...) or a
  /// transformer component folder.
  std::string pretrained;
  ModelType type = ModelType::kSd3;
  /// Compute dtype (reference `mixed_precision`: fp16 for SD3, bf16 otherwise).
  DType dtype = DType::kFloat16;
  /// true: trainable weights stay float32 and forward passes run under autocast in
  /// `dtype`, as the reference trains (accelerate); false: everything in `dtype`.
  bool autocast = true;
  bool gradient_checkpointing = false;  ///< reference `activation_checkpointing`.
  int resolution = 512;                 ///< Image height = width in pixels.
  /// T5 tokens per prompt (SD3; flow_grpo trains with 128, diffusers' default is 256).
  int max_sequence_length = 128;
  /// Prompt-embedding cache (SD3): "auto" = <output_dir>/prompt_embeddings.safetensors,
  /// "off" = run the text encoders on demand, or a file path. Built when missing.
  std::string prompt_cache = "auto";
  LoraConfig lora;
};

/// `data`: prompt files.
struct DataConfig {
  std::string train_prompts;  ///< reference `{dataset}/train.txt` or `train_metadata.jsonl`.
  std::string test_prompts;   ///< reference `{dataset}/test.txt` or `test_metadata.jsonl`; "" = no eval.
  PromptFormat format = PromptFormat::kGeneval;
};

/// `sample`: rollouts (training trajectories) and evaluation sampling.
struct SampleConfig {
  int num_steps = 10;           ///< Denoising steps of a training trajectory.
  int eval_num_steps = 40;      ///< Denoising steps at evaluation (deterministic ODE).
  double noise_level = 0.7;     ///< SDE noise scale a (spec §1.2).
  double guidance_scale = 4.5;  ///< Classifier-free guidance while sampling (1 = none).
  /// Guidance at evaluation; unset (null) = `guidance_scale`. See effective_eval_guidance_scale().
  std::optional<double> eval_guidance_scale;
  int train_batch_size = 9;       ///< b: images per rank per sampling iteration; also the train micro-batch.
  int num_image_per_prompt = 24;  ///< k: group size (images of the same prompt).
  int num_batches_per_epoch = 4;  ///< Sampling iterations per epoch.
  int test_batch_size = 14;       ///< Images per rank per evaluation batch.
  SdeType sde_type = SdeType::kSde;
  int sde_window_size = 0;  ///< w: SDE steps per trajectory (Flow-GRPO-Fast); 0 = all steps.
  /// [first, end): the window start is drawn from first .. end - w (used when w > 0).
  std::array<int, 2> sde_window_range = {0, 5};
  bool same_latent = false;  ///< Same initial noise for images of the same prompt.
  bool global_std = true;    ///< Normalise advantages by the std of all rewards of the epoch.
  double kl_reward = 0.0;    ///< c in reward -= c · KL at sampling (0 = off; KL loss is preferred).
};

/// `train`: the GRPO update.
struct TrainConfig {
  double learning_rate = 3e-4;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_weight_decay = 1e-4;
  double adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;
  double clip_range = 1e-4;         ///< PPO ratio clip ε.
  double adv_clip_max = 5.0;        ///< Advantages are clamped to ±adv_clip_max.
  double beta = 0.04;               ///< KL-loss weight β.
  double timestep_fraction = 0.99;  ///< Trained steps = floor(num_steps · fraction) when no SDE window.
  int num_epochs = 100000;
  int num_inner_epochs = 1;
  int gradient_accumulation_steps = 2;  ///< Micro-batches (each over every trained step) per optimizer step.
  bool cfg = true;                      ///< Apply CFG in the training forward pass too.
  bool ema = true;                      ///< Keep an EMA of the trainable weights for eval and checkpoints.
  int ema_update_every = 8;             ///< EMA update when (step + 1) % this == 0.
  double ema_max_decay = 0.9;           ///< decay = min((1 + step) / (10 + step), ema_max_decay).
  int save_freq = 60;                   ///< Checkpoint every this many epochs; 0 = never.
  /// Above this fraction of the epoch's samples without a valid reward (a dead reward
  /// server, a broken scorer) the trainer saves a checkpoint and stops with an error
  /// instead of training on nothing; 1 = never stop.
  double max_invalid_reward_fraction = 0.5;
  int eval_freq = 60;  ///< Evaluate every this many epochs (epoch 0 included); 0 = never.
  /// Log the gradient noise scale from the micro-batches of each optimizer step
  /// (rl/gradient_noise.h); needs gradient_accumulation_steps >= 2.
  bool gradient_noise_scale = false;
  /// Micro-batches of whole GRPO groups (groups shuffled, sizes balanced, each
  /// micro-batch's loss weighted by its size) instead of the reference's shuffle of
  /// single samples; what an unbiased gradient_noise_scale needs (rl/gradient_noise.h).
  bool group_micro_batches = false;
};

/// One entry of the `reward` map.
struct RewardWeight {
  std::string name;  ///< Reward registry name ("geneval", "pickscore", ...), validated by the registry.
  double weight = 1.0;
  friend bool operator==(const RewardWeight& a, const RewardWeight& b) {
    return a.name == b.name && a.weight == b.weight;
  }
  friend bool operator!=(const RewardWeight& a, const RewardWeight& b) { return !(a == b); }
};

/// `eval`: evaluation on `data.test_prompts` (batch size: `sample.test_batch_size`).
struct EvalConfig {
  int num_images_per_prompt = 1;
  std::int64_t seed = 0;  ///< Seed of the initial latents, the same at every evaluation.
  int max_prompts = 0;    ///< Evaluate the first N test prompts; 0 = all.
};

/// `logging`
struct LoggingConfig {
  log::Level level = log::Level::kInfo;        ///< FLOWGRPO_LOG_LEVEL overrides it.
  int log_every = 1;                           ///< Log training metrics every N optimizer steps.
  std::string metrics_file = "metrics.jsonl";  ///< JSON lines, relative to output_dir; "" = none.
};

/// `dist`
struct DistConfig {
  DistBackend backend = DistBackend::kAuto;
  int timeout_seconds = 1800;       ///< Collective-operation timeout.
  double bucket_size_mb = 25.0;     ///< Gradient all-reduce bucket size (MiB), as DDP's bucket_cap_mb.
  bool overlap_grad_reduce = true;  ///< Start buckets from gradient hooks during the last backward pass.
};

/// The whole configuration.
/// `flowgrpo-pretrain`: rectified-flow pretraining of a small model from scratch
/// (the ShapesEval base model). Ignored by flowgrpo-train.
struct PretrainConfig {
  /// What to train: "transformer" (rectified flow of the transformer and text
  /// encoder) or "vae" (the autoencoder of a latent model, trained first).
  std::string stage = "transformer";
  std::string
      architecture;  ///< Folder with the component configs (model_index.json, transformer/config.json, ...).
  /// A latent model's trained VAE component folder (the vae stage's output_dir/vae),
  /// frozen during the transformer stage; "" = architecture/vae if it holds weights.
  std::string vae;
  double kl_weight = 1e-4;         ///< vae stage: weight of the KL term (per latent element) vs the L1 loss.
  int latent_stat_images = 4096;   ///< vae stage: renders whose latents set scaling_factor / shift_factor.
  int steps = 20000;               ///< Optimizer steps.
  int batch_size = 64;             ///< Images per step.
  double learning_rate = 3e-4;     ///< AdamW peak learning rate (linear warm-up, then constant).
  double weight_decay = 0.0;       ///< AdamW weight decay.
  int warmup_steps = 500;          ///< Linear warm-up of the learning rate.
  double max_grad_norm = 1.0;      ///< Gradient-norm clipping; 0 = off.
  double ema_decay = 0.999;        ///< EMA of all weights; the EMA weights are what is saved as the model.
  double prompt_dropout = 0.1;     ///< Probability of training a sample with the empty prompt (for CFG).
  double logit_normal_mean = 0.0;  ///< σ = sigmoid(u), u ~ N(mean, std²) (SD3's logit-normal timesteps).
  double logit_normal_std = 1.0;
  int log_every = 50;          ///< Steps between log lines.
  int checkpoint_every = 500;  ///< Steps between resumable checkpoints (model, EMA, optimizer, RNG).
  int eval_every = 2000;       ///< Steps between strict-accuracy evaluations of the EMA model; 0 = never.
  std::string eval_prompts;    ///< Prompt file for those evaluations; "" = data.train_prompts.
};

struct Config {
  std::int64_t seed = 42;
  std::string run_name = "flowgrpo";
  /// Run directory (checkpoints, metrics, images); "{run_name}" is replaced by run_name.
  std::string output_dir = "runs/{run_name}";
  /// "" = start fresh; "latest" = newest checkpoint in output_dir; otherwise a checkpoint folder.
  std::string resume;
  ModelConfig model;
  DataConfig data;
  SampleConfig sample;
  TrainConfig train;
  /// Reward name → weight, in file order; the reward is Σ weight · score (reference
  /// `reward_fn`, `multi_score`). Empty by default: every recipe names its rewards.
  std::vector<RewardWeight> reward;
  /// Reward name → that reward's options (a server URL, a model file, ...), passed to
  /// its registry factory; a JSON object of objects, merged key by key across files
  /// and `--set reward_options.NAME.KEY=value`. Every name must appear in `reward`.
  nlohmann::json reward_options = nlohmann::json::object();
  EvalConfig eval;
  LoggingConfig logging;
  DistConfig dist;
  PretrainConfig pretrain;
};

/// Field-by-field equality of every key (doubles compared with ==).
bool operator==(const Config& a, const Config& b);
inline bool operator!=(const Config& a, const Config& b) {
  return !(a == b);
}

/// `sample.eval_guidance_scale` if set, else `sample.guidance_scale`.
double effective_eval_guidance_scale(const SampleConfig& sample);

/// `output_dir` with every "{run_name}" replaced by `run_name`.
std::filesystem::path effective_output_dir(const Config& config);

}  // namespace flowgrpo::config
