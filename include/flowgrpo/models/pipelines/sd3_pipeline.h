#pragma once
/// @file sd3_pipeline.h
/// Stable Diffusion 3 / 3.5 from a diffusers folder, as diffusers'
/// `StableDiffusion3Pipeline` wires it: `model_index.json`, `scheduler/`
/// (FlowMatchEulerDiscreteScheduler), `transformer/` (SD3Transformer2DModel),
/// `vae/` (AutoencoderKL, 16 latent channels), `text_encoder/` + `tokenizer/`
/// (CLIP-L), `text_encoder_2/` + `tokenizer_2/` (CLIP-G), `text_encoder_3/` +
/// `tokenizer_3/` (T5-XXL, sharded). The pipeline only wires components; each is a
/// model of its own (FLUX reuses the VAE, CLIP-L and T5).
///
/// Precision and placement follow flow_grpo: the transformer and the text encoders
/// in the requested dtype, the VAE in float32, everything on the requested device.
///
/// Prompt embeddings come from the text encoders, or — with a prompt cache — from a
/// file built once (PromptEmbeddingCache); then the encoders are loaded only to build
/// or extend the cache and are released before training starts.

#include "flowgrpo/models/autoencoders/autoencoder_kl.h"
#include "flowgrpo/models/load_options.h"
#include "flowgrpo/models/pipelines/model_index.h"
#include "flowgrpo/models/pipelines/prompt_embedding_cache.h"
#include "flowgrpo/models/pipelines/sd3_prompt_encoder.h"
#include "flowgrpo/models/pipelines/text_to_image_pipeline.h"
#include "flowgrpo/models/transformers/sd3_transformer.h"
#include "flowgrpo/sampling/schedule.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace flowgrpo::models {

struct SD3PipelineOptions {
  LoadOptions load;          ///< dtype and device of the transformer and text encoders
  int64_t resolution = 512;  ///< image side in pixels
  SD3PromptEncoderOptions text;
  /// Prompt-embedding cache file; empty = encode with the text encoders on demand.
  std::filesystem::path prompt_cache;
  /// Prompts the cache must hold (built or extended at load time); "" is always added.
  std::vector<std::string> cache_prompts;
  /// Whether this process may build or extend the cache (rank 0 of a multi-process
  /// run); otherwise the cache must already be complete.
  bool build_cache = true;
  int64_t cache_batch_size = 16;
  /// Per-block activation checkpointing of the transformer (model.gradient_checkpointing).
  bool gradient_checkpointing = false;
  /// Images the VAE decodes at once (diffusers' enable_slicing() is 1): the decoder's
  /// full-resolution activations are ~0.5 GB per 512² image in float32.
  int64_t vae_slice_size = 1;
  bool progress = true;  ///< progress bar while building the cache
};

class SD3Pipeline final : public TextToImagePipeline {
 public:
  /// Loads a diffusers SD3 folder (see the file comment). Every config.json is read and
  /// validated, components are checked against each other (VAE latent channels vs the
  /// transformer's in_channels, T5 width vs joint_attention_dim, CLIP projections vs
  /// pooled_projection_dim, resolution vs the VAE factor and patch size) and every
  /// weight is strict-loaded.
  /// @throws std::invalid_argument naming the folder, component, file or tensor: another
  ///         model family (`_class_name` not StableDiffusion3Pipeline), a missing
  ///         component, a mismatch (naming both configs), a stale or incomplete prompt
  ///         cache this process may not rebuild.
  static std::unique_ptr<SD3Pipeline> from_pretrained(const std::filesystem::path& dir,
                                                      const SD3PipelineOptions& options = {});

  std::string name() const override { return "sd3"; }
  /// From the cache when one is set (every prompt must be in it), else from the encoders.
  sampling::Conditioning encode_prompts(const std::vector<std::string>& prompts) override;
  /// [latent_channels, resolution / f, resolution / f], f = the VAE's factor (8).
  std::vector<int64_t> latent_shape() const override;
  /// The SD3 pipeline's output: VAE decode of latents / scaling + shift, clamped to
  /// [0, 1], float32 on the CPU.
  torch::Tensor decode(const torch::Tensor& latents) override;
  sampling::VelocityModel& velocity_model() override { return *velocity_; }
  torch::nn::Module& transformer_module() override { return *transformer_; }
  sampling::Schedule schedule(int num_steps) const override;
  torch::Device device() const override { return options_.load.device; }

  SD3Transformer& transformer() { return transformer_; }
  AutoencoderKL& vae() { return vae_; }
  /// Null when the embeddings come from a cache.
  SD3PromptEncoder* prompt_encoder() { return encoder_.get(); }
  const std::optional<PromptEmbeddingCache>& prompt_cache() const { return cache_; }
  const ModelIndex& model_index() const { return index_; }
  const sampling::FlowMatchSchedulerConfig& scheduler_config() const { return scheduler_; }

 private:
  SD3Pipeline() = default;
  ModelIndex index_;
  SD3PipelineOptions options_;
  sampling::FlowMatchSchedulerConfig scheduler_;
  SD3Transformer transformer_{nullptr};
  AutoencoderKL vae_{nullptr};
  std::unique_ptr<SD3PromptEncoder> encoder_;
  std::optional<PromptEmbeddingCache> cache_;
  std::unique_ptr<SD3VelocityModel> velocity_;
};

}  // namespace flowgrpo::models
