#include "flowgrpo/train/memory_plan.h"

#include "flowgrpo/models/autoencoders/autoencoder_kl.h"
#include "flowgrpo/models/lora.h"
#include "flowgrpo/models/text_encoders/clip_text_model.h"
#include "flowgrpo/models/text_encoders/t5_encoder_model.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

namespace flowgrpo::train {

namespace fs = std::filesystem;

namespace {

const torch::Device kMeta(torch::kMeta);

int64_t count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

double dtype_bytes(config::DType d) {
  return d == config::DType::kFloat32 ? 4.0 : 2.0;
}

// Elements of D per token that a joint block keeps for its backward pass, per stream
// (docs/memory.md, "Activations"): adaLN-modulated inputs 2, q/k/v and their RMS-normed
// copies, attention output 6, gated attention output 1, second LayerNorm 2, feed-forward
// 4D + GELU 4D + gated output 9; PEFT-style LoRA casts each target's input to float32
// (2 elements' worth per target, 4 targets per stream): 8.
constexpr double kBlockElementsPerToken = 28.0;
// A dual-attention (MMDiT-X) block's second self-attention on the image tokens.
constexpr double kDualElementsPerImageToken = 8.0;
// Live elements per token in a no-grad forward (feed-forward hidden and a few D-wide temporaries).
constexpr double kInferenceElementsPerToken = 10.0;
// Feature maps alive at once while the VAE decoder runs at full resolution.
constexpr double kVaeLiveMaps = 4.0;
constexpr double kCudaReserveBytes = 1.5e9;

std::string gb(double bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.2f", bytes / 1e9);
  return s;
}

}  // namespace

SD3ComponentConfigs SD3ComponentConfigs::sd35_medium() {
  SD3ComponentConfigs c;
  c.transformer = models::SD3TransformerConfig::sd35_medium();
  c.vae = models::AutoencoderKLConfig::sd3();
  c.clip_l = models::CLIPTextConfig::clip_l();
  c.clip_g = models::CLIPTextConfig::clip_g();
  c.t5 = models::T5Config::t5_v1_1_xxl();
  return c;
}

SD3ComponentConfigs SD3ComponentConfigs::from_folder(const fs::path& dir) {
  SD3ComponentConfigs c;
  c.transformer = models::SD3TransformerConfig::from_file(dir / "transformer" / "config.json");
  c.vae = models::AutoencoderKLConfig::from_file(dir / "vae" / "config.json");
  c.clip_l = models::CLIPTextConfig::from_file(dir / "text_encoder" / "config.json");
  c.clip_g = models::CLIPTextConfig::from_file(dir / "text_encoder_2" / "config.json");
  if (fs::exists(dir / "text_encoder_3" / "config.json"))
    c.t5 = models::T5Config::from_file(dir / "text_encoder_3" / "config.json");
  return c;
}

SD3ParameterCounts count_sd3_parameters(const SD3ComponentConfigs& c, const config::ModelConfig& model) {
  SD3ParameterCounts n;
  n.transformer = c.transformer.num_parameters();
  n.transformer_buffers = c.transformer.pos_embed_elements();
  if (model.lora.enabled) {
    models::LoRAConfig l;
    l.r = model.lora.rank;
    l.target_modules = model.lora.target_modules;
    for (const auto& linear : c.transformer.linear_layers())
      if (models::matches_target(linear.name, l)) n.lora += l.r * (linear.in_features + linear.out_features);
  }
  n.vae = count(*models::AutoencoderKL(c.vae, torch::kFloat, torch::kCPU));
  n.clip_l = count(*models::CLIPTextModelWithProjection(c.clip_l, torch::kBFloat16, kMeta));
  n.clip_g = count(*models::CLIPTextModelWithProjection(c.clip_g, torch::kBFloat16, kMeta));
  if (c.t5) n.t5 = count(*models::T5EncoderModel(*c.t5, torch::kBFloat16, kMeta));
  return n;
}

double MemoryPlan::rollout_bytes() const {
  double s = 0;
  for (const auto& i : rollout) s += i.bytes;
  return s;
}

double MemoryPlan::training_bytes() const {
  double s = 0;
  for (const auto& i : training) s += i.bytes;
  return s;
}

double MemoryPlan::peak_bytes() const {
  return std::max(rollout_bytes(), training_bytes());
}

std::string MemoryPlan::table() const {
  std::ostringstream os;
  os << "| phase | item | GB | basis |\n|---|---|---|---|\n";
  for (const auto* phase : {&rollout, &training}) {
    const char* name = phase == &rollout ? "rollout" : "training";
    for (const auto& i : *phase)
      os << "| " << name << " | " << i.name << " | " << gb(i.bytes) << " | " << i.basis << " |\n";
    os << "| " << name << " | **total** | **" << gb(phase == &rollout ? rollout_bytes() : training_bytes())
       << "** | |\n";
  }
  return os.str();
}

nlohmann::json MemoryPlan::to_json() const {
  nlohmann::json j;
  for (const auto* phase : {&rollout, &training}) {
    auto& out = j[phase == &rollout ? "rollout" : "training"];
    for (const auto& i : *phase) out[i.name] = i.bytes;
  }
  j["rollout_bytes"] = rollout_bytes();
  j["training_bytes"] = training_bytes();
  j["peak_bytes"] = peak_bytes();
  return j;
}

MemoryPlan plan_sd3_memory(const config::Config& config, const SD3ComponentConfigs& c,
                           const SD3ParameterCounts& n) {
  const auto& m = config.model;
  const double w = dtype_bytes(m.dtype);
  const double b = config.sample.train_batch_size;
  const int64_t factor = c.vae.spatial_scale_factor();
  const int64_t latent_side = m.resolution / factor;
  const int64_t patches = latent_side / c.transformer.patch_size;
  const double image_tokens = static_cast<double>(patches * patches);
  const double text_tokens = 77.0 + m.max_sequence_length;
  const double tokens = image_tokens + text_tokens;
  const double d = static_cast<double>(c.transformer.inner_dim());
  const double layers = static_cast<double>(c.transformer.num_layers);
  const double dual = static_cast<double>(c.transformer.dual_attention_layers.size());
  const bool cache = m.prompt_cache != "off";
  const std::string tok = std::to_string(static_cast<int64_t>(tokens)) + " tokens (" +
                          std::to_string(static_cast<int64_t>(image_tokens)) + " image + " +
                          std::to_string(static_cast<int64_t>(text_tokens)) + " text), D " +
                          std::to_string(static_cast<int64_t>(d));

  std::vector<MemoryItem> common;
  common.push_back({"transformer weights", static_cast<double>(n.transformer + n.transformer_buffers) * w,
                    std::to_string(n.transformer) + " parameters + " + std::to_string(n.transformer_buffers) +
                        " positional-table values x " + std::to_string(int(w)) + " B"});
  const double trainable = m.lora.enabled ? static_cast<double>(n.lora) : static_cast<double>(n.transformer);
  const std::string what = m.lora.enabled ? "LoRA" : "trainable";
  const double ema = config.train.ema ? 4.0 : 0.0;
  common.push_back({what + " weights, AdamW state" + (config.train.ema ? ", EMA" : ""),
                    trainable * (4.0 + 8.0 + ema),
                    std::to_string(static_cast<int64_t>(trainable)) + " float32 parameters x (4 + 8" +
                        (config.train.ema ? " + 4" : "") + ") B"});
  common.push_back({"VAE weights", n.vae * 4.0, std::to_string(n.vae) + " parameters x 4 B (float32)"});
  if (!cache) {
    const double text = static_cast<double>(n.clip_l + n.clip_g + n.t5);
    common.push_back(
        {"text encoders", text * w, "model.prompt_cache: off keeps CLIP-L, CLIP-G and T5 resident"});
  }
  common.push_back({"CUDA context, allocator reserve", kCudaReserveBytes, "fixed allowance"});

  MemoryPlan plan;
  plan.rollout = common;
  const double steps = config.sample.num_steps;
  const double latent_elems = static_cast<double>(c.vae.latent_channels * latent_side * latent_side);
  plan.rollout.push_back(
      {"trajectories", b * (steps + 1) * latent_elems * 4.0, "(num_steps + 1) float32 latents per image"});
  const double cfg_batch = config.sample.guidance_scale > 1.0 ? 2.0 * b : b;
  plan.rollout.push_back(
      {"transformer activations (no grad)", cfg_batch * tokens * d * kInferenceElementsPerToken * w,
       std::to_string(static_cast<int64_t>(cfg_batch)) + " sequences (CFG) x " + tok + " x " +
           std::to_string(static_cast<int64_t>(kInferenceElementsPerToken)) + " live elements"});
  const double widest = static_cast<double>(c.vae.block_out_channels.front());
  plan.rollout.push_back({"VAE decode activations", kVaeLiveMaps * widest * m.resolution * m.resolution * 4.0,
                          "one image at a time (sliced decode): " + std::to_string(int(kVaeLiveMaps)) +
                              " float32 maps of " + std::to_string(static_cast<int64_t>(widest)) + " x " +
                              std::to_string(m.resolution) + "^2"});

  plan.training = common;
  plan.training.push_back({what + " gradients", trainable * 4.0, "float32"});
  const double train_batch = config.train.cfg ? 2.0 * b : b;
  const double per_block = tokens * d * kBlockElementsPerToken * w;
  const double dual_extra = image_tokens * d * kDualElementsPerImageToken * w;
  const std::string seqs = std::to_string(static_cast<int64_t>(train_batch)) + " sequences" +
                           (config.train.cfg ? " (CFG in training)" : "");
  if (m.gradient_checkpointing) {
    plan.training.push_back({"checkpointed block inputs", train_batch * layers * tokens * d * w,
                             seqs + " x " + std::to_string(int(layers)) + " blocks x " + tok});
    plan.training.push_back(
        {"one block recomputed", train_batch * (per_block + dual_extra),
         seqs + " x " + std::to_string(int(kBlockElementsPerToken)) + " elements per token"});
  } else {
    plan.training.push_back({"activations for backward",
                             train_batch * (layers * per_block + dual * dual_extra),
                             seqs + " x " + std::to_string(int(layers)) + " blocks x " + tok + " x " +
                                 std::to_string(int(kBlockElementsPerToken)) + " elements per token (+" +
                                 std::to_string(int(kDualElementsPerImageToken)) + " per image token in " +
                                 std::to_string(int(dual)) + " dual blocks)"});
  }
  return plan;
}

}  // namespace flowgrpo::train
