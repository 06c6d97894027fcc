#include "flowgrpo/models/pipelines/sd3_pipeline.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/log/logging.h"

#include <stdexcept>

namespace flowgrpo::models {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kSd3Classes = {"StableDiffusion3Pipeline"};

// Component configs against each other, before any weight is read.
void check_components(const ModelIndex& index, const SD3TransformerConfig& transformer,
                      const AutoencoderKLConfig& vae, int64_t resolution) {
  const auto t_file = (index.dir() / "transformer" / "config.json").string();
  const auto v_file = (index.dir() / "vae" / "config.json").string();
  if (vae.latent_channels != transformer.in_channels)
    throw std::invalid_argument(v_file + " has latent_channels " + std::to_string(vae.latent_channels) +
                                ", but " + t_file + " has in_channels " +
                                std::to_string(transformer.in_channels));
  if (transformer.out_channels != transformer.in_channels)
    throw std::invalid_argument(t_file + ": out_channels " + std::to_string(transformer.out_channels) +
                                " differs from in_channels " + std::to_string(transformer.in_channels) +
                                " (the velocity must live in the latent space)");
  const int64_t factor = vae.spatial_scale_factor() * transformer.patch_size;
  if (resolution <= 0 || resolution % factor != 0)
    throw std::invalid_argument(
        "model.resolution = " + std::to_string(resolution) + " is not a positive multiple of " +
        std::to_string(factor) + " (the VAE factor " + std::to_string(vae.spatial_scale_factor()) + " of " +
        v_file + " times patch_size " + std::to_string(transformer.patch_size) + " of " + t_file + ")");
  const int64_t patches = resolution / factor;
  if (patches > transformer.pos_embed_max_size)
    throw std::invalid_argument("model.resolution = " + std::to_string(resolution) + " needs " +
                                std::to_string(patches) + " patches per side, more than pos_embed_max_size " +
                                std::to_string(transformer.pos_embed_max_size) + " of " + t_file);
}

}  // namespace

std::unique_ptr<SD3Pipeline> SD3Pipeline::from_pretrained(const fs::path& dir,
                                                          const SD3PipelineOptions& options) {
  return with_context("SD3 pipeline " + dir.string(), [&] {
    std::unique_ptr<SD3Pipeline> p(new SD3Pipeline());
    p->options_ = options;
    p->index_ = ModelIndex::read(dir);
    const auto& index = p->index_;
    index.require_class(kSd3Classes, "the SD3 pipeline (model.type: sd3)");
    options.text.validate();
    const auto scheduler_dir = index.component_dir("scheduler", "FlowMatchEulerDiscreteScheduler");
    p->scheduler_ =
        sampling::FlowMatchSchedulerConfig::from_json_file(scheduler_dir / "scheduler_config.json");
    const auto transformer_dir = index.component_dir("transformer", "SD3Transformer2DModel");
    const auto vae_dir = index.component_dir("vae", "AutoencoderKL");
    const auto transformer_config = SD3TransformerConfig::from_file(transformer_dir / "config.json");
    const auto vae_config = AutoencoderKLConfig::from_file(vae_dir / "config.json");
    check_components(index, transformer_config, vae_config, options.resolution);
    SD3PromptEncoder::check_fits_transformer(index, transformer_config.joint_attention_dim,
                                             transformer_config.pooled_projection_dim);

    auto log = log::get("pipeline");
    if (!options.prompt_cache.empty()) {
      auto prompts = options.cache_prompts;  // the encoders live only while the cache is built
      prompts.emplace_back("");
      p->cache_ =
          SD3PromptEncoder::open_cache(index, options.prompt_cache, prompts, options.load, options.text,
                                       options.build_cache, options.cache_batch_size, options.progress);
      log->info("prompt embeddings from {} ({} prompts); text encoders not loaded",
                options.prompt_cache.string(), p->cache_->size());
    } else {
      p->encoder_ = SD3PromptEncoder::from_pretrained(index, options.load, options.text);
    }
    p->transformer_ = SD3Transformer::from_pretrained(transformer_dir, options.load);
    p->transformer_->set_gradient_checkpointing(options.gradient_checkpointing);
    p->vae_ = AutoencoderKL::from_pretrained(vae_dir, {torch::kFloat, options.load.device});
    p->vae_->set_slice_size(options.vae_slice_size);
    p->velocity_ = std::make_unique<SD3VelocityModel>(p->transformer_);
    return p;
  });
}

sampling::Conditioning SD3Pipeline::encode_prompts(const std::vector<std::string>& prompts) {
  if (cache_) {
    auto c = cache_->lookup(prompts);
    return {c.encoder_hidden_states.to(options_.load.device, options_.load.dtype),
            c.pooled_projections.to(options_.load.device, options_.load.dtype)};
  }
  return encoder_->encode(prompts);
}

std::vector<int64_t> SD3Pipeline::latent_shape() const {
  const int64_t side = options_.resolution / vae_->spatial_scale_factor();
  return {vae_->config().latent_channels, side, side};
}

torch::Tensor SD3Pipeline::decode(const torch::Tensor& latents) {
  torch::NoGradGuard no_grad;
  return vae_->decode_to_image01(latents.detach().to(torch::kFloat)).to(torch::kCPU);
}

sampling::Schedule SD3Pipeline::schedule(int num_steps) const {
  const auto shape = latent_shape();
  const int64_t tokens =
      (shape[1] / transformer_->config().patch_size) * (shape[2] / transformer_->config().patch_size);
  return sampling::make_schedule(num_steps, scheduler_, tokens);
}

}  // namespace flowgrpo::models
