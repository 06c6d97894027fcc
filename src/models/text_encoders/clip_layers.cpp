#include "flowgrpo/models/text_encoders/clip_layers.h"

namespace flowgrpo::models {

CLIPLinearImpl::CLIPLinearImpl(int64_t in_features, int64_t out_features, bool bias,
                               const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}, options));
  if (bias) this->bias = register_parameter("bias", torch::empty({out_features}, options));
}

torch::Tensor CLIPLinearImpl::forward(const torch::Tensor& x) const {
  return torch::linear(x, weight, bias);
}

CLIPLayerNormImpl::CLIPLayerNormImpl(int64_t dim, double eps, const torch::TensorOptions& options)
    : dim_(dim), eps_(eps) {
  weight = register_parameter("weight", torch::empty({dim}, options));
  bias = register_parameter("bias", torch::empty({dim}, options));
}

torch::Tensor CLIPLayerNormImpl::forward(const torch::Tensor& x) const {
  return torch::layer_norm(x, {dim_}, weight, bias, eps_);
}

CLIPEmbeddingImpl::CLIPEmbeddingImpl(int64_t num_embeddings, int64_t dim,
                                     const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({num_embeddings, dim}, options));
}

torch::Tensor CLIPEmbeddingImpl::forward(const torch::Tensor& ids) const {
  return torch::embedding(weight, ids);
}

}  // namespace flowgrpo::models
