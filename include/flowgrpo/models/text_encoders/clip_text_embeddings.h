#pragma once
/// @file clip_text_embeddings.h
/// transformers `models/clip/modeling_clip.py::CLIPTextEmbeddings`:
/// token_embedding(ids) + position_embedding(arange(S)).

#include "flowgrpo/models/text_encoders/clip_layers.h"
#include "flowgrpo/models/text_encoders/clip_text_config.h"

#include <torch/torch.h>

namespace flowgrpo::models {

/// Submodules `token_embedding` [vocab_size, d] and `position_embedding`
/// [max_position_embeddings, d]. transformers' non-persistent `position_ids`
/// buffer is not a module tensor here (positions are always 0..S-1).
class CLIPTextEmbeddingsImpl : public torch::nn::Module {
 public:
  /// @throws std::invalid_argument if config.validate() fails.
  CLIPTextEmbeddingsImpl(const CLIPTextConfig& config, const torch::TensorOptions& options);
  /// @param input_ids [B, S] int64 on the parameters' device, ids in
  ///        [0, vocab_size), S <= max_position_embeddings (checked by the caller).
  /// @return [B, S, d] in the parameters' dtype.
  torch::Tensor forward(const torch::Tensor& input_ids);

  CLIPEmbedding token_embedding{nullptr};
  CLIPEmbedding position_embedding{nullptr};
};
TORCH_MODULE(CLIPTextEmbeddings);

}  // namespace flowgrpo::models
