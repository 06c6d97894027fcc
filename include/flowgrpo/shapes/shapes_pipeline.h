#pragma once
/// @file shapes_pipeline.h
/// The ShapesEval model: an SD3-architecture transformer conditioned by a small
/// word-level text encoder, in one of two spaces:
///   - pixel: the transformer works on x = 2·image − 1 (three channels, no VAE);
///   - latent: as SD3 itself, on (z − shift_factor)·scaling_factor of a frozen
///     models::AutoencoderKL (vae/), decoded before the reward.
/// Stored in a diffusers-style folder:
///
///     model_index.json                  {"_class_name": "ShapesPipeline", "resolution": 32}
///     transformer/config.json           diffusers SD3Transformer2DModel config
///     transformer/diffusion_pytorch_model.safetensors
///     text_encoder/config.json          ShapesTextEncoderConfig
///     text_encoder/model.safetensors
///     tokenizer/vocab.json              WordTokenizer
///     scheduler/scheduler_config.json   FlowMatchEulerDiscreteScheduler
///     vae/config.json                   diffusers models::AutoencoderKL config   (latent models only)
///     vae/diffusion_pytorch_model.safetensors
///
/// Loading is strict everywhere (names, shapes); a folder of another model, or a
/// VAE whose latents the transformer cannot take, is refused with the reason.

#include "flowgrpo/models/autoencoders/autoencoder_kl.h"
#include "flowgrpo/models/pipelines/text_to_image_pipeline.h"
#include "flowgrpo/models/transformers/sd3_transformer.h"
#include "flowgrpo/shapes/shapes_text_encoder.h"
#include "flowgrpo/shapes/word_tokenizer.h"

#include <filesystem>
#include <memory>

namespace flowgrpo::shapes {

class ShapesPipeline final : public models::TextToImagePipeline {
 public:
  /// A freshly initialised model from component configs (pretraining): random
  /// weights, the sincos positional table, zero-initialised output layers.
  /// @param vae null for a pixel model; otherwise the (trained) autoencoder whose
  ///        latents the transformer works on. It is frozen and kept in float32.
  /// @throws std::invalid_argument if the components do not fit together (the
  ///         transformer's in/out_channels and sample_size against the VAE's
  ///         latent_channels and resolution / spatial factor, naming both configs).
  ShapesPipeline(const models::SD3TransformerConfig& transformer_config,
                 const ShapesTextEncoderConfig& text_config, WordTokenizer tokenizer,
                 sampling::FlowMatchSchedulerConfig scheduler, int64_t resolution,
                 torch::Device device = torch::kCPU,
                 models::AutoencoderKL vae = models::AutoencoderKL{nullptr});

  /// Loads a saved pipeline folder (see the file comment).
  /// @throws std::invalid_argument naming the folder / file and the problem.
  static std::unique_ptr<ShapesPipeline> load(const std::filesystem::path& dir,
                                              torch::Device device = torch::kCPU);
  /// Creates a pipeline with an untrained transformer and text encoder from a
  /// folder holding their configs (model_index.json, transformer/config.json,
  /// text_encoder/config.json, tokenizer/vocab.json, scheduler/scheduler_config.json).
  /// A latent model's VAE is loaded trained: from `vae_dir` when given (its
  /// architecture must equal dir/vae/config.json's, scaling and shift aside, if that
  /// exists), else from dir/vae, which must then hold weights.
  static std::unique_ptr<ShapesPipeline> from_configs(const std::filesystem::path& dir,
                                                      torch::Device device = torch::kCPU,
                                                      const std::filesystem::path& vae_dir = {});
  /// Writes the folder atomically enough for resumption: every file is written
  /// with io's atomic writer or replaced by rename.
  void save(const std::filesystem::path& dir) const;

  std::string name() const override { return "shapes"; }
  sampling::Conditioning encode_prompts(const std::vector<std::string>& prompts) override;
  std::vector<int64_t> latent_shape() const override;
  torch::Tensor decode(const torch::Tensor& latents) override;
  sampling::VelocityModel& velocity_model() override { return *velocity_; }
  torch::nn::Module& transformer_module() override { return *transformer_; }
  sampling::Schedule schedule(int num_steps) const override;
  torch::Device device() const override { return device_; }

  /// Images [B,3,H,W] (uint8, or float in [0,1]) -> normalised images 2·img − 1, float32.
  static torch::Tensor normalize_images(const torch::Tensor& images);
  /// Images [B,3,H,W] (uint8, or float in [0,1]) -> the transformer's space, float32
  /// on device(): normalize_images for a pixel model; for a latent one the VAE's
  /// posterior mode in model space, (z − shift)·scale (no gradient).
  torch::Tensor encode_images(const torch::Tensor& images);

  /// Whether the transformer works on VAE latents.
  bool is_latent() const { return !vae_.is_empty(); }
  /// The frozen VAE; null for a pixel model.
  models::AutoencoderKL vae() const { return vae_; }

  models::SD3Transformer& transformer() { return transformer_; }
  ShapesTextEncoder& text_encoder() { return text_encoder_; }
  const WordTokenizer& tokenizer() const { return tokenizer_; }
  int64_t resolution() const { return resolution_; }

 private:
  models::SD3Transformer transformer_{nullptr};
  models::AutoencoderKL vae_{nullptr};
  ShapesTextEncoder text_encoder_{nullptr};
  WordTokenizer tokenizer_;
  sampling::FlowMatchSchedulerConfig scheduler_;
  int64_t resolution_;
  torch::Device device_;
  std::unique_ptr<models::SD3VelocityModel> velocity_;
};

}  // namespace flowgrpo::shapes
