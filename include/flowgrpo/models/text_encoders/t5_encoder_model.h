#pragma once
/// @file t5_encoder_model.h
/// transformers' `T5EncoderModel` (models/t5/modeling_t5.py): the text encoder
/// of SD3 / SD3.5 (`text_encoder_3`) and FLUX.1 (`text_encoder_2`), T5-XXL v1.1
/// (T5Config::t5_v1_1_xxl(), 4,762,310,656 parameters). The module tree equals
/// transformers', so `named_parameters()` equal the keys of its
/// `model.safetensors`:
///
///     shared.weight                                                [vocab, d_model]
///     encoder.block.{i}.layer.0.SelfAttention.{q,k,v}.weight       [H·d_kv, d_model]
///     encoder.block.{i}.layer.0.SelfAttention.o.weight             [d_model, H·d_kv]
///     encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight  [buckets, H]
///     encoder.block.{i}.layer.0.layer_norm.weight                  [d_model]
///     encoder.block.{i}.layer.1.DenseReluDense.{wi_0,wi_1}.weight  [d_ff, d_model]  (gated; `wi` if plain)
///     encoder.block.{i}.layer.1.DenseReluDense.wo.weight           [d_model, d_ff]
///     encoder.block.{i}.layer.1.layer_norm.weight                  [d_model]
///     encoder.final_layer_norm.weight                              [d_model]
///
/// transformers' `encoder.embed_tokens` is the same module as `shared` (tied);
/// it is not a separate parameter here, and files that carry it are accepted
/// (see load_weights).
///
/// Precision: float32, bfloat16 or float16 parameters. With float16 the `wo`
/// weights stay float32 (transformers' `_keep_in_fp32_modules = ["wo"]`), the
/// residual stream becomes float32 from the first feed-forward on (type
/// promotion, as in transformers), attention softmaxes run in float32 and
/// float16 states are clamped after each sub-layer (T5BlockImpl); bfloat16 is
/// computed entirely in bfloat16 (softmax in float32).

#include "flowgrpo/models/load_options.h"
#include "flowgrpo/models/text_encoders/t5_config.h"
#include "flowgrpo/models/text_encoders/t5_embedding.h"
#include "flowgrpo/models/text_encoders/t5_stack.h"

#include <torch/torch.h>

#include <filesystem>

namespace flowgrpo::io {
class WeightSource;
}

namespace flowgrpo::models {

class T5EncoderModelImpl : public torch::nn::Module {
 public:
  /// Builds the module tree for `config` (validated first) with parameters of
  /// `dtype` (float32, bfloat16 or float16; `wo` float32 with float16) created
  /// directly on `device`. On the meta device nothing is allocated (shapes only,
  /// e.g. to count T5-XXL's parameters); elsewhere the weights get transformers'
  /// initialisation until loaded.
  /// @throws std::invalid_argument if config.validate() fails or dtype is not
  ///         one of the three.
  explicit T5EncoderModelImpl(const T5Config& config, torch::Dtype dtype = torch::kFloat,
                              torch::Device device = torch::kCPU);

  /// transformers `T5EncoderModel.forward(input_ids, attention_mask)`.
  /// @param input_ids [B, S] of an integer dtype, values in [0, vocab_size), any
  ///        device (moved to the model's; checking the range reads two scalars back).
  /// @param attention_mask undefined (SD3 / FLUX: no mask, padding attends and is
  ///        attended to) or [B, S] of 0 / 1 (bool or any numeric dtype): keys with
  ///        0 are masked out by adding finfo(dtype).min to their scores.
  /// @param output_hidden_states fill T5EncoderOutput::hidden_states.
  /// @throws std::invalid_argument naming expected and found for an undefined,
  ///         non-integer, wrong-rank or empty input_ids, an id outside
  ///         [0, vocab_size) (with its value and position), or a mask of another
  ///         shape or with values other than 0 and 1.
  T5EncoderOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                          bool output_hidden_states = false);

  const T5Config& config() const { return config_; }
  /// dtype / device of the parameters (of shared.weight); `wo` may be float32
  /// while this says float16.
  torch::Dtype dtype() const;
  torch::Device device() const;

  /// Loads the weights strictly: every parameter must be in `source` with its
  /// exact name and shape and nothing else may be; tensors are converted to each
  /// parameter's dtype (so `wo` is read into float32 in a float16 model).
  /// `encoder.embed_tokens.weight`, the tied copy transformers may save, is
  /// accepted: alone it is loaded as `shared.weight`; next to `shared.weight` it
  /// must equal it in shape and value and is then skipped.
  /// @throws std::invalid_argument listing every missing, unexpected and
  ///         mis-shaped tensor at once (the model is untouched then), or naming
  ///         `shared.weight` and `encoder.embed_tokens.weight` when both are present
  ///         and differ.
  void load_weights(const io::WeightSource& source);

  /// Writes a transformers component folder: `dir/config.json`
  /// (config().to_json()) and `dir/model.safetensors` (every parameter under its
  /// transformers name, `shared.weight` once, in the parameters' dtypes), which
  /// transformers' `T5EncoderModel.from_pretrained(dir)` and from_pretrained() read.
  /// Creates `dir` if needed.
  /// @throws std::runtime_error naming the file if writing fails.
  void save_pretrained(const std::filesystem::path& dir) const;

  T5Embedding shared{nullptr};
  T5Stack encoder{nullptr};

 private:
  T5Config config_;
};

/// Module holder for T5EncoderModelImpl (TORCH_MODULE plus from_pretrained).
class T5EncoderModel : public torch::nn::ModuleHolder<T5EncoderModelImpl> {
 public:
  using torch::nn::ModuleHolder<T5EncoderModelImpl>::ModuleHolder;
  using Impl = T5EncoderModelImpl;

  /// Loads a transformers T5EncoderModel in eval mode.
  /// @param path a component folder (SD3's `text_encoder_3/`, FLUX's
  ///        `text_encoder_2/`) with `config.json` and `model.safetensors` or the
  ///        sharded `model.safetensors.index.json` + shards (io::WeightSource::open);
  ///        or a weights file (`.safetensors` / `.index.json`) with `config.json` beside it.
  /// @param options parameter dtype (float32, bfloat16, float16; file tensors of
  ///        F32 / F16 / BF16 are converted) and device.
  /// @throws std::invalid_argument naming the path for a missing config or
  ///         weights, a bad config (T5Config::from_file), an unsupported dtype, or
  ///         a strict-loading failure (every missing / unexpected / mis-shaped
  ///         tensor listed).
  static T5EncoderModel from_pretrained(const std::filesystem::path& path, const LoadOptions& options = {});
};

}  // namespace flowgrpo::models
