#pragma once
/// @file batch_layout.h
/// The batch arithmetic of group sampling (spec §4, `DistributedKRepeatSampler`;
/// docs/configs.md "Batch arithmetic"). With n ranks, b = sample.train_batch_size
/// images per rank and k = sample.num_image_per_prompt images per prompt, one
/// sampling iteration produces n·b images = m = n·b/k complete groups spread over
/// all ranks; an epoch runs sample.num_batches_per_epoch such iterations. Training
/// reuses the per-rank sampling batch as its micro-batch (reference
/// `train.batch_size = sample.train_batch_size`) and steps the optimizer every
/// train.gradient_accumulation_steps micro-batches, each micro-batch covering
/// every trained timestep.

#include "flowgrpo/config/config.h"

#include <string>

namespace flowgrpo::config {

/// Numbers derived from the config and the world size. All counts are nominal:
/// the zero-advantage filter may shrink an epoch's training set.
struct BatchLayout {
  int world_size = 1;                   ///< n
  int batch_size_per_rank = 1;          ///< b = sample.train_batch_size (also the train micro-batch)
  int images_per_prompt = 2;            ///< k = sample.num_image_per_prompt
  int images_per_iteration = 2;         ///< n·b, over all ranks
  int groups_per_iteration = 1;         ///< m = n·b / k
  int batches_per_epoch = 1;            ///< sample.num_batches_per_epoch
  int groups_per_epoch = 1;             ///< m · batches_per_epoch (prompts per epoch)
  int images_per_epoch = 2;             ///< n·b · batches_per_epoch
  int images_per_rank_per_epoch = 2;    ///< b · batches_per_epoch
  int gradient_accumulation_steps = 1;  ///< micro-batches per optimizer step
  int optimizer_steps_per_epoch = 1;    ///< num_inner_epochs · batches_per_epoch / GA
  int sampling_steps = 1;               ///< sample.num_steps
  int train_timesteps = 1;  ///< T: sde_window_size if > 0, else floor(num_steps · timestep_fraction)

  /// One line for the start-of-training log, e.g. "32 ranks x 9 images = 288 images
  /// per sampling iteration = 12 prompts x 24 images; 4 iterations per epoch = 48
  /// prompts, 1152 images (36 per rank); 9 of 10 steps trained; micro-batch 9, 2 per
  /// optimizer step = 2 optimizer steps per epoch".
  std::string describe() const;

  friend bool operator==(const BatchLayout& a, const BatchLayout& b);
};

/// Checks the batch arithmetic (k ≥ 2, k divides n·b, GA divides
/// num_batches_per_epoch, at least one trained timestep, ...) and derives the
/// layout. Throws std::invalid_argument listing every problem, each explained with
/// the numbers involved and what to change. validate() runs the same checks.
BatchLayout make_batch_layout(const Config& config, int world_size);

}  // namespace flowgrpo::config
