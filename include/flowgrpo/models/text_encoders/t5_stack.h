#pragma once
/// @file t5_stack.h
/// The encoder stack of T5 (transformers `modeling_t5.py::T5Stack`, encoder
/// use): `block.{0..L-1}` and `final_layer_norm`. The token embedding is not
/// part of it here: T5EncoderModel owns it as `shared` (transformers' stack
/// holds the same module as `embed_tokens`, tied) and passes the embeddings in.
///
///     position_bias = block[0].relative_attention_bias(buckets) [1, H, S, S]
///                     + (1 − mask)·finfo(dtype).min            [B, 1, 1, S]  (with a mask)
///     x = embeddings; for each block: x = block(x, position_bias)   (the same bias every block)
///     last_hidden_state = final_layer_norm(x)
///
/// Dropout is not applied (the encoder is used frozen, as in eval mode).

#include "flowgrpo/models/text_encoders/t5_block.h"
#include "flowgrpo/models/text_encoders/t5_config.h"
#include "flowgrpo/models/text_encoders/t5_layer_norm.h"

#include <torch/torch.h>

#include <vector>

namespace flowgrpo::models {

/// What a T5 encoder forward returns (transformers' BaseModelOutput).
struct T5EncoderOutput {
  /// final_layer_norm of the last block's output, [B, S, d_model], in the norm
  /// weight's dtype (the requested dtype, float16 included).
  torch::Tensor last_hidden_state;
  /// Only when requested: num_layers + 1 entries in transformers' order — [0] the
  /// embeddings, [k] (1 <= k < num_layers) the output of block k − 1, and
  /// [num_layers] = last_hidden_state (transformers appends the final-normed
  /// state, so block num_layers − 1's raw output is not among them).
  std::vector<torch::Tensor> hidden_states;
  /// The bias every block added to its attention scores: block 0's
  /// compute_bias() [1, H, S, S], plus the additive padding mask ([B, H, S, S])
  /// when a mask was given.
  torch::Tensor position_bias;
};

class T5StackImpl : public torch::nn::Module {
 public:
  /// num_layers blocks (block 0 with the relative position table) and the final
  /// norm, parameters with `options`.
  T5StackImpl(const T5Config& config, const torch::TensorOptions& options);

  /// @param inputs_embeds [B, S, d_model], the token embeddings.
  /// @param attention_mask undefined (every position attends everywhere, as SD3 /
  ///        FLUX call the encoder) or [B, S] with 1 = keep, 0 = padding, on the
  ///        embeddings' device (T5EncoderModelImpl::forward validates it).
  /// @param output_hidden_states whether to fill T5EncoderOutput::hidden_states.
  T5EncoderOutput forward(const torch::Tensor& inputs_embeds, const torch::Tensor& attention_mask = {},
                          bool output_hidden_states = false);

  /// The additive bias of forward() for a sequence of `length`: compute_bias of
  /// block 0, plus the mask term if `attention_mask` is defined.
  torch::Tensor position_bias(int64_t length, const torch::Tensor& attention_mask, torch::ScalarType dtype);

  torch::nn::ModuleList block{nullptr};
  T5LayerNorm final_layer_norm{nullptr};

 private:
  std::vector<T5Block> blocks_;
};
TORCH_MODULE(T5Stack);

}  // namespace flowgrpo::models
