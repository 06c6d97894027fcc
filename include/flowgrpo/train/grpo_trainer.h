#pragma once
/// @file grpo_trainer.h
/// The Flow-GRPO training loop (flow_grpo scripts/train_sd3.py; flow_grpo.md §2,
/// §4): per epoch, evaluate and checkpoint on schedule; sample
/// `num_batches_per_epoch` rollout batches with the Flow-SDE (K-repeat prompt
/// sampling, CFG, optional SDE window) while rewards are scored asynchronously;
/// gather rewards across ranks and turn them into per-prompt advantages; drop
/// zero-advantage samples; then train LoRA adapters with the clipped-ratio loss
/// and the KL to the adapter-disabled reference, accumulating gradients over
/// micro-batches × timesteps, with gradient clipping, AdamW and an EMA of the
/// adapter weights. Every random draw is derived from (seed, epoch, rank, ...)
/// so a run resumed from a checkpoint is bit-identical to an uninterrupted one.

#include "flowgrpo/config/batch_layout.h"
#include "flowgrpo/config/config.h"
#include "flowgrpo/data/k_repeat_sampler.h"
#include "flowgrpo/data/prompt_dataset.h"
#include "flowgrpo/dist/communicator.h"
#include "flowgrpo/dist/gradient_reducer.h"
#include "flowgrpo/eval/evaluator.h"
#include "flowgrpo/models/lora.h"
#include "flowgrpo/models/pipelines/text_to_image_pipeline.h"
#include "flowgrpo/rewards/reward.h"
#include "flowgrpo/rl/ema.h"
#include "flowgrpo/rl/gradient_noise.h"
#include "flowgrpo/rl/metrics.h"
#include "flowgrpo/rl/stat_tracker.h"
#include "flowgrpo/sampling/rollout.h"
#include "flowgrpo/train/sample_positions.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>

namespace flowgrpo::train {

/// One epoch's rollouts on this rank, concatenated over sampling batches.
struct EpochSamples {
  torch::Tensor latents;        ///< [N,T,...]
  torch::Tensor next_latents;   ///< [N,T,...]
  torch::Tensor log_probs;      ///< [N,T]
  torch::Tensor step_indices;   ///< [N,T] int64
  torch::Tensor prompt_index;   ///< [N] int64 index into the training prompts (the GRPO group)
  sampling::Conditioning cond;  ///< positive conditioning [N,...]
  torch::Tensor rewards;        ///< [N] float64 (NaN where invalid)
  torch::Tensor valid;          ///< [N] bool
  std::map<std::string, torch::Tensor> reward_components;
  std::vector<std::string> tags;  ///< per sample (metadata "tag", or "")
  int64_t num_invalid = 0;        ///< samples without a valid reward
  bool stopped = false;           ///< a stop request ended sampling early (run() checkpoints and returns)
  std::string last_reward_error;  ///< the reason of the last of them ("" when none)
  int64_t size() const { return latents.defined() ? latents.size(0) : 0; }
};

class GrpoTrainer {
 public:
  struct Inputs {
    const config::Config& config;
    models::TextToImagePipeline& pipeline;
    rewards::Reward& reward;
    const data::PromptDataset& train_prompts;
    const eval::EvalPrompts* test_prompts = nullptr;  ///< nullptr: no evaluation
    dist::Communicator& comm;
    std::filesystem::path output_dir;
  };

  /// Injects LoRA (model.lora) into the pipeline's transformer, builds the
  /// optimizer, EMA and sampler. Throws std::invalid_argument for settings the
  /// trainer cannot honour (e.g. beta > 0 without LoRA).
  explicit GrpoTrainer(Inputs inputs);

  /// Runs epochs until train.num_epochs (resuming first when config.resume says so).
  /// Returns the number of epochs run by this call (an epoch ended by a stop request
  /// included). A stop request (SIGTERM/SIGINT, common/stop_request.h) on any rank
  /// ends the run early: every rank finishes the optimizer step it is in, a checkpoint
  /// is written (resumable inside the epoch), and run() returns; stopped() tells.
  int64_t run();
  /// Whether the last run() ended on a stop request, and the checkpoint it wrote.
  bool stopped() const { return stopped_; }
  const std::filesystem::path& stop_checkpoint() const { return stop_checkpoint_; }
  /// What stopped it and where, e.g. "SIGTERM on rank 1".
  const std::string& stop_cause() const { return stop_cause_; }

  /// The pieces of one epoch, public for tests.
  EpochSamples sample_epoch(int64_t epoch, nlohmann::json& metrics);
  void train_epoch(int64_t epoch, EpochSamples& samples, nlohmann::json& metrics);
  eval::EvalResult evaluate(int64_t epoch);

