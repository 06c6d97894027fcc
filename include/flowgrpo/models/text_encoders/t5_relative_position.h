#pragma once
/// @file t5_relative_position.h
/// T5's relative position buckets (transformers `modeling_t5.py::
/// T5Attention._relative_position_bucket`, from Mesh TensorFlow). The relative
/// position is memory − query (key index − query index). Bidirectional (the
/// encoder): num_buckets / 2 buckets per direction, the positive direction
/// offset by num_buckets / 2; within a direction, with n = buckets per direction,
/// max_exact = n / 2 and r = |relative position|:
///
///     r < max_exact : bucket r
///     otherwise     : min(n − 1, max_exact + int64(log(r / max_exact) / log(max_distance / max_exact) · (n −
///     max_exact)))
///
/// with the logarithm in float32 and the cast truncating toward zero, exactly as
/// transformers computes it (so every bucket equals the reference's).

#include <torch/torch.h>

#include <cstdint>

namespace flowgrpo::models {

/// Buckets of `relative_position` (an integer tensor of any shape): int64, same
/// shape and device, values in [0, num_buckets). Unidirectional (decoder) mode
/// maps positive positions to bucket 0 as transformers does.
/// @throws std::invalid_argument if num_buckets < 4 (bidirectional) / < 2, or
///         max_distance <= the exact range, or relative_position is not integral.
torch::Tensor t5_relative_position_bucket(const torch::Tensor& relative_position, bool bidirectional,
                                          int64_t num_buckets, int64_t max_distance);

/// The bucket of (query i, key j) = bucket(j − i) for i < query_length,
/// j < key_length: [query_length, key_length] int64 on `device`
/// (transformers `T5Attention.compute_bias` before the table lookup).
/// @throws as t5_relative_position_bucket.
torch::Tensor t5_relative_position_buckets(int64_t query_length, int64_t key_length, bool bidirectional,
                                           int64_t num_buckets, int64_t max_distance,
                                           torch::Device device = torch::kCPU);

}  // namespace flowgrpo::models
