#pragma once
// The batch-arithmetic checks behind make_batch_layout(), shared with validate()
// so that both report the same problems and validate() reports them together
// with every other problem.

#include "flowgrpo/config/batch_layout.h"

#include <string>
#include <vector>

namespace flowgrpo::config::detail {

/// Problems with world_size, sample.{train_batch_size, num_image_per_prompt,
/// num_batches_per_epoch, num_steps, sde_window_size} and
/// train.{gradient_accumulation_steps, num_inner_epochs, timestep_fraction} and how
/// they combine. When there are none, fills `layout`.
std::vector<std::string> batch_layout_problems(const Config& config, int world_size, BatchLayout& layout);

}  // namespace flowgrpo::config::detail
