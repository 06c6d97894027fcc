#pragma once
/// @file micro_batches.h
/// How an epoch's kept samples are cut into the micro-batches of the GRPO update
/// (train.group_micro_batches, docs/configs.md).

#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace flowgrpo::train {

/// The reference's micro-batches: `kept` (sample indices) in a random order from `gen`,
/// cut into `num_batches` equal parts. Throws std::invalid_argument unless the count is
/// a positive multiple of num_batches (the zero-advantage filter makes it one).
std::vector<torch::Tensor> shuffled_micro_batches(const torch::Tensor& kept, int64_t num_batches,
                                                  at::Generator& gen);

/// Micro-batches of whole GRPO groups: the kept samples of each prompt
/// (`prompt_index[i]` for sample i) stay together; the groups are taken in a random
/// order and each goes to the micro-batch its midpoint falls in, so sizes are balanced
/// to within one group. Every kept sample appears exactly once, in its group's
/// micro-batch; a micro-batch is empty when there are fewer groups than micro-batches.
/// Micro-batches that share no group are independent samples of the policy gradient,
/// which an unbiased noise-scale estimate needs (rl/gradient_noise.h).
/// Throws std::invalid_argument for num_batches < 1 or an index outside prompt_index.
std::vector<torch::Tensor> whole_group_micro_batches(const torch::Tensor& kept, const torch::Tensor& prompt_index,
                                                     int64_t num_batches, at::Generator& gen);

}  // namespace flowgrpo::train
