#include "flowgrpo/train/grpo_trainer.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/common/stop_request.h"
#include "flowgrpo/config/config_validator.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/io/text_file.h"
#include "flowgrpo/log/logging.h"
#include "flowgrpo/log/progress_bar.h"
#include "flowgrpo/rewards/async_reward_scorer.h"
#include "flowgrpo/rl/advantages.h"
#include "flowgrpo/rl/grpo_loss.h"
#include "flowgrpo/rl/zero_advantage_filter.h"
#include "flowgrpo/sampling/sample_noise.h"
#include "flowgrpo/sampling/sde_window.h"
#include "flowgrpo/train/base_model_record.h"
#include "flowgrpo/train/grpo_step.h"
#include "flowgrpo/train/micro_batches.h"
#include "flowgrpo/train/pretrain_checkpoints.h"

#include <ATen/CPUGeneratorImpl.h>

#include <signal.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <sstream>

namespace flowgrpo::train {

namespace fs = std::filesystem;

namespace {

// Independent random streams, each derived from (seed, epoch, rank, ...) so that
// nothing but the epoch number is needed to resume.
enum Stream : uint64_t {
  kNoise = 1,
  kInitialLatent = 2,
  kWindow = 3,
  kShuffle = 4,
  kFilter = 5,
  kLoraInit = 6
};

uint64_t stream_seed(int64_t seed, Stream stream, std::initializer_list<uint64_t> parts) {
  uint64_t h = sampling::derive_seed({static_cast<uint64_t>(seed), 0x6F2Aull, stream});
  for (uint64_t p : parts) h = sampling::derive_seed({h, p});
  return h;
}

class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

models::LoRAConfig lora_config_from(const config::Config& c) {
  models::LoRAConfig l;
  l.r = c.model.lora.rank;
  l.lora_alpha = c.model.lora.alpha;
  l.target_modules = c.model.lora.target_modules;
  l.init = c.model.lora.init == config::LoraInit::kGaussian ? models::LoRAInit::kGaussian
                                                            : models::LoRAInit::kKaiming;
  l.base_model_name_or_path = c.model.pretrained;
  // model.autocast: trainable weights stay float32 whatever the frozen transformer's
  // dtype (accelerate's mixed precision, which the reference trains with); the adapter
  // casts its input to float32 and its output back, as PEFT does.
  if (c.model.autocast) l.dtype = torch::kFloat;
  return l;
}

double nan_mean(const torch::Tensor& x) {
  const auto finite = torch::isfinite(x);
  const auto n = finite.sum().item<int64_t>();
  if (n == 0) return NAN;
  // Scaled by the largest magnitude, so finite values as large as 1e308 cannot overflow
  // the sum (the epoch's mean reward would be inf and logged as null).
  const auto values = x.masked_select(finite).to(torch::kDouble);
  int exponent = 0;
  std::frexp(values.abs().max().item<double>(), &exponent);
  const double scale = std::ldexp(1.0, std::clamp(exponent, 0, 1023));  // a power of two: exact division
  return (values / scale).sum().item<double>() / static_cast<double>(n) * scale;
}

// This rank's vote in a stop agreement: 0, the signal number, or 255 for request_stop().
double stop_vote() {
  if (!stop_requested()) return 0.0;
  return stop_signal() > 0 ? stop_signal() : 255.0;
}

// "SIGTERM on rank 1", "SIGINT on ranks 0, 1", ... from every rank's vote.
std::string describe_stop_votes(const std::vector<double>& votes) {
  std::map<std::string, std::vector<size_t>> by_reason;
  for (size_t r = 0; r < votes.size(); ++r) {
    if (votes[r] == 0.0) continue;
    const int v = static_cast<int>(votes[r]);
    by_reason[v == SIGTERM ? "SIGTERM" : v == SIGINT ? "SIGINT" : "a stop request"].push_back(r);
  }
  std::string out;
  for (const auto& [reason, ranks] : by_reason) {
    out += (out.empty() ? "" : "; ") + reason + (ranks.size() > 1 ? " on ranks " : " on rank ");
    for (size_t i = 0; i < ranks.size(); ++i) out += (i ? ", " : "") + std::to_string(ranks[i]);
  }
  return out;
}

nlohmann::json number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace

GrpoTrainer::GrpoTrainer(Inputs inputs)
    : in_(std::move(inputs)),
      layout_(config::make_batch_layout(in_.config, in_.comm.world_size())),
      lora_config_(lora_config_from(in_.config)),
      stat_tracker_(
          rl::StatTrackerOptions{in_.config.sample.num_image_per_prompt > 1, in_.config.sample.global_std}),
      sampler_(static_cast<int64_t>(in_.train_prompts.size()), in_.config.sample.train_batch_size,
               in_.config.sample.num_image_per_prompt, in_.comm.world_size(), in_.comm.rank(),
               in_.config.seed),
      positions_(in_.comm.world_size(), in_.comm.rank(), in_.config.sample.train_batch_size,
                 in_.config.sample.num_batches_per_epoch) {
  const auto& c = in_.config;
  if (!c.model.lora.enabled)
    throw std::invalid_argument(
        "model.lora.enabled = false: full fine-tuning is not supported by flowgrpo-train yet; "
        "the KL reference is the adapter-disabled model");
  if (c.sample.kl_reward != 0.0)
    throw std::invalid_argument("sample.kl_reward = " + std::to_string(c.sample.kl_reward) +
                                ": the KL reward (Wan recipe) is not implemented; use train.beta");
  auto& transformer = in_.pipeline.transformer_module();
  if (!c.model.lora.path.empty()) {
    models::load_lora_adapter(transformer, c.model.lora.path);
    lora_config_ = models::read_lora_config(c.model.lora.path);
  } else {
    // The adapter's random initialisation comes from the run's seed: a rerun starts
    // from the same adapter, and so does every rank.
    torch::manual_seed(stream_seed(c.seed, kLoraInit, {}));
    models::inject_lora(transformer, lora_config_);
  }
  params_ = models::lora_parameters(transformer);
  if (in_.comm.world_size() > 1) {
    // As DDP does at construction: every rank starts from rank 0's trainable weights,
    // whatever happened to their initialisation.
    torch::NoGradGuard no_grad;
    for (auto& p : params_) in_.comm.broadcast(p, 0, "initial adapter");
  }
  if (in_.comm.world_size() > 1) {
    dist::GradientReducer::Options o;
    o.bucket_bytes = static_cast<int64_t>(c.dist.bucket_size_mb * 1024.0 * 1024.0);
    o.overlap = c.dist.overlap_grad_reduce;
    reducer_ = std::make_unique<dist::GradientReducer>(in_.comm, params_, o);
  }
  optimizer_ =
      std::make_unique<torch::optim::AdamW>(params_, torch::optim::AdamWOptions(c.train.learning_rate)
                                                         .betas({c.train.adam_beta1, c.train.adam_beta2})
                                                         .weight_decay(c.train.adam_weight_decay)
                                                         .eps(c.train.adam_epsilon));
  if (c.train.ema) {
    rl::EmaOptions o;
    o.max_decay = c.train.ema_max_decay;
    o.update_every = c.train.ema_update_every;
    ema_ = std::make_unique<rl::Ema>(params_, o);
  }
  if (c.train.gradient_noise_scale)
    // A micro-batch's mean gradient enters .grad with weight 1 / accumulation steps
    // (the loss is scaled by 1 / (accumulation steps × trained timesteps)).
    gradient_noise_ = std::make_unique<rl::GradientNoiseEstimator>(1.0 / c.train.gradient_accumulation_steps);
  torch::NoGradGuard no_grad;
  negative_one_ = in_.pipeline.encode_prompts({""}).detach();
}

nlohmann::json GrpoTrainer::model_identity() const {
  nlohmann::json shapes = nlohmann::json::object();
  for (const auto& [name, t] : models::lora_state_dict(in_.pipeline.transformer_module()))
    shapes[name] = t.sizes().vec();
  auto identity = base_model_record(in_.pipeline);
  identity["lora"] = lora_config_.to_peft_json();
  identity["adapter_shapes"] = shapes;
  return identity;
}

EpochSamples GrpoTrainer::sample_epoch(int64_t epoch, nlohmann::json& metrics) {
  const auto& c = in_.config;
  const int rank = in_.comm.rank();
  auto& pipeline = in_.pipeline;
  const auto schedule = pipeline.schedule(c.sample.num_steps);
  const auto shape = pipeline.latent_shape();
  rewards::AsyncRewardScorer scorer(in_.reward);

  Stopwatch sampling_clock;
  std::vector<std::future<rewards::RewardResult>> pending;
  std::vector<torch::Tensor> latents, next_latents, log_probs, steps, prompt_index;
  std::vector<sampling::Conditioning> conds;
  EpochSamples out;
  log::ProgressBar::Options bar_options;
  if (rank != 0) bar_options.mode = log::ProgressBar::Mode::kSilent;
  log::ProgressBar bar("epoch " + std::to_string(epoch) + " sampling", c.sample.num_batches_per_epoch,
                       bar_options);
  for (int64_t i = 0; i < c.sample.num_batches_per_epoch; ++i) {
    const auto indices = sampler_.indices(epoch * c.sample.num_batches_per_epoch + i);
    std::vector<std::string> prompts;
    std::vector<nlohmann::json> metadata;
    std::vector<uint64_t> seeds, initial_seeds;
    for (size_t j = 0; j < indices.size(); ++j) {
      const auto p = static_cast<size_t>(indices[j]);
      prompts.push_back(in_.train_prompts.prompt(p));
      metadata.push_back(in_.train_prompts.metadata(p));
      out.tags.push_back(in_.train_prompts.tag(p));
      // Seeded by the image's place in the iteration (r·b + j), not by the rank layout:
      // W processes × b draw the same noise as one process × W·b.
      seeds.push_back(
          stream_seed(c.seed, kNoise,
                      {static_cast<uint64_t>(epoch), static_cast<uint64_t>(i),
                       static_cast<uint64_t>(positions_.slot_in_iteration(static_cast<int64_t>(j)))}));
      // same_latent: the images of one prompt start from one latent (their paths still differ).
      initial_seeds.push_back(c.sample.same_latent
                                  ? stream_seed(c.seed, kInitialLatent,
                                                {static_cast<uint64_t>(epoch), static_cast<uint64_t>(i),
                                                 static_cast<uint64_t>(indices[j])})
                                  : seeds.back());
    }
    sampling::Conditioning cond;
    {
      torch::NoGradGuard no_grad;
      cond = pipeline.encode_prompts(prompts).detach();
    }
    const int64_t b = static_cast<int64_t>(prompts.size());
    sampling::RolloutOptions options;
    options.guidance_scale = c.sample.guidance_scale;
    options.noise_level = c.sample.noise_level;
    options.sde_type =
        c.sample.sde_type == config::SdeType::kCps ? sampling::SdeType::kCps : sampling::SdeType::kSde;
    if (c.sample.sde_window_size > 0) {
      // Drawn per sampling iteration, the same on every rank (flow_grpo's fast pipeline
      // draws per rank and batch; one window per iteration keeps W processes × b equal
      // to one process × W·b).
      std::mt19937_64 rng(
          stream_seed(c.seed, kWindow, {static_cast<uint64_t>(epoch), static_cast<uint64_t>(i)}));
      options.window =
          sampling::draw_sde_window(c.sample.num_steps, c.sample.sde_window_size,
                                    c.sample.sde_window_range[0], c.sample.sde_window_range[1], rng);
    }
    sampling::Rollout r;
    {
      torch::NoGradGuard no_grad;
      r = sampling::sample_rollout(pipeline.velocity_model(), cond, negative_one_.repeat_interleave(b),
                                   schedule, options, sampling::SeededNoise(seeds, initial_seeds), shape,
                                   pipeline.device());
    }
    rewards::RewardBatch batch;
    {
      torch::NoGradGuard no_grad;
      batch.images = pipeline.decode(r.final_latents);
    }
    batch.prompts = prompts;
    batch.metadata = metadata;
    batch.mode = rewards::ScoreMode::kTrain;
    pending.push_back(scorer.submit(std::move(batch)));  // scored while the next batch samples
    latents.push_back(r.latents);
    next_latents.push_back(r.next_latents);
    log_probs.push_back(r.log_probs);
    steps.push_back(r.step_indices);
    prompt_index.push_back(torch::tensor(indices, torch::kLong));
    conds.push_back(cond);
    bar.advance();
    // A stop asked for while sampling ends the epoch here (its state is the one it
    // started from); the last batch goes on to training, which stops at its first step.
    if (i + 1 < c.sample.num_batches_per_epoch && stop_agreed("stop check (sampling)")) {
      out.stopped = true;
      break;
    }
  }
  bar.finish();
  const double sampling_seconds = sampling_clock.seconds();

  std::vector<torch::Tensor> scores, valid;
  std::vector<std::map<std::string, torch::Tensor>> batch_components;
  int64_t invalid = 0;
  for (auto& f : pending) {
    auto r = scorer.wait(f);
    for (size_t s = 0; s < r.errors.size(); ++s)
      if (!r.valid[static_cast<int64_t>(s)].item<bool>()) {
        ++invalid;
        out.last_reward_error = r.errors[s];
        log::get("reward")->warn("sample masked out of its group: {}", r.errors[s]);
      }
    scores.push_back(r.scores);
    valid.push_back(r.valid);
    batch_components.push_back(r.components);
  }
  out.latents = torch::cat(latents);
  out.next_latents = torch::cat(next_latents);
  out.log_probs = torch::cat(log_probs);
  out.step_indices = torch::cat(steps);
  out.prompt_index = torch::cat(prompt_index);
  out.rewards = torch::cat(scores);
  out.valid = torch::cat(valid);
  // A component a batch did not report (a failed server request reports none) is NaN
  // for its samples, so every component covers the whole epoch.
  std::set<std::string> component_names;
  for (const auto& m : batch_components)
    for (const auto& [name, t] : m) component_names.insert(name);
  for (const auto& name : component_names) {
    std::vector<torch::Tensor> parts;
    for (size_t k = 0; k < batch_components.size(); ++k) {
      const auto it = batch_components[k].find(name);
      parts.push_back(it != batch_components[k].end()
                          ? it->second.to(torch::kDouble).cpu()
                          : torch::full({scores[k].numel()}, NAN, torch::kDouble));
    }
    out.reward_components[name] = torch::cat(parts);
  }
  out.cond = conds.front();
  for (size_t k = 1; k < conds.size(); ++k) out.cond = sampling::Conditioning::concat(out.cond, conds[k]);

  metrics["time_sampling_s"] = sampling_seconds;
  metrics["time_reward_wait_s"] = scorer.waited_seconds();
  out.num_invalid = invalid;
  return out;
}

void GrpoTrainer::reduce_gradients() {
  if (reducer_) reducer_->reduce();
}

bool GrpoTrainer::optimizer_step(rl::MetricAccumulator& step_metrics, nlohmann::json& epoch_metrics) {
  reduce_gradients();
  const double grad_norm = torch::nn::utils::clip_grad_norm_(params_, in_.config.train.max_grad_norm);
  optimizer_->step();
  optimizer_->zero_grad();
  ++global_step_;
  // Per-image means over every rank's micro-batches, and whether any rank was asked to
  // stop, in one all-reduce. A rank without samples in this step contributes zeros.
  std::map<std::string, double> means;
  bool stop = false;
  if (in_.comm.world_size() == 1) {
    means = step_metrics.means();
    stop = stop_requested();
    if (stop) stop_cause_ = describe_stop_votes({stop_vote()});
  } else {
    const auto names = rl::grpo_metric_names(in_.config.train.beta > 0);
    const auto n = static_cast<int64_t>(names.size());
    const int64_t world = in_.comm.world_size();
    auto t = torch::zeros({2 * n + world}, torch::kDouble);
    for (int64_t k = 0; k < n; ++k) {
      const auto& name = names[static_cast<size_t>(k)];
      if (!step_metrics.contains(name)) continue;
      t[k] = step_metrics.sum(name);
      t[n + k] = static_cast<double>(step_metrics.count(name));
    }
    t[2 * n + in_.comm.rank()] = stop_vote();
    in_.comm.all_reduce_sum(t, "step metrics");
    for (int64_t k = 0; k < n; ++k)
      if (t[n + k].item<double>() > 0)
        means[names[static_cast<size_t>(k)]] = t[k].item<double>() / t[n + k].item<double>();
    const auto votes = t.narrow(0, 2 * n, world).contiguous();
    std::vector<double> v(votes.data_ptr<double>(), votes.data_ptr<double>() + world);
    stop = votes.sum().item<double>() > 0;
    if (stop) stop_cause_ = describe_stop_votes(v);
  }
  nlohmann::json step{{"global_step", global_step_}, {"grad_norm", grad_norm}};
  for (auto& [k, v] : means) step[k] = number(v);
  epoch_metrics["steps"].push_back(step);
  step_metrics.clear();
  return stop;
}

bool GrpoTrainer::stop_agreed(const char* where) {
  auto votes = torch::zeros({in_.comm.world_size()}, torch::kDouble);
  votes[in_.comm.rank()] = stop_vote();
  in_.comm.all_reduce_sum(votes, where);
  if (votes.sum().item<double>() == 0) return false;
  std::vector<double> v(votes.data_ptr<double>(), votes.data_ptr<double>() + votes.numel());
  stop_cause_ = describe_stop_votes(v);
  return true;
}

void GrpoTrainer::train_epoch(int64_t epoch, EpochSamples& samples, nlohmann::json& metrics) {
  const auto& c = in_.config;
  Stopwatch clock;

  // One gather per epoch: reward, validity, prompt index and reward components of
  // every sample of every rank, put in global order (sample_positions.h). Everything
  // below that decides what is trained is computed from the global tensors, the same
  // on every rank and the same as one process with the whole batch would compute.
  // The reward components: the union of every rank's names (a rank whose requests
  // all failed reports none), NaN where a rank has none.
  std::set<std::string> names;
  for (const auto& [name, t] : samples.reward_components) names.insert(name);
  std::string mine;
  for (const auto& name : names) mine += name + "\n";
  for (const auto& text : in_.comm.all_gather_text(mine, "reward component names")) {
    std::istringstream in(text);
    for (std::string name; std::getline(in, name);) names.insert(name);
  }
  const std::vector<std::string> component_names(names.begin(), names.end());
  std::vector<torch::Tensor> columns{samples.rewards.to(torch::kDouble), samples.valid.to(torch::kDouble),
                                     samples.prompt_index.to(torch::kDouble)};
  for (const auto& name : component_names) {
    const auto it = samples.reward_components.find(name);
    columns.push_back(it != samples.reward_components.end()
                          ? it->second.to(torch::kDouble).cpu()
                          : torch::full({samples.size()}, NAN, torch::kDouble));
  }
  const auto gathered = in_.comm.all_gather(torch::stack(columns, 1).contiguous(), "epoch rewards")
                            .index_select(0, positions_.gathered_rows());
  const auto all_valid = gathered.select(1, 1) > 0.5;
  const auto all_rewards = gathered.select(1, 0).masked_fill(~all_valid, 0.0).contiguous();
  const auto all_prompts = gathered.select(1, 2).to(torch::kLong).contiguous();
  stat_tracker_.clear();
  const auto all_adv = stat_tracker_.update(all_rewards, all_prompts, all_valid);
  const auto stats = stat_tracker_.stats();
  const auto local_rows = positions_.global_of_locals();

  const auto schedule = in_.pipeline.schedule(c.sample.num_steps);
  const int64_t stored = samples.latents.size(1);
  const int64_t T = c.sample.sde_window_size > 0
                        ? stored
                        : sampling::num_train_timesteps(sampling::SdeWindow::full(stored), stored,
                                                        c.train.timestep_fraction);
  const auto all_clipped = rl::clip_advantages(all_adv, c.train.adv_clip_max);
  last_advantages_ = all_clipped.index_select(0, local_rows);
  auto advantages = rl::expand_over_timesteps(last_advantages_, T);

  rl::ZeroAdvantageFilterOptions filter_options;
  filter_options.num_batches_per_epoch = c.sample.num_batches_per_epoch;
  filter_options.seed = stream_seed(c.seed, kFilter, {static_cast<uint64_t>(epoch)});
  // The filter runs on the global set: its padding draw is layout-independent, and the
  // ranks may then hold different numbers of kept samples (handled by the loss scale).
  const auto kept = rl::filter_zero_advantages(all_clipped, all_valid, filter_options);

  // Epoch-level reward metrics, over all ranks.
  const auto masked_rewards = all_rewards.masked_fill(~all_valid, NAN);
  metrics["reward"] = number(nan_mean(masked_rewards));
  metrics["num_images"] = all_rewards.numel();
  metrics["reward_invalid"] = all_valid.logical_not().sum().item<int64_t>();
  metrics["zero_std_ratio"] = stats.zero_std_ratio;
  metrics["reward_std_mean"] = stats.reward_std_mean;
  metrics["group_size"] = stats.mean_group_size;
  metrics["trained_prompt_num"] = stats.trained_prompt_num;
  metrics["actual_batch_size"] = kept.actual_batch_size;
  metrics["kept_samples"] = kept.kept_indices.numel();
  if (in_.comm.world_size() > 1) {
    // How the kept samples fall on the ranks (they train different numbers).
    std::vector<int64_t> per_rank(static_cast<size_t>(in_.comm.world_size()), 0);
    const auto kept_cpu = kept.kept_indices.contiguous();
    for (int64_t i = 0; i < kept_cpu.numel(); ++i)
      ++per_rank[static_cast<size_t>(positions_.owner(kept_cpu.data_ptr<int64_t>()[i]))];
    metrics["kept_per_rank"] = per_rank;
  }
  nlohmann::json by_tag = nlohmann::json::object();
  std::map<std::string, std::vector<int64_t>> tag_rows;
  const auto* prompt_ptr = all_prompts.data_ptr<int64_t>();
  for (int64_t g = 0; g < all_prompts.numel(); ++g)
    tag_rows[in_.train_prompts.tag(static_cast<size_t>(prompt_ptr[g]))].push_back(g);
  for (const auto& [tag, rows] : tag_rows) {
    if (tag.empty()) continue;
    by_tag[tag] = number(nan_mean(masked_rewards.index_select(0, torch::tensor(rows, torch::kLong))));
  }
  metrics["reward_by_tag"] = by_tag;
  for (size_t k = 0; k < component_names.size(); ++k)
    metrics["reward_" + component_names[k]] =
        number(nan_mean(gathered.select(1, 3 + static_cast<int64_t>(k))));

  const int64_t n_kept = kept.kept_indices.numel();
  const int64_t num_batches = c.sample.num_batches_per_epoch;
  if (n_kept == 0 || kept.nothing_to_train) {
    metrics["time_train_s"] = clock.seconds();
    return;
  }
  const int64_t sync_every = static_cast<int64_t>(c.train.gradient_accumulation_steps) * T;
  GrpoStepOptions step_options;
  step_options.guidance_scale = c.train.cfg ? c.sample.guidance_scale : 1.0;
  step_options.noise_level = c.sample.noise_level;
  step_options.sde_type =
      c.sample.sde_type == config::SdeType::kCps ? sampling::SdeType::kCps : sampling::SdeType::kSde;
  step_options.loss = {c.train.clip_range, c.train.beta};
  auto& transformer = in_.pipeline.transformer_module();
  transformer.train();
  rl::MetricAccumulator step_metrics;
  if (!metrics.contains("steps")) metrics["steps"] = nlohmann::json::array();
  const auto device = in_.pipeline.device();

  if (gradient_noise_ && timestep_noise_.size() != static_cast<size_t>(T))
    timestep_noise_.assign(static_cast<size_t>(T), rl::GradientNoiseEstimator());
  bool stop_after_micro_batch = false;
  auto end_optimizer_step = [&] {
    if (gradient_noise_) {
      if (const auto e = gradient_noise_->end_step()) {
        step_metrics.add("gns_grad_sq", e->grad_sq);
        step_metrics.add("gns_trace", e->trace);
      }
      for (size_t j = 0; j < timestep_noise_.size(); ++j)
        if (const auto e = timestep_noise_[j].end_step()) {
          step_metrics.add(fmt::format("gns_grad_sq_t{}", j), e->grad_sq);
          step_metrics.add(fmt::format("gns_trace_t{}", j), e->trace);
        }
      timestep_previous_ = torch::Tensor();
    }
    stop_after_micro_batch = optimizer_step(step_metrics, metrics);
  };
  // A resumed run skips the backward passes the interrupted one made in this epoch.
  const int64_t resume_backward_count = resume_in_epoch_ ? resume_in_epoch_->backward_count : 0;
  for (int inner = 0; inner < c.train.num_inner_epochs; ++inner) {
    auto gen = at::detail::createCPUGenerator(
        stream_seed(c.seed, kShuffle, {static_cast<uint64_t>(epoch), static_cast<uint64_t>(inner)}));
    // Micro-batches of global positions; each rank trains the members it holds.
    const auto micro_batches =
        c.train.group_micro_batches
            ? whole_group_micro_batches(kept.kept_indices, all_prompts, num_batches, gen)
            : shuffled_micro_batches(kept.kept_indices, num_batches, gen);
    // A micro-batch's loss is the mean over its images on all ranks, weighted by its
    // size relative to the mean size (whole-group micro-batches differ in size), so every
    // image weighs the same. This rank contributes its members' mean × its share; the
    // gradient all-reduce sums the shares.
    const double mean_size = static_cast<double>(n_kept) / static_cast<double>(num_batches);
    for (size_t m = 0; m < micro_batches.size(); ++m) {
      const auto& global_idx = micro_batches[m];
      const bool last_of_epoch = inner + 1 == c.train.num_inner_epochs && m + 1 == micro_batches.size();
      const auto idx = positions_.local_members(global_idx);
      const int64_t micro = idx.numel();
      if (backward_count_ + T <= resume_backward_count) {
        backward_count_ += T;  // trained before the interruption (EMA and optimizer restored)
        continue;
      }
      if (micro == 0) {
        // Nothing of this micro-batch here (or fewer groups than micro-batches): keep
        // the optimizer-step boundaries, where the ranks meet, in place.
        for (int64_t j = 0; j < T; ++j)
          if (++backward_count_ % sync_every == 0) end_optimizer_step();
      } else {
        const double size_weight = static_cast<double>(micro) / mean_size;
        step_options.loss_scale = size_weight / static_cast<double>(sync_every);
        const auto cond = samples.cond.index_select(idx).to(device);
        const auto neg = negative_one_.repeat_interleave(micro);
        const auto adv = advantages.index_select(0, idx).to(device);
        const auto mb_latents = samples.latents.index_select(0, idx).to(device);
        const auto mb_next = samples.next_latents.index_select(0, idx).to(device);
        const auto mb_steps = samples.step_indices.index_select(0, idx);
        const auto mb_log_probs = samples.log_probs.index_select(0, idx).to(device);
        for (int64_t j = 0; j < T; ++j) {
          GrpoStepInputs step_in{mb_latents.select(1, j),
                                 mb_next.select(1, j),
                                 mb_steps.select(1, j),
                                 mb_log_probs.select(1, j),
                                 adv.select(1, j),
                                 cond,
                                 neg};
          // The last backward pass before the all-reduce starts the buckets as it goes.
          if (reducer_ && (backward_count_ + 1) % sync_every == 0) reducer_->arm();
          grpo_step(in_.pipeline.velocity_model(), transformer, schedule, step_in, step_options,
                    step_metrics);
          if (gradient_noise_) {
            // This backward pass's share of the micro-batch's mean gradient (the shares of
            // the T passes sum to it).
            auto flat = rl::flat_gradient(params_);
            const auto delta = timestep_previous_.defined() ? flat - timestep_previous_ : flat;
            timestep_noise_[static_cast<size_t>(j)].add_micro_batch(
                delta * (static_cast<double>(c.train.gradient_accumulation_steps) / size_weight), micro);
            timestep_previous_ = std::move(flat);
          }
          if (gradient_noise_ && j == T - 1)
            gradient_noise_->end_micro_batch(
                params_, micro, size_weight / static_cast<double>(c.train.gradient_accumulation_steps));
          if (++backward_count_ % sync_every == 0) end_optimizer_step();
        }
      }
      if (ema_) ema_->step(params_, global_step_);
      if (stop_after_micro_batch && !last_of_epoch) {
        // Every rank agreed in optimizer_step: checkpoint this optimizer step's state
        // with what resuming inside the epoch needs, and end the run. (After the
        // epoch's last step, the epoch ends normally and run() stops at its end.)
        metrics["time_train_s"] = clock.seconds();
        stopped_in_epoch_ = metrics;
        return;
      }
    }
  }
  // Per-epoch means of the per-step metrics.
  rl::MetricAccumulator epoch_means;
  for (const auto& s : metrics["steps"])
    for (const auto& [k, v] : s.items())
      if (k != "global_step" && v.is_number()) epoch_means.add(k, v.get<double>());
  for (const auto& [k, v] : epoch_means.means()) metrics[k] = number(v);
  if (epoch_means.contains("gns_trace") && epoch_means.contains("gns_grad_sq")) {
    // The ratio of the epoch's means: one step's |G|² estimate is too noisy to divide by.
    const auto b = rl::gradient_noise_scale(epoch_means.mean("gns_trace"), epoch_means.mean("gns_grad_sq"));
    metrics["grad_noise_scale"] = b ? number(*b) : nlohmann::json(nullptr);
  }
  metrics["time_train_s"] = clock.seconds();
}

eval::EvalResult GrpoTrainer::evaluate(int64_t epoch) {
  const auto& c = in_.config;
  if (in_.test_prompts == nullptr) throw std::logic_error("evaluate: no test prompts");
  eval::EvalOptions o;
  o.num_steps = c.sample.eval_num_steps;
  o.guidance_scale = config::effective_eval_guidance_scale(c.sample);
  o.images_per_prompt = c.eval.num_images_per_prompt;
  o.batch_size = c.sample.test_batch_size;
  o.seed = static_cast<uint64_t>(c.eval.seed);
  o.keep_images = false;
  std::optional<rl::Ema::SwapScope> ema_weights;
  if (ema_) ema_weights.emplace(*ema_, params_);
  in_.pipeline.transformer_module().eval();
  (void)epoch;
  const int64_t world = in_.comm.world_size();
  if (world == 1) return eval::evaluate(in_.pipeline, in_.reward, *in_.test_prompts, o);
  // The ranks share the images (contiguous ranges; every image's noise depends on its
  // prompt and index only) and gather the per-image scores, so an evaluation takes
  // 1/W of the time and equals a single process's.
  const auto& prompts = *in_.test_prompts;
  const int64_t per_prompt = o.images_per_prompt;
  const int64_t total = static_cast<int64_t>(prompts.size()) * per_prompt;
  const int64_t share = (total + world - 1) / world;
  o.first_image = std::min(total, in_.comm.rank() * share);
  o.end_image = std::min(total, o.first_image + share);
  const auto local = eval::evaluate(in_.pipeline, in_.reward, prompts, o);
  auto rows = torch::full({share, 4}, NAN, torch::kDouble);
  const int64_t n = local.num_images;
  rows.select(1, 3).zero_();
  if (n > 0) {
    rows.narrow(0, 0, n).select(1, 0).copy_(local.scores);
    rows.narrow(0, 0, n).select(1, 1).copy_(local.strict_accuracy);
    rows.narrow(0, 0, n).select(1, 2).copy_(local.accuracy);
    rows.narrow(0, 0, n).select(1, 3).fill_(1.0);
  }
  const auto gathered = in_.comm.all_gather(rows, "evaluation scores");
  const auto present = gathered.select(1, 3) > 0.5;
  eval::EvalResult result;
  result.num_steps = local.num_steps;
  result.num_images = total;
  result.scores = gathered.select(1, 0).masked_select(present).contiguous();
  result.strict_accuracy = gathered.select(1, 1).masked_select(present).contiguous();
  result.accuracy = gathered.select(1, 2).masked_select(present).contiguous();
  for (int64_t i = 0; i < total; ++i) {
    const auto p = static_cast<size_t>(i / per_prompt);
    result.image_prompts.push_back(prompts.prompts[p]);
    result.image_tags.push_back(prompts.tags[p]);
  }
  eval::summarise(result);
  return result;
}

int64_t GrpoTrainer::run() {
  const auto& c = in_.config;
  auto log = log::get("train");
  if (c.resume == "latest") {
    // Rank 0 decides what "latest" is; every rank loads that folder (from a shared
    // file system), so no rank can resume from another state or start fresh alone.
    std::string chosen;
    const auto latest = in_.output_dir / "checkpoints" / "latest";
    if (in_.comm.is_main() && fs::exists(latest)) chosen = fs::canonical(latest).string();
    chosen = in_.comm.broadcast_text(chosen, "resume: latest checkpoint");
    if (!chosen.empty())
      load_checkpoint(chosen);
    else
      log->info("resume: latest requested but {} holds no checkpoint; starting fresh",
                in_.output_dir.string());
  } else if (!c.resume.empty()) {
    load_checkpoint(c.resume);
  }
  if (in_.comm.world_size() > 1) {
    // Every rank must continue from the same state.
    const auto state = torch::tensor(
        {epoch_, global_step_, backward_count_, resume_in_epoch_ ? int64_t{1} : 0}, torch::kLong);
    const auto all = in_.comm.all_gather(state, "resume state").reshape({in_.comm.world_size(), 4});
    for (int r = 1; r < in_.comm.world_size(); ++r)
      if (!torch::equal(all[r], all[0]))
        throw std::runtime_error(fmt::format(
            "rank {} starts from epoch {}, step {} ({} backward passes) but rank 0 from epoch {}, step {} "
            "({}): "
            "every rank must read the same checkpoint (a file system all ranks share, the same resume path)",
            r, all[r][0].item<int64_t>(), all[r][1].item<int64_t>(), all[r][2].item<int64_t>(),
            all[0][0].item<int64_t>(), all[0][1].item<int64_t>(), all[0][2].item<int64_t>()));
  }
  log->info("batch layout: {}", layout_.describe());
  stopped_ = false;
  if (in_.comm.is_main()) fs::create_directories(in_.output_dir);
  const int64_t first = epoch_;
  std::ofstream metrics_file;
  if (in_.comm.is_main()) {
    // Rows an interrupted run wrote after its last checkpoint (or, for a fresh
    // start, an earlier run's rows) are about to be recomputed: every epoch is
    // replayable from its number. Drop them, so the file holds each epoch once.
    const auto path = in_.output_dir / c.logging.metrics_file;
    if (const auto dropped = io::drop_jsonl_rows_from(path, "epoch", first))
      log->info(
          "{}: dropped {} row(s) from epoch {} on, written by an earlier run after the state this run "
          "starts from",
          path.string(), dropped, first);
    metrics_file.open(path, std::ios::app);
  }

  const bool evaluating = in_.test_prompts != nullptr && c.train.eval_freq > 0;
  auto run_evaluation = [&](nlohmann::json& metrics) {
    Stopwatch clock;
    const auto result = evaluate(epoch_);
    metrics["eval"] = result.to_json();
    metrics["time_eval_s"] = clock.seconds();
    if (in_.comm.is_main())
      log->info("epoch {} evaluation ({} images, {} steps):\n{}", epoch_, result.num_images, result.num_steps,
                result.table());
  };
  auto write_row = [&](const nlohmann::json& row) {
    if (in_.comm.is_main())
      metrics_file << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n"
                   << std::flush;
  };
  auto stop_here = [&] {
    stop_checkpoint_ = save_checkpoint();
    stopped_ = true;
  };
  while (epoch_ < c.train.num_epochs) {
    nlohmann::json metrics{{"epoch", epoch_}};
    if (resume_in_epoch_) {
      // Inside an epoch: its evaluation and first optimizer steps are done; the
      // rollouts are regenerated from the adapter it sampled with.
      metrics = resume_in_epoch_->metrics;
      epoch_start_ = resume_in_epoch_->start;
    } else {
      if (evaluating && epoch_ % c.train.eval_freq == 0) run_evaluation(metrics);
      // epoch_ > first: a resumed run starts from a checkpoint of exactly this state.
      if (c.train.save_freq > 0 && epoch_ % c.train.save_freq == 0 && epoch_ > first) save_checkpoint();
      epoch_start_.adapter.clear();
      for (const auto& p : params_) epoch_start_.adapter.push_back(p.detach().clone());
      epoch_start_.prompt_history = stat_tracker_.history();
      epoch_start_.backward_count = backward_count_;
    }
    std::vector<torch::Tensor> current;
    if (resume_in_epoch_) {
      torch::NoGradGuard no_grad;
      for (size_t k = 0; k < params_.size(); ++k) {
        current.push_back(params_[k].detach().clone());
        params_[k].copy_(epoch_start_.adapter[k]);
      }
      stat_tracker_.set_history(epoch_start_.prompt_history);
    }
    auto samples = sample_epoch(epoch_, metrics);
    if (!current.empty()) {
      torch::NoGradGuard no_grad;
      for (size_t k = 0; k < params_.size(); ++k) params_[k].copy_(current[k]);
    }
    if (samples.stopped) {
      // Nothing of this epoch is trained: the checkpoint is the state it started from.
      stop_here();
      return epoch_ - first;
    }
    // (A failing reward saves "the state before this epoch": here, the one resumed from.)
    check_reward_validity(samples);
    // The epoch's backward passes are counted from its start; those made before the
    // interruption are skipped.
    if (resume_in_epoch_) backward_count_ = epoch_start_.backward_count;
    stopped_in_epoch_.reset();
    train_epoch(epoch_, samples, metrics);
    resume_in_epoch_.reset();
    if (stopped_in_epoch_) {
      stop_here();
      stopped_in_epoch_.reset();
      return epoch_ - first + 1;
    }
    metrics["global_step"] = global_step_;
    ++epoch_;
    // The per-optimizer-step rows stay in the epoch's row ("steps"): clipfrac,
    // approx_kl, ratio and loss per step show what an epoch mean hides.
    write_row(metrics);
    if (in_.comm.is_main()) log_epoch(metrics);
    if (epoch_ < c.train.num_epochs && stop_agreed("stop check")) {
      stop_here();
      return epoch_ - first;
    }
  }
  // The policy the run ends with is always evaluated, whatever eval_freq's phase.
  if (evaluating && epoch_ > first) {
    nlohmann::json metrics{{"epoch", epoch_}, {"global_step", global_step_}, {"final", true}};
    run_evaluation(metrics);
    write_row(metrics);
  }
  save_checkpoint();
  return epoch_ - first;
}

void GrpoTrainer::log_epoch(const nlohmann::json& m) {
  auto get = [&](const char* k) { return m.contains(k) && m[k].is_number() ? m[k].get<double>() : NAN; };
  std::string tags;
  for (const auto& [tag, v] : m["reward_by_tag"].items())
    if (v.is_number()) tags += fmt::format(" {}={:.3f}", tag, v.get<double>());
  std::string noise_scale;
  if (m.contains("grad_noise_scale"))
    noise_scale = m["grad_noise_scale"].is_number()
                      ? fmt::format(" noise-scale {:.0f}", m["grad_noise_scale"].get<double>())
                      : std::string(" noise-scale n/a");
  log::get("train")->info(
      "epoch {} step {}: reward {:.4f}{} | zero_std {:.2f} kept {} | approx_kl {:.3g} clipfrac {:.3f} loss "
      "{:.4g}{} | "
      "sample {:.1f}s reward-wait {:.1f}s train {:.1f}s",
      m["epoch"].get<int64_t>(), global_step_, get("reward"), tags, get("zero_std_ratio"),
      m.value("kept_samples", int64_t{0}), get("approx_kl"), get("clipfrac"), get("loss"), noise_scale,
      get("time_sampling_s"), get("time_reward_wait_s"), get("time_train_s"));
}

void GrpoTrainer::check_reward_validity(const EpochSamples& samples) {
  const double limit = in_.config.train.max_invalid_reward_fraction;
  auto counts = torch::tensor({static_cast<double>(samples.num_invalid), static_cast<double>(samples.size())},
                              torch::kDouble);
  in_.comm.all_reduce_sum(counts, "reward validity");
  const auto invalid = static_cast<int64_t>(counts[0].item<double>());
  const auto total = static_cast<int64_t>(counts[1].item<double>());
  if (total == 0 || static_cast<double>(invalid) <= limit * static_cast<double>(total)) return;
  // Training on what is left would learn from a handful of samples or from nothing
  // ("reward nan, kept 0" for every epoch a server is down): stop, resumably.
  const auto dir = save_checkpoint();
  throw std::runtime_error(fmt::format(
      "epoch {}: {} of {} samples ({:.0f}%) have no valid reward, more than "
      "train.max_invalid_reward_fraction = {}; last reward error (rank {}): {}. Saved the state before "
      "this epoch to {}; continue with --set resume=latest once the reward works (or set "
      "reward_options.<name>.wait_for_recovery_s to wait for a reward server)",
      epoch_, invalid, total, 100.0 * static_cast<double>(invalid) / static_cast<double>(total), limit,
      in_.comm.rank(),
      samples.last_reward_error.empty() ? std::string("none on this rank") : samples.last_reward_error,
      dir.string()));
}

fs::path GrpoTrainer::save_checkpoint() {
  const auto root = in_.output_dir / "checkpoints";
  auto repoint_latest = [&](const std::string& name) {
    // checkpoints/latest -> checkpoint-<step>, replaced atomically.
    const auto link_tmp = root / "latest.tmp";
    fs::remove(link_tmp);
    fs::create_directory_symlink(name, link_tmp);
    fs::rename(link_tmp, root / "latest");
  };
  std::error_code ec;
  if (saved_ && saved_->epoch == epoch_ && saved_->global_step == global_step_ &&
      saved_->backward_count == backward_count_ && fs::equivalent(saved_->dir.parent_path(), root, ec)) {
    // This very state is on disk already (saved earlier, or resumed from): point at it.
    if (in_.comm.is_main()) repoint_latest(saved_->dir.filename().string());
    in_.comm.barrier("checkpoint");
    return saved_->dir;
  }
  // A name is never reused for another state: without an optimizer step in an epoch,
  // global_step_ stays and checkpoint-<step> would otherwise be overwritten. Only rank 0
  // looks at the folder and the others take its choice: a rank looking after rank 0 has
  // written the folder (or on a file system it does not share) would pick another name
  // and record a checkpoint that does not exist.
  auto name_for = [&](int64_t variant) {  // 0, 1, then 2, 3, ...
    const std::string base = "checkpoint-" + std::to_string(global_step_);
    if (variant == 0) return base;
    const std::string with_epoch = base + "-epoch-" + std::to_string(epoch_);
    return variant == 1 ? with_epoch : with_epoch + "-" + std::to_string(variant);
  };
  int64_t variant = 0;
  if (in_.comm.is_main())
    while (fs::exists(root / name_for(variant))) ++variant;
  if (in_.comm.world_size() > 1) {
    auto chosen = torch::full({1}, variant, torch::TensorOptions(torch::kLong).device(in_.pipeline.device()));
    in_.comm.broadcast(chosen, 0, "checkpoint name");
    variant = chosen.item<int64_t>();
  }
  const std::string name = name_for(variant);
  const auto final_dir = root / name;
  if (in_.comm.is_main()) {
    const auto tmp = root / (name + ".tmp");
    fs::remove_all(tmp);
    fs::create_directories(tmp / "training_state");
    auto& transformer = in_.pipeline.transformer_module();
    {
      // The adapter users load is the EMA one, as flow_grpo's save_ckpt.
      std::optional<rl::Ema::SwapScope> ema_weights;
      if (ema_) ema_weights.emplace(*ema_, params_);
      models::save_lora_peft(transformer, lora_config_, tmp / "lora");
      write_base_model_record(tmp / "lora", in_.pipeline);
    }
    io::TensorMap raw;
    for (const auto& [n, t] : models::lora_state_dict(transformer)) raw[n] = t.detach().contiguous();
    io::save_safetensors(tmp / "training_state" / "adapter_weights.safetensors", raw);
    torch::save(*optimizer_, (tmp / "training_state" / "optimizer.pt").string());
    if (ema_) save_ema(*ema_, tmp / "training_state" / "ema.safetensors");
    const auto history = stat_tracker_.history();
    nlohmann::json state{{"epoch", epoch_},
                         {"global_step", global_step_},
                         {"backward_count", backward_count_},
                         {"prompt_history", std::vector<int64_t>(history.begin(), history.end())},
                         {"model", model_identity()}};
    if (stopped_in_epoch_) {
      // Stopped inside epoch_: what resuming there needs (run() regenerates the epoch's
      // rollouts from the adapter it sampled with and skips the backward passes made).
      io::TensorMap start;
      for (const auto& [n, t] : models::lora_state_dict(transformer))
        start[n] = epoch_start_.adapter[parameter_index(t)].contiguous();
      io::save_safetensors(tmp / "training_state" / "adapter_at_epoch_start.safetensors", start);
      const auto& h = epoch_start_.prompt_history;
      state["in_epoch"] = {{"backward_count_at_epoch_start", epoch_start_.backward_count},
                           {"prompt_history_at_epoch_start", std::vector<int64_t>(h.begin(), h.end())},
                           {"metrics", *stopped_in_epoch_}};
    }
    io::write_text_atomic(tmp / "training_state" / "trainer_state.json",
                          state.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    fs::rename(tmp, final_dir);
    repoint_latest(name);
    log::get("train")->info("saved checkpoint {}", final_dir.string());
  }
  in_.comm.barrier("checkpoint written");
  saved_ = SavedState{epoch_, global_step_, backward_count_, final_dir};
  return final_dir;
}

size_t GrpoTrainer::parameter_index(const torch::Tensor& t) const {
  for (size_t k = 0; k < params_.size(); ++k)
    if (params_[k].is_same(t)) return k;
  throw std::logic_error("GrpoTrainer: a LoRA tensor is not among the trainable parameters");
}

void GrpoTrainer::load_checkpoint(const fs::path& dir) {
  with_context("resuming from checkpoint " + dir.string(), [&] {
    const auto state_dir = dir / "training_state";
    const auto state_file = state_dir / "trainer_state.json";
    if (!fs::exists(state_file))
      throw std::invalid_argument("missing " + state_file.string() + " (not a flowgrpo-train checkpoint)");
    // Every key is read (and its type checked) before anything is changed.
    const auto state = io::read_json_file(state_file);
    const auto& model = io::json_object(state, "model", state_file);
    const auto history = io::json_integer_list(state, "prompt_history", state_file);
    const int64_t epoch = io::json_integer(state, "epoch", state_file);
    const int64_t global_step = io::json_integer(state, "global_step", state_file);
    const int64_t backward_count = io::json_integer(state, "backward_count", state_file);
    check_base_model_record(model, in_.pipeline, state_file.string());
    const auto mine = model_identity();
    for (const char* key : {"lora", "adapter_shapes"}) {
      const auto& theirs = io::json_member(model, key, state_file, "model");
      if (theirs != mine.at(key))
        throw std::invalid_argument(
            std::string("the checkpoint was trained for another model: its '") + key + "' is " +
            theirs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + ", this run's is " +
            mine.at(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    // The adapter: exactly this model's LoRA tensors, each of its shape.
    const auto adapter_file = state_dir / "adapter_weights.safetensors";
    const auto adapter = io::SafetensorsFile::open(adapter_file);
    auto lora = models::lora_state_dict(in_.pipeline.transformer_module());
    std::vector<torch::Tensor> values;
    for (auto& [name, t] : lora) {
      auto value = adapter.load(name);  // names the file and the missing tensor
      if (value.sizes() != t.sizes())
        throw std::invalid_argument(adapter_file.string() + ": tensor '" + name + "' has shape " +
                                    c10::str(value.sizes()) + ", the model's is " + c10::str(t.sizes()));
      values.push_back(std::move(value));
    }
    for (const auto& info : adapter.tensors())
      if (!lora.count(info.name))
        throw std::invalid_argument(adapter_file.string() + ": unexpected tensor '" + info.name +
                                    "' (not a LoRA tensor of this model)");
    {
      torch::NoGradGuard no_grad;
      size_t i = 0;
      for (auto& [name, t] : lora) t.copy_(values[i++]);
    }
    const auto optimizer_file = state_dir / "optimizer.pt";
    with_context(optimizer_file.string(), [&] { torch::load(*optimizer_, optimizer_file.string()); });
    if (ema_) load_ema(*ema_, params_.size(), state_dir / "ema.safetensors");
    resume_in_epoch_.reset();
    if (state.contains("in_epoch")) {
      // Written by a stop inside an epoch.
      const auto& in_epoch = io::json_object(state, "in_epoch", state_file);
      ResumeInEpoch r;
      r.backward_count = backward_count;
      r.start.backward_count = io::json_integer(in_epoch, "backward_count_at_epoch_start", state_file);
      const auto h = io::json_integer_list(in_epoch, "prompt_history_at_epoch_start", state_file);
      r.start.prompt_history = {h.begin(), h.end()};
      r.metrics = io::json_object(in_epoch, "metrics", state_file);
      const auto start_file = state_dir / "adapter_at_epoch_start.safetensors";
      const auto start = io::SafetensorsFile::open(start_file);
      r.start.adapter.resize(params_.size());
      for (auto& [name, t] : lora) {
        auto value = start.load(name);
        if (value.sizes() != t.sizes())
          throw std::invalid_argument(start_file.string() + ": tensor '" + name + "' has shape " +
                                      c10::str(value.sizes()) + ", the model's is " + c10::str(t.sizes()));
        r.start.adapter[parameter_index(t)] = value.to(t.options());
      }
      resume_in_epoch_ = std::move(r);
    }
    stat_tracker_.set_history({history.begin(), history.end()});
    epoch_ = epoch;
    global_step_ = global_step;
    backward_count_ = backward_count;
    saved_ = SavedState{epoch_, global_step_, backward_count_, dir};
  });
  log::get("train")->info("resumed from {} at epoch {}, step {}", dir.string(), epoch_, global_step_);
}

}  // namespace flowgrpo::train
