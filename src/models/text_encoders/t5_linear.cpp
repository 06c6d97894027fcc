#include "flowgrpo/models/text_encoders/t5_linear.h"

namespace flowgrpo::models {

T5LinearImpl::T5LinearImpl(int64_t in_features, int64_t out_features, double init_std,
                           const torch::TensorOptions& options) {
  weight = register_parameter("weight", torch::empty({out_features, in_features}, options));
  if (!weight.is_meta()) {
    torch::NoGradGuard no_grad;
    weight.normal_(0.0, init_std);
  }
}

torch::Tensor T5LinearImpl::forward(const torch::Tensor& x) {
  return torch::linear(x, weight);
}

}  // namespace flowgrpo::models
