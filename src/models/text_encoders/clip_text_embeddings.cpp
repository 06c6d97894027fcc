#include "flowgrpo/models/text_encoders/clip_text_embeddings.h"

namespace flowgrpo::models {

CLIPTextEmbeddingsImpl::CLIPTextEmbeddingsImpl(const CLIPTextConfig& config,
                                               const torch::TensorOptions& options) {
  config.validate();
  token_embedding =
      register_module("token_embedding", CLIPEmbedding(config.vocab_size, config.hidden_size, options));
  position_embedding = register_module(
      "position_embedding", CLIPEmbedding(config.max_position_embeddings, config.hidden_size, options));
}

torch::Tensor CLIPTextEmbeddingsImpl::forward(const torch::Tensor& input_ids) {
  const auto positions = torch::arange(input_ids.size(1), input_ids.options().dtype(torch::kLong));
  // [B, S, d] + [S, d]: the position rows broadcast over the batch, as [1, S, d] does there.
  return token_embedding->forward(input_ids) + position_embedding->forward(positions);
}

}  // namespace flowgrpo::models
