#pragma once
/// @file text_to_image_pipeline.h
/// What the trainer and the evaluator need from a text-to-image model, whatever
/// it is (the ShapesEval pixel-space model, SD3.5 with its VAE and three text
/// encoders, FLUX): prompt encoding, the velocity model, the latent shape, the
/// schedule and decoding to images.

#include "flowgrpo/sampling/schedule.h"
#include "flowgrpo/sampling/velocity_model.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace flowgrpo::models {

class TextToImagePipeline {
 public:
  virtual ~TextToImagePipeline() = default;

  /// A short identifier ("shapes", "sd3").
  virtual std::string name() const = 0;
  /// Conditioning for `prompts` ("" is the unconditional prompt of CFG). Runs
  /// under the caller's grad mode. Throws std::invalid_argument for prompts the
  /// encoders cannot take (e.g. out-of-vocabulary words), naming the prompt.
  virtual sampling::Conditioning encode_prompts(const std::vector<std::string>& prompts) = 0;
  /// The latent of one image, [C,H,W].
  virtual std::vector<int64_t> latent_shape() const = 0;
  /// Images [B,3,H,W] float32 in [0,1] on the CPU from latents [B,C,h,w].
  virtual torch::Tensor decode(const torch::Tensor& latents) = 0;
  /// The flow-matching velocity field (the transformer).
  virtual sampling::VelocityModel& velocity_model() = 0;
  /// The module RL fine-tunes (LoRA adapters are injected into it).
  virtual torch::nn::Module& transformer_module() = 0;
  /// The sampling schedule of `num_steps` steps for this model.
  virtual sampling::Schedule schedule(int num_steps) const = 0;
  virtual torch::Device device() const = 0;
};

}  // namespace flowgrpo::models
