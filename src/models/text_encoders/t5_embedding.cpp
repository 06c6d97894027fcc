#include "flowgrpo/models/text_encoders/t5_embedding.h"

namespace flowgrpo::models {

T5EmbeddingImpl::T5EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim, double init_std,
                                 const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({num_embeddings, embedding_dim}, options));
  if (!weight.is_meta()) {
    torch::NoGradGuard no_grad;
    weight.normal_(0.0, init_std);
  }
}

torch::Tensor T5EmbeddingImpl::forward(const torch::Tensor& indices) {
  // nn.Embedding without padding_idx / max_norm: F.embedding -> torch.embedding.
  return torch::embedding(weight, indices);
}

}  // namespace flowgrpo::models
