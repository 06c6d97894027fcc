#pragma once
/// @file config_validator.h
/// Range and consistency checks of a loaded Config (Marian's config_validator):
/// every problem names the key, the value and the allowed range, and the batch
/// arithmetic of group sampling is explained with the numbers involved.

#include "flowgrpo/config/batch_layout.h"
#include "flowgrpo/config/config.h"

namespace flowgrpo::config {

/// Validates `config` for a training run on `world_size` ranks and returns the
/// derived batch layout.
///
/// Checks every value's range (e.g. "sample.noise_level = 2.5: must be in (0, 2]"),
/// required values (model.pretrained, data.train_prompts, at least one reward),
/// cross-key consistency (SDE window inside the trajectory, test prompts when
/// evaluating) and the batch arithmetic of make_batch_layout(). Reward names are
/// not checked here (the reward registry does that); their weights must be finite.
///
/// @throws std::invalid_argument listing ALL problems found, one per line.
BatchLayout validate(const Config& config, int world_size);

/// Checks what `flowgrpo-pretrain` uses: the `pretrain` section, data.train_prompts,
/// sample.eval_num_steps and the seed. Throws std::invalid_argument listing every problem.
void validate_pretrain(const Config& config);

}  // namespace flowgrpo::config
