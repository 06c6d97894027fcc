#pragma once
/// @file pretrain_checkpoints.h
/// What the pretraining stages (pretrainer.h, vae_pretrainer.h) share about
/// their run directory: where a resume starts, how a checkpoint folder is
/// published, how an EMA is stored, and the warm-up learning rate.
///
///     <output_dir>/checkpoints/step-<N>/   one complete checkpoint (the two newest are kept)
///     <output_dir>/checkpoints/latest      the name of the newest one

#include "flowgrpo/config/config.h"
#include "flowgrpo/rl/ema.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace flowgrpo::train {

/// The checkpoint folder `resume` asks for: nullopt for "" or for "latest" when the
/// run has none yet (logged), output_dir/checkpoints/<latest> for "latest", else `resume`.
std::optional<std::filesystem::path> resolve_pretrain_resume(const std::string& resume,
                                                             const std::filesystem::path& output_dir);

/// A fresh, empty staging folder for checkpoint `name` under output_dir/checkpoints.
std::filesystem::path begin_checkpoint(const std::filesystem::path& output_dir, const std::string& name);

/// Renames the complete staging folder to its final name, points `latest` at it
/// and removes all but the `keep` newest checkpoints, so a crash at any point
/// leaves the previous checkpoint intact.
void publish_checkpoint(const std::filesystem::path& staging, int keep = 2);

/// Writes the EMA shadows and counters to a safetensors file (`ema.<i>` tensors; the
/// counters `num_updates` and `last_update_step` as metadata). flowgrpo-train's
/// checkpoints (grpo_trainer.h) store their EMA the same way.
void save_ema(const rl::Ema& ema, const std::filesystem::path& file);
/// Reads what save_ema wrote into `ema` (which must track `num_parameters` tensors).
/// @throws std::invalid_argument naming the file for a missing tensor, a tensor whose
///         shape does not match, or a counter that is missing or not an integer.
void load_ema(rl::Ema& ema, size_t num_parameters, const std::filesystem::path& file);

/// The optimizer both stages use: AdamW at pretrain.learning_rate / weight_decay.
std::unique_ptr<torch::optim::AdamW> make_pretrain_optimizer(const config::PretrainConfig& pretrain,
                                                             const std::vector<torch::Tensor>& parameters);
/// The EMA of all weights, updated every step with decay capped at pretrain.ema_decay.
std::unique_ptr<rl::Ema> make_pretrain_ema(const config::PretrainConfig& pretrain,
                                           const std::vector<torch::Tensor>& parameters);

/// pretrain.learning_rate after a linear warm-up over pretrain.warmup_steps.
double warmup_learning_rate(const config::PretrainConfig& pretrain, int64_t step);

/// output_dir/pretrain_metrics.jsonl opened for appending, after dropping the rows
/// logged past `step` (the step the run starts from: an interrupted run's rows
/// after its checkpoint are recomputed now). Creates output_dir.
std::ofstream open_pretrain_metrics(const std::filesystem::path& output_dir, int64_t step);

}  // namespace flowgrpo::train
