#pragma once
/// @file clip_text_transformer.h
/// transformers `models/clip/modeling_clip.py::CLIPTextTransformer` (the
/// `text_model` of CLIPTextModelWithProjection): embeddings, the causal encoder,
/// final_layer_norm and the pooling at the end-of-text token.

#include "flowgrpo/models/text_encoders/clip_encoder.h"
#include "flowgrpo/models/text_encoders/clip_layers.h"
#include "flowgrpo/models/text_encoders/clip_text_config.h"
#include "flowgrpo/models/text_encoders/clip_text_embeddings.h"

#include <torch/torch.h>

#include <vector>

namespace flowgrpo::models {

/// What the CLIP text encoders return (transformers'
/// `CLIPTextModelOutput` / `BaseModelOutputWithPooling` fields SD3 uses).
struct CLIPTextOutput {
  /// final_layer_norm(output of the last layer), [B, S, d].
  torch::Tensor last_hidden_state;
  /// transformers' `hidden_states[-2]`, the output of layer N − 2 before any
  /// LayerNorm (the embeddings when N = 1): SD3's per-token CLIP embedding, [B, S, d].
  torch::Tensor penultimate_hidden_state;
  /// `pooler_output`: last_hidden_state at eos_index, [B, d].
  torch::Tensor pooled;
  /// text_projection(pooled), [B, projection_dim]: SD3's pooled CLIP embedding.
  /// Undefined when returned by CLIPTextTransformerImpl (it has no projection).
  torch::Tensor text_embeds;
  /// The pooled position of each row, [B] int64 (clip_pooling_positions).
  torch::Tensor eos_index;
  /// transformers' `hidden_states` (N + 1 tensors: [0] the embeddings, [k] the
  /// output of layer k − 1, before final_layer_norm); only when requested, else empty.
  std::vector<torch::Tensor> hidden_states;
};

/// The pooled position of each row of `input_ids` [B, S] (CLIPTextTransformer.forward,
/// transformers >= 4.31): eos_token_id == 2 (legacy configs, SD3's included) →
/// argmax(input_ids), the first occurrence of the row's largest id; otherwise the
/// first position where input_ids == eos_token_id, 0 when the row has none
/// (argmax of an all-zero row). @return [B] int64 on input_ids' device.
torch::Tensor clip_pooling_positions(const torch::Tensor& input_ids, int64_t eos_token_id);

/// Checks CLIP input ids against `config`: defined, rank 2 [B, S] with B, S >= 1,
/// an integer dtype (not bool), S <= max_position_embeddings, every id in
/// [0, vocab_size). @throws std::invalid_argument naming what was expected and found.
void clip_check_input_ids(const torch::Tensor& input_ids, const CLIPTextConfig& config);

/// Submodules `embeddings`, `encoder`, `final_layer_norm` (names as transformers').
class CLIPTextTransformerImpl : public torch::nn::Module {
 public:
  /// @throws std::invalid_argument if config.validate() fails.
  CLIPTextTransformerImpl(const CLIPTextConfig& config, const torch::TensorOptions& options);

  /// @param input_ids [B, S] integer ids (see clip_check_input_ids), moved to
  ///        the parameters' device as int64. No attention mask: pad tokens take
  ///        part, as in SD3.
  /// @param output_hidden_states whether to fill CLIPTextOutput::hidden_states.
  /// @return every field but text_embeds, in the parameters' dtype.
  /// @throws std::invalid_argument as clip_check_input_ids.
  CLIPTextOutput forward(const torch::Tensor& input_ids, bool output_hidden_states = false);

  const CLIPTextConfig& config() const { return config_; }

  CLIPTextEmbeddings embeddings{nullptr};
  CLIPEncoder encoder{nullptr};
  CLIPLayerNorm final_layer_norm{nullptr};

 private:
  CLIPTextConfig config_;
};
TORCH_MODULE(CLIPTextTransformer);

}  // namespace flowgrpo::models
