#pragma once
/// @file shapes_pipeline.h
/// The ShapesEval model: an SD3-architecture transformer working directly in
/// pixel space (x = 2·image − 1, three channels, no VAE) conditioned by a small
/// word-level text encoder. Stored in a diffusers-style folder:
///
///     model_index.json                  {"_class_name": "ShapesPipeline", "resolution": 32}
///     transformer/config.json           diffusers SD3Transformer2DModel config
///     transformer/diffusion_pytorch_model.safetensors
///     text_encoder/config.json          ShapesTextEncoderConfig
///     text_encoder/model.safetensors
///     tokenizer/vocab.json              WordTokenizer
///     scheduler/scheduler_config.json   FlowMatchEulerDiscreteScheduler
///
/// Loading is strict everywhere (names, shapes); a folder of another model is
/// refused with the reason.

#include "flowgrpo/models/sd3_transformer.h"
#include "flowgrpo/models/shapes_text_encoder.h"
#include "flowgrpo/models/text_to_image_pipeline.h"
#include "flowgrpo/models/word_tokenizer.h"

#include <filesystem>
#include <memory>

namespace flowgrpo::models {

class ShapesPipeline final : public TextToImagePipeline {
 public:
  /// A freshly initialised model from component configs (pretraining): random
  /// weights, the sincos positional table, zero-initialised output layers.
  ShapesPipeline(const SD3TransformerConfig& transformer_config, const ShapesTextEncoderConfig& text_config,
                 WordTokenizer tokenizer, sampling::FlowMatchSchedulerConfig scheduler, int64_t resolution,
                 torch::Device device = torch::kCPU);

  /// Loads a saved pipeline folder (see the file comment).
  /// @throws std::invalid_argument naming the folder / file and the problem.
  static std::unique_ptr<ShapesPipeline> load(const std::filesystem::path& dir,
                                              torch::Device device = torch::kCPU);
  /// Creates an untrained pipeline from a folder holding only the configs
  /// (model_index.json, transformer/config.json, text_encoder/config.json,
  /// tokenizer/vocab.json, scheduler/scheduler_config.json).
  static std::unique_ptr<ShapesPipeline> from_configs(const std::filesystem::path& dir,
                                                      torch::Device device = torch::kCPU);
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

  /// Images [B,3,H,W] (uint8, or float in [0,1]) -> model space x = 2·img − 1, float32.
  static torch::Tensor encode_images(const torch::Tensor& images);

  SD3Transformer& transformer() { return transformer_; }
  ShapesTextEncoder& text_encoder() { return text_encoder_; }
  const WordTokenizer& tokenizer() const { return tokenizer_; }
  int64_t resolution() const { return resolution_; }

 private:
  SD3Transformer transformer_{nullptr};
  ShapesTextEncoder text_encoder_{nullptr};
  WordTokenizer tokenizer_;
  sampling::FlowMatchSchedulerConfig scheduler_;
  int64_t resolution_;
  torch::Device device_;
  std::unique_ptr<SD3VelocityModel> velocity_;
};

}  // namespace flowgrpo::models
