#pragma once
/// @file sd3_transformer.h
/// The SD3 / SD3.5 MMDiT transformer: diffusers v0.33.1
/// `models/transformers/transformer_sd3.py::SD3Transformer2DModel`, with the same
/// module tree, so that `named_parameters()` + `named_buffers()` equal the keys of
/// a diffusers `transformer/diffusion_pytorch_model.safetensors` exactly:
///
///     pos_embed            PatchEmbed (proj conv + checkpoint buffer pos_embed)
///     time_text_embed      CombinedTimestepTextProjEmbeddings
///     context_embedder     Linear(joint_attention_dim → D)
///     transformer_blocks   ModuleList of JointTransformerBlock (last: context_pre_only)
///     norm_out             AdaLayerNormContinuous (scale, shift)
///     proj_out             Linear(D → p²·C_out), unpatchified in (p, q, c) order
///
/// Precision (as diffusers): computes in the parameters' dtype (fp32, bf16, fp16)
/// or under autocast; the sinusoidal timestep projection is float32 and then
/// cast to the pooled projections' dtype; RMSNorm statistics are float32.

#include "flowgrpo/models/attention.h"
#include "flowgrpo/models/embeddings.h"
#include "flowgrpo/models/load_options.h"
#include "flowgrpo/models/normalization.h"
#include "flowgrpo/models/transformers/joint_transformer_block.h"
#include "flowgrpo/models/transformers/sd3_transformer_config.h"
#include "flowgrpo/sampling/velocity_model.h"

#include <torch/torch.h>

#include <filesystem>
#include <string>

namespace flowgrpo::io {
class WeightSource;
}

namespace flowgrpo::models {

using SD3LoadOptions = LoadOptions;

class SD3TransformerImpl : public torch::nn::Module {
 public:
  /// Builds the module tree for `config` (validated first) with parameters of
  /// `dtype` on `device`, block by block so that no full-size float32 copy is
  /// ever held when another dtype is asked for. Weights are randomly initialised
  /// (LibTorch defaults) and `pos_embed.pos_embed` is zero until loaded.
  /// @throws std::invalid_argument if config.validate() fails.
  explicit SD3TransformerImpl(const SD3TransformerConfig& config, torch::Dtype dtype = torch::kFloat,
                              torch::Device device = torch::kCPU);

  /// The velocity (diffusers' `output.sample`).
  /// @param hidden_states latents [B, in_channels, H, W], H and W divisible by patch_size.
  /// @param encoder_hidden_states [B, S, joint_attention_dim].
  /// @param pooled_projections [B, pooled_projection_dim].
  /// @param timestep [B] (or one element, broadcast) in the 0..1000 scale (1000·σ).
  /// @param record if given, receives the `inter.*` activations of the diffusers fixtures
  ///        (`pos_embed`, `time_text_embed.time_proj`, `time_text_embed`, `context_embedder`,
  ///        `transformer_blocks.{i}.{0,1}` and their submodules, `norm_out`, `proj_out`).
  /// @return [B, out_channels, H, W].
  /// @throws std::invalid_argument naming the tensor, the expected and the found
  ///         shape for wrong ranks / channel or feature sizes / batch sizes, H or W
  ///         not divisible by patch_size, or a patch grid larger than pos_embed_max_size.
  torch::Tensor forward(const torch::Tensor& hidden_states, const torch::Tensor& encoder_hidden_states,
                        const torch::Tensor& pooled_projections, const torch::Tensor& timestep,
                        ActivationRecord* record = nullptr);

  /// Per-block activation checkpointing (gradient_checkpoint.h): when on and grad
  /// mode is enabled, each block keeps only its inputs and is recomputed in the
  /// backward (diffusers: `torch.is_grad_enabled() and self.gradient_checkpointing`).
  void set_gradient_checkpointing(bool enabled) { gradient_checkpointing_ = enabled; }
  bool gradient_checkpointing() const { return gradient_checkpointing_; }

  const SD3TransformerConfig& config() const { return config_; }
  /// dtype / device of the parameters (of pos_embed.proj.weight).
  torch::Dtype dtype() const;
  torch::Device device() const;

  /// Loads the weights strictly (io::load_state_dict): every parameter and
  /// buffer must be in `source` with its exact name and shape and nothing else
  /// may be; tensors are converted to the parameters' dtype. LoRA adapter
  /// tensors (`.lora_A.`, `.lora_B.`) of an injected model are not expected in
  /// `source` and keep their values.
  /// @throws std::invalid_argument listing every missing, unexpected and
  ///         mis-shaped tensor at once (the model is untouched then).
  void load_weights(const io::WeightSource& source);

  PatchEmbed pos_embed{nullptr};
  CombinedTimestepTextProjEmbeddings time_text_embed{nullptr};
  torch::nn::ModuleList transformer_blocks{nullptr};
  AdaLayerNormContinuous norm_out{nullptr};
  // context_embedder and proj_out are Linear children called by name (LoRA-injectable).

 private:
  SD3TransformerConfig config_;
  bool gradient_checkpointing_ = false;
};

/// Module holder for SD3TransformerImpl (TORCH_MODULE plus from_pretrained).
class SD3Transformer : public torch::nn::ModuleHolder<SD3TransformerImpl> {
 public:
  using torch::nn::ModuleHolder<SD3TransformerImpl>::ModuleHolder;
  using Impl = SD3TransformerImpl;

  /// Loads a diffusers SD3 transformer.
  /// @param path one of
  ///   - a pipeline folder containing `transformer/config.json` and the weights there;
  ///   - a component folder with `config.json` and `diffusion_pytorch_model.safetensors`
  ///     (or its sharded `.safetensors.index.json` form, see io::WeightSource::open);
  ///   - a weights file (`.safetensors` or `.index.json`) with `config.json` beside it.
  /// Weights may be F32, F16 or BF16 and are converted to options.dtype.
  /// @throws std::invalid_argument naming the path for a missing config or weights,
  ///         a bad config (SD3TransformerConfig::from_file) or a strict-loading
  ///         failure (every missing / unexpected / mis-shaped tensor listed).
  static SD3Transformer from_pretrained(const std::filesystem::path& path,
                                        const SD3LoadOptions& options = {});
};

/// The transformer as a sampling::VelocityModel: casts latents and conditioning
/// to the parameters' dtype and device, passes the timestep (float32, 1000·σ) as
/// is, and returns the velocity in the compute dtype.
class SD3VelocityModel : public sampling::VelocityModel {
 public:
  explicit SD3VelocityModel(SD3Transformer transformer);
  /// @throws std::invalid_argument if cond lacks encoder_hidden_states or
  ///         pooled_projections, or as SD3TransformerImpl::forward.
  torch::Tensor forward(const torch::Tensor& latents, const torch::Tensor& timestep,
                        const sampling::Conditioning& cond) override;
  SD3Transformer& transformer() { return transformer_; }

 private:
  SD3Transformer transformer_;
};

}  // namespace flowgrpo::models
