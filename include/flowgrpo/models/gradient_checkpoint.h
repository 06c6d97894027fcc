#pragma once
/// @file gradient_checkpoint.h
/// Activation (gradient) checkpointing for LibTorch C++, which has no
/// torch.utils.checkpoint: the forward runs without recording a graph, and the
/// backward re-runs it with grad enabled and differentiates the recomputation
/// (the "reentrant" variant of torch/utils/checkpoint.py).
///
/// The recomputation must reproduce the forward exactly: `fn` has to be
/// deterministic (no dropout, no RNG) and must not depend on state that changes
/// between forward and backward. The autocast state (CPU and CUDA) of the forward
/// is captured and restored for the recomputation, and grad mode is enabled.
/// Inputs must not be modified in place between the forward and the backward.

#include <torch/torch.h>

#include <functional>
#include <vector>

namespace flowgrpo::models {

/// The checkpointed computation: inputs → outputs. Outputs may contain
/// undefined tensors (they get no gradient).
using CheckpointFunction = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>&)>;

/// Runs `fn(inputs)` keeping only `inputs` for the backward.
///
/// `parameters` are the tensors `fn` uses besides its inputs (typically the
/// module's parameters); those requiring grad receive gradients through the
/// recomputation. If grad mode is off, or neither an input nor a parameter
/// requires grad, this is exactly fn(inputs).
///
/// Backward: gradients for the outputs that received one are propagated; the
/// others count as zero. Gradient values equal the non-checkpointed ones
/// (same operations in the same order).
/// @throws whatever fn throws (in the forward), and in the backward if the
///         recomputed outputs differ in number from the forward's.
std::vector<torch::Tensor> checkpoint(const CheckpointFunction& fn, const std::vector<torch::Tensor>& inputs,
                                      const std::vector<torch::Tensor>& parameters);

}  // namespace flowgrpo::models
