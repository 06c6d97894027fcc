#include "flowgrpo/models/text_encoders/t5_relative_position.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace flowgrpo::models {

torch::Tensor t5_relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                          int64_t num_buckets, int64_t max_distance) {
  if (!relative_position.defined() || !c10::isIntegralType(relative_position.scalar_type(), false)) {
    throw std::invalid_argument(
        "t5_relative_position_bucket: expected an integer tensor of relative positions");
  }
  // modeling_t5.py::T5Attention._relative_position_bucket, op for op.
  auto rel = relative_position.to(torch::kLong);
  int64_t n = num_buckets;
  auto buckets = torch::zeros_like(rel);
  if (bidirectional) {
    n /= 2;
    buckets = buckets + (rel > 0).to(torch::kLong) * n;
    rel = torch::abs(rel);
  } else {
    rel = -torch::min(rel, torch::zeros_like(rel));
  }
  const int64_t max_exact = n / 2;
  if (max_exact < 1 || max_distance <= max_exact) {
    throw std::invalid_argument(
        "t5_relative_position_bucket: expected num_buckets >= " + std::string(bidirectional ? "4" : "2") +
        " and max_distance > " + std::to_string(max_exact) + ", found num_buckets " +
        std::to_string(num_buckets) + ", max_distance " + std::to_string(max_distance));
  }
  const auto is_small = rel < max_exact;
  // float32 logarithm, truncating cast; at r = 0 the log is -inf, but those
  // positions take the exact branch below (as in transformers).
  const double log_ratio = std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact));
  auto large = (torch::log(rel.to(torch::kFloat) / max_exact) / log_ratio * (n - max_exact)).to(torch::kLong);
  large = max_exact + large;
  large = torch::min(large, torch::full_like(large, n - 1));
  return buckets + torch::where(is_small, rel, large);
}

torch::Tensor t5_relative_position_buckets(int64_t query_length, int64_t key_length, bool bidirectional,
                                           int64_t num_buckets, int64_t max_distance, torch::Device device) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto context_position = torch::arange(query_length, opts).unsqueeze(1);
  const auto memory_position = torch::arange(key_length, opts).unsqueeze(0);
  return t5_relative_position_bucket(memory_position - context_position, bidirectional, num_buckets,
                                     max_distance);
}

}  // namespace flowgrpo::models