  /// Writes checkpoints/checkpoint-<global_step>/ (PEFT adapter with EMA weights,
  /// plus the full training state) and repoints checkpoints/latest at it. A folder is
  /// never rewritten: the state this run last saved or resumed from is only pointed at
  /// again, and a name already taken by another state (an epoch without an optimizer
  /// step keeps global_step) becomes checkpoint-<global_step>-epoch-<epoch>.
  std::filesystem::path save_checkpoint();
  /// train.max_invalid_reward_fraction: when more of the epoch's samples (all ranks)
  /// have no valid reward, saves a checkpoint of the state before the epoch and throws
  /// std::runtime_error with the counts and the last reward error (which names the
  /// reward and, for a server, its URL).
  void check_reward_validity(const EpochSamples& samples);
  /// Restores a checkpoint folder. Throws std::invalid_argument if it belongs to
  /// another model or adapter configuration, naming the difference.
  void load_checkpoint(const std::filesystem::path& dir);

  int64_t epoch() const { return epoch_; }
  int64_t global_step() const { return global_step_; }
  /// [N] float64: the (clipped) advantage of each of this rank's samples in the
  /// last train_epoch, the credit every trained step of that trajectory received.
  const torch::Tensor& last_advantages() const { return last_advantages_; }
  const std::vector<torch::Tensor>& trainable_parameters() const { return params_; }
  const models::LoRAConfig& lora_config() const { return lora_config_; }
  const config::BatchLayout& layout() const { return layout_; }

 private:
  nlohmann::json model_identity() const;
  /// Sums every rank's share of the gradient (GradientReducer; the loss scale makes the
  /// shares sum to the global per-image mean).
  void reduce_gradients();
  /// Returns whether the ranks agreed to stop after this step (a stop request on any).
  bool optimizer_step(rl::MetricAccumulator& step_metrics, nlohmann::json& epoch_metrics);
  /// Whether a stop was requested on any rank (a collective when there are several).
  bool stop_agreed(const char* where);
  /// The position of LoRA tensor `t` in params_.
  size_t parameter_index(const torch::Tensor& t) const;
  void log_epoch(const nlohmann::json& metrics);

  Inputs in_;
  config::BatchLayout layout_;
  models::LoRAConfig lora_config_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::unique_ptr<rl::Ema> ema_;
  std::unique_ptr<rl::GradientNoiseEstimator> gradient_noise_;  ///< train.gradient_noise_scale
  /// The same per trained timestep (position j of the stored transitions), from the
  /// change of `.grad` over each backward pass: which steps carry the signal and
  /// which the noise (metrics gns_grad_sq_t<j>, gns_trace_t<j>).
  std::vector<rl::GradientNoiseEstimator> timestep_noise_;
  torch::Tensor timestep_previous_;  ///< `.grad` after the last backward pass of this optimizer step
  rl::PerPromptStatTracker stat_tracker_;
  data::KRepeatSampler sampler_;
  SamplePositions positions_;
  std::unique_ptr<dist::GradientReducer> reducer_;  ///< only with several ranks
  sampling::Conditioning negative_one_;
  int64_t epoch_ = 0;
  int64_t global_step_ = 0;
  torch::Tensor last_advantages_;
  int64_t backward_count_ = 0;
  /// The training state last saved (or resumed from) and its folder, so that saving the
  /// same state again does not rewrite a checkpoint.
  struct SavedState {
    int64_t epoch, global_step, backward_count;
    std::filesystem::path dir;
  };
  std::optional<SavedState> saved_;

  /// The state an epoch started from, kept so that a stop inside the epoch can write a
  /// checkpoint that resumes there: the rollouts are regenerated from the adapter the
  /// epoch sampled with, and the backward passes already made are skipped.
  struct EpochStart {
    std::vector<torch::Tensor> adapter;  ///< the trainable parameters before the epoch's first step
    std::set<int64_t> prompt_history;
    int64_t backward_count = 0;
  };
  EpochStart epoch_start_;
  /// Set by load_checkpoint for a checkpoint written inside an epoch.
  struct ResumeInEpoch {
    int64_t backward_count = 0;  ///< skip backward passes until this count
    nlohmann::json metrics;      ///< the epoch's row so far (evaluation, earlier steps)
    EpochStart start;
  };
  std::optional<ResumeInEpoch> resume_in_epoch_;
  /// The epoch's partial metrics when train_epoch stopped inside it.
  std::optional<nlohmann::json> stopped_in_epoch_;
  bool stopped_ = false;
  std::filesystem::path stop_checkpoint_;
  std::string stop_cause_;
};

}  // namespace flowgrpo::train
