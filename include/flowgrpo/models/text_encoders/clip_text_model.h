#pragma once
/// @file clip_text_model.h
/// transformers `models/clip/modeling_clip.py::CLIPTextModelWithProjection`, the
/// CLIP-L (`text_encoder/`) and CLIP-G (`text_encoder_2/`) text encoders of SD3 /
/// SD3.5, with the same module tree, so that `named_parameters()` equal the keys
/// of their `model.safetensors` exactly:
///
///     text_model.embeddings.{token_embedding,position_embedding}.weight
///     text_model.encoder.layers.{i}.self_attn.{q,k,v,out}_proj.{weight,bias}
///     text_model.encoder.layers.{i}.{layer_norm1,layer_norm2}.{weight,bias}
///     text_model.encoder.layers.{i}.mlp.{fc1,fc2}.{weight,bias}
///     text_model.final_layer_norm.{weight,bias}
///     text_projection.weight                        (no bias)
///
/// SD3 uses `penultimate_hidden_state` (per token) and `text_embeds` (pooled);
/// see models.md §4 and docs/models.md "CLIP text encoders".
///
/// Precision: computes in the parameters' dtype, the attention softmax in float32
/// for float16 / bfloat16 parameters.

#include "flowgrpo/models/load_options.h"
#include "flowgrpo/models/text_encoders/clip_layers.h"
#include "flowgrpo/models/text_encoders/clip_text_config.h"
#include "flowgrpo/models/text_encoders/clip_text_transformer.h"

#include <torch/torch.h>

#include <filesystem>

namespace flowgrpo::io {
class WeightSource;
}

namespace flowgrpo::models {

class CLIPTextModelWithProjectionImpl : public torch::nn::Module {
 public:
  /// Builds the module tree for `config` (validated first) with parameters of
  /// `dtype` on `device`, created directly there (nothing is allocated on the
  /// `meta` device, so real-size models can be built to count parameters).
  /// @param initialize true: weights as transformers' `CLIPPreTrainedModel._init_weights`
  ///        draws them from the global generator (normal embeddings and projections,
  ///        zero biases, LayerNorm 1 / 0); false: left uninitialised, for a
  ///        caller that loads every tensor next (from_pretrained). Ignored on `meta`.
  /// @throws std::invalid_argument if config.validate() fails.
  explicit CLIPTextModelWithProjectionImpl(const CLIPTextConfig& config, torch::Dtype dtype = torch::kFloat,
                                           torch::Device device = torch::kCPU, bool initialize = true);

  /// The encoder on `input_ids` [B, S]: integer ids in [0, vocab_size),
  /// S <= max_position_embeddings (SD3 passes 77 tokenizer ids), moved to the
  /// parameters' device. Causal attention, no padding mask (as SD3 calls it).
  /// @param output_hidden_states also fill CLIPTextOutput::hidden_states (all N + 1).
  /// @return every CLIPTextOutput field, in the parameters' dtype.
  /// @throws std::invalid_argument naming what was expected and found for ids that
  ///         are undefined, not rank 2, not integers, empty, too long or out of range.
  CLIPTextOutput forward(const torch::Tensor& input_ids, bool output_hidden_states = false);

  const CLIPTextConfig& config() const { return config_; }
  /// dtype / device of the parameters (of text_projection.weight).
  torch::Dtype dtype() const;
  torch::Device device() const;

  /// Loads the weights strictly: every parameter must be in `source` with its
  /// exact name and shape and nothing else may be, except
  /// `text_model.embeddings.position_ids` (a buffer older transformers saved),
  /// which is ignored. F32 / F16 / BF16 tensors are converted to the parameters' dtype.
  /// @throws std::invalid_argument listing every missing, unexpected and
  ///         mis-shaped tensor at once (the model is untouched then).
  void load_weights(const io::WeightSource& source);

  /// Writes a transformers component folder: `dir/config.json` (config().to_json()
  /// plus `torch_dtype`) and `dir/model.safetensors` (every parameter, current
  /// names, the parameters' dtype, metadata {"format": "pt"}), which transformers'
  /// `CLIPTextModelWithProjection.from_pretrained(dir)` and from_pretrained() read.
  /// Creates `dir` if needed.
  /// @throws std::runtime_error naming the file if writing fails.
  void save_pretrained(const std::filesystem::path& dir) const;

  CLIPTextTransformer text_model{nullptr};
  CLIPLinear text_projection{nullptr};  ///< Linear(d → projection_dim), no bias.

 private:
  void init_weights();

  CLIPTextConfig config_;
};

/// Module holder for CLIPTextModelWithProjectionImpl (TORCH_MODULE plus from_pretrained).
class CLIPTextModelWithProjection : public torch::nn::ModuleHolder<CLIPTextModelWithProjectionImpl> {
 public:
  using torch::nn::ModuleHolder<CLIPTextModelWithProjectionImpl>::ModuleHolder;
  using Impl = CLIPTextModelWithProjectionImpl;

  /// Loads a transformers CLIPTextModelWithProjection in eval mode.
  /// @param path one of
  ///   - a component folder (SD3's `text_encoder/` or `text_encoder_2/`) with
  ///     `config.json` and `model.safetensors` (or its sharded
  ///     `model.safetensors.index.json` form, see io::WeightSource::open);
  ///   - a weights file (`.safetensors` or `.index.json`) with `config.json` beside it.
  /// Weights may be F32, F16 or BF16 and are converted to options.dtype.
  /// @throws std::invalid_argument naming the path for a missing config or weights,
  ///         a bad config (CLIPTextConfig::from_file) or a strict-loading failure
  ///         (every missing / unexpected / mis-shaped tensor listed).
  static CLIPTextModelWithProjection from_pretrained(const std::filesystem::path& path,
                                                     const LoadOptions& options = {});
};

}  // namespace flowgrpo::models
