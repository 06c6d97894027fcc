#include "flowgrpo/shapes/shapes_pipeline.h"
#include "flowgrpo/io/text_file.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/state_dict.h"
#include "flowgrpo/io/weight_source.h"
#include "flowgrpo/models/embeddings.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>

namespace flowgrpo::shapes {

namespace fs = std::filesystem;

namespace {

int64_t read_resolution(const fs::path& dir) {
  const auto index_path = dir / "model_index.json";
  const auto index = io::read_json_file(index_path);
  if (!index.is_object() || index.value("_class_name", "") != "ShapesPipeline")
    throw std::invalid_argument(index_path.string() +
                                ": not a ShapesEval model (expected \"_class_name\": \"ShapesPipeline\")");
  if (!index.contains("resolution") || !index["resolution"].is_number_integer() ||
      index["resolution"].get<int64_t>() < 1)
    throw std::invalid_argument(index_path.string() + ": \"resolution\" must be a positive integer");
  return index["resolution"].get<int64_t>();
}

}  // namespace

ShapesPipeline::ShapesPipeline(const models::SD3TransformerConfig& transformer_config,
                               const ShapesTextEncoderConfig& text_config, WordTokenizer tokenizer,
                               sampling::FlowMatchSchedulerConfig scheduler, int64_t resolution,
                               torch::Device device, models::AutoencoderKL vae)
    : vae_(std::move(vae)),
      tokenizer_(std::move(tokenizer)),
      scheduler_(scheduler),
      resolution_(resolution),
      device_(device) {
  if (text_config.vocab_size != tokenizer_.vocab_size())
    throw std::invalid_argument("shapes pipeline: text encoder vocab_size " +
                                std::to_string(text_config.vocab_size) + " does not match the tokenizer's " +
                                std::to_string(tokenizer_.vocab_size()));
  if (text_config.max_position_embeddings < tokenizer_.max_length())
    throw std::invalid_argument(
        "shapes pipeline: text encoder max_position_embeddings is shorter than the tokenizer's "
        "max_length");
  if (transformer_config.joint_attention_dim != text_config.hidden_size ||
      transformer_config.pooled_projection_dim != text_config.projection_dim)
    throw std::invalid_argument(
        "shapes pipeline: transformer joint_attention_dim / pooled_projection_dim must equal the text "
        "encoder's "
        "hidden_size / projection_dim");
  // The transformer's input: RGB pixels, or the VAE's latents at resolution / f.
  int64_t channels = 3;
  int64_t side = resolution_;
  std::string space =
      "pixel space (no vae/): 3 channels, " + std::to_string(resolution_) + "x" + std::to_string(resolution_);
  if (!vae_.is_empty()) {
    const auto& vc = vae_->config();
    const int64_t f = vc.spatial_scale_factor();
    if (resolution_ % f != 0)
      throw std::invalid_argument("shapes pipeline: resolution " + std::to_string(resolution_) +
                                  " is not a multiple of vae/config.json's spatial factor " +
                                  std::to_string(f));
    if (vc.in_channels != 3 || vc.out_channels != 3)
      throw std::invalid_argument("shapes pipeline: vae/config.json must map RGB images (in/out_channels 3)");
    channels = vc.latent_channels;
    side = resolution_ / f;
    space = "vae/config.json latents: latent_channels " + std::to_string(channels) + ", " +
            std::to_string(side) + "x" + std::to_string(side) + " (resolution " +
            std::to_string(resolution_) + " / factor " + std::to_string(f) + ")";
    vae_->to(device);
    vae_->eval();
    for (auto& p : vae_->parameters()) p.set_requires_grad(false);
  }
  if (transformer_config.in_channels != channels || transformer_config.out_channels != channels ||
      transformer_config.sample_size != side)
    throw std::invalid_argument("shapes pipeline: transformer/config.json (in_channels " +
                                std::to_string(transformer_config.in_channels) + ", out_channels " +
                                std::to_string(transformer_config.out_channels) + ", sample_size " +
                                std::to_string(transformer_config.sample_size) + ") does not take the " +
                                space);
  if (side % transformer_config.patch_size != 0 ||
      side / transformer_config.patch_size > transformer_config.pos_embed_max_size)
    throw std::invalid_argument("shapes pipeline: a " + std::to_string(side) + "x" + std::to_string(side) +
                                " input does not fit the transformer's patch size / positional table");
  transformer_ = models::SD3Transformer(transformer_config, torch::kFloat, device);
  text_encoder_ = ShapesTextEncoder(text_config);
  text_encoder_->to(device);
  {
    // From scratch: the sincos table SD3 checkpoints carry, and adaLN-Zero
    // (modulation and output layers zero, every block starts as the identity).
    torch::NoGradGuard no_grad;
    const auto& c = transformer_config;
    transformer_->pos_embed->pos_embed.copy_(models::sd3_sincos_pos_embed(
        c.num_attention_heads * c.attention_head_dim, c.pos_embed_max_size, c.sample_size / c.patch_size));
    for (auto& p : transformer_->named_parameters()) {
      const auto& n = p.key();
      if (n.find("norm1.linear") != std::string::npos ||
          n.find("norm1_context.linear") != std::string::npos || n.rfind("norm_out.linear", 0) == 0 ||
          n.rfind("proj_out", 0) == 0)
        p.value().zero_();
    }
  }
  velocity_ = std::make_unique<models::SD3VelocityModel>(transformer_);
}

namespace {

// A latent model's trained VAE: from `vae_dir` if given (checked against the
// architecture's vae/config.json when there is one), else from dir/vae; null for
// a pixel model.
models::AutoencoderKL load_trained_vae(const fs::path& dir, const fs::path& vae_dir) {
  const auto arch_config = dir / "vae" / "config.json";
  if (vae_dir.empty()) {
    if (!fs::exists(arch_config)) return models::AutoencoderKL{nullptr};
    if (!fs::exists(dir / "vae" / "diffusion_pytorch_model.safetensors") &&
        !fs::exists(dir / "vae" / "diffusion_pytorch_model.safetensors.index.json"))
      throw std::invalid_argument((dir / "vae").string() +
                                  " holds a VAE config but no weights: a latent model needs its trained VAE "
                                  "(train it with pretrain.stage: vae and set pretrain.vae to its folder)");
    return models::AutoencoderKL::from_pretrained(dir / "vae");
  }
  auto vae = models::AutoencoderKL::from_pretrained(vae_dir);
  if (fs::exists(arch_config)) {
    auto expected = models::AutoencoderKLConfig::from_file(arch_config);
    expected.scaling_factor = vae->config().scaling_factor;
    expected.shift_factor = vae->config().shift_factor;
    if (expected != vae->config())
      throw std::invalid_argument("the trained VAE " + vae_dir.string() + " has another architecture than " +
                                  arch_config.string());
  }
  return vae;
}

}  // namespace

std::unique_ptr<ShapesPipeline> ShapesPipeline::from_configs(const fs::path& dir, torch::Device device,
                                                             const fs::path& vae_dir) {
  return with_context("shapes model " + dir.string(), [&] {
    return std::make_unique<ShapesPipeline>(
        models::SD3TransformerConfig::from_file(dir / "transformer" / "config.json"),
        ShapesTextEncoderConfig::from_file(dir / "text_encoder" / "config.json"),
        WordTokenizer::from_file(dir / "tokenizer" / "vocab.json"),
        sampling::FlowMatchSchedulerConfig::from_json_file(dir / "scheduler" / "scheduler_config.json"),
        read_resolution(dir), device, load_trained_vae(dir, vae_dir));
  });
}

std::unique_ptr<ShapesPipeline> ShapesPipeline::load(const fs::path& dir, torch::Device device) {
  auto p = from_configs(dir, device);
  with_context("shapes model " + dir.string(), [&] {
    p->transformer_->load_weights(io::WeightSource::open(dir / "transformer"));
    io::load_state_dict(*p->text_encoder_,
                        io::WeightSource::open(dir / "text_encoder" / "model.safetensors"));
  });
  return p;
}

void ShapesPipeline::save(const fs::path& dir) const {
  const auto& tc = transformer_->config();
  io::write_text_atomic(dir / "model_index.json",
                        nlohmann::json{{"_class_name", "ShapesPipeline"}, {"resolution", resolution_}}.dump(
                            2, ' ', false, nlohmann::json::error_handler_t::replace) +
                            "\n");
  io::write_text_atomic(dir / "transformer" / "config.json",
                        tc.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  io::TensorMap weights;
  for (const auto& [name, t] : io::state_dict(*transformer_))
    weights[name] = t.detach().to(torch::kCPU).contiguous();
  io::save_safetensors(dir / "transformer" / "diffusion_pytorch_model.safetensors", weights);
  io::write_text_atomic(
      dir / "text_encoder" / "config.json",
      text_encoder_->config().to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  io::TensorMap text;
  for (const auto& [name, t] : io::state_dict(*text_encoder_))
    text[name] = t.detach().to(torch::kCPU).contiguous();
  io::save_safetensors(dir / "text_encoder" / "model.safetensors", text);
  io::write_text_atomic(
      dir / "tokenizer" / "vocab.json",
      nlohmann::json{{"words", tokenizer_.words()}, {"max_length", tokenizer_.max_length()}}.dump(
          1, ' ', false, nlohmann::json::error_handler_t::replace) +
          "\n");
  const nlohmann::json scheduler{{"_class_name", "FlowMatchEulerDiscreteScheduler"},
                                 {"num_train_timesteps", scheduler_.num_train_timesteps},
                                 {"shift", scheduler_.shift},
                                 {"use_dynamic_shifting", scheduler_.use_dynamic_shifting},
                                 {"base_shift", scheduler_.base_shift},
                                 {"max_shift", scheduler_.max_shift},
                                 {"base_image_seq_len", scheduler_.base_image_seq_len},
                                 {"max_image_seq_len", scheduler_.max_image_seq_len}};
  io::write_text_atomic(dir / "scheduler" / "scheduler_config.json",
                        scheduler.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  if (!vae_.is_empty()) vae_->save_pretrained(dir / "vae");
}

sampling::Conditioning ShapesPipeline::encode_prompts(const std::vector<std::string>& prompts) {
  const auto ids = tokenizer_.encode(prompts).to(device_);
  const auto out = text_encoder_->forward(ids, tokenizer_.eos_positions(ids));
  return {out.hidden_states, out.pooled};
}

std::vector<int64_t> ShapesPipeline::latent_shape() const {
  if (vae_.is_empty()) return {3, resolution_, resolution_};
  const int64_t side = resolution_ / vae_->spatial_scale_factor();
  return {vae_->config().latent_channels, side, side};
}

torch::Tensor ShapesPipeline::decode(const torch::Tensor& latents) {
  if (vae_.is_empty()) return (latents.to(torch::kCPU, torch::kFloat) * 0.5 + 0.5).clamp(0.0, 1.0);
  torch::NoGradGuard no_grad;
  return vae_->decode_to_image01(latents.detach().to(torch::kFloat)).to(torch::kCPU);
}

torch::Tensor ShapesPipeline::normalize_images(const torch::Tensor& images) {
  const auto x =
      images.scalar_type() == torch::kByte ? images.to(torch::kFloat) / 255.0 : images.to(torch::kFloat);
  return x * 2.0 - 1.0;
}

torch::Tensor ShapesPipeline::encode_images(const torch::Tensor& images) {
  const auto x = normalize_images(images).to(device_);
  if (vae_.is_empty()) return x;
  torch::NoGradGuard no_grad;
  return vae_->to_model_space(vae_->encode(x).mode());
}

sampling::Schedule ShapesPipeline::schedule(int num_steps) const {
  return sampling::make_schedule(num_steps, scheduler_, 0);
}

}  // namespace flowgrpo::shapes
