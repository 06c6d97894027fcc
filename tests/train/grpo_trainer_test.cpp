// The Flow-GRPO loop end to end on a tiny model: learning signal, exact resume,
// on-policy first step, checkpoint layout.
#include "flowgrpo/train/grpo_trainer.h"
#include "flowgrpo/common/stop_request.h"
#include "flowgrpo/io/safetensors.h"
#include "flowgrpo/shapes/shapes_pipeline.h"
#include "flowgrpo/train/base_model_record.h"

#include "support/loopback_launch.h"
#include "support/test_support.h"

#include <ATen/CPUGeneratorImpl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

namespace fm = flowgrpo::models;
namespace fsh = flowgrpo::shapes;
namespace ft = flowgrpo::train;
namespace fs = std::filesystem;
using flowgrpo::testing::TempDir;

namespace {

// Mean brightness of the image: easy to move, so a few epochs must show it.
class BrightnessReward : public flowgrpo::rewards::Reward {
 public:
  std::string name() const override { return "brightness"; }
  flowgrpo::rewards::RewardResult score(const flowgrpo::rewards::RewardBatch& batch) override {
    return flowgrpo::rewards::RewardResult::from_scores(batch.as_float01().mean({1, 2, 3}));
  }
};

// The pixel model (8x8 RGB), or with `latent` a latent one whose VAE makes 4x4x3
// latents: the same transformer width and channels, hence the same adapter shapes.
std::unique_ptr<fsh::ShapesPipeline> tiny_pipeline(uint64_t seed, bool latent = false) {
  fm::SD3TransformerConfig c;
  c.sample_size = latent ? 4 : 8;
  c.patch_size = 2;
  c.in_channels = 3;
  c.out_channels = 3;
  c.num_layers = 2;
  c.attention_head_dim = 8;
  c.num_attention_heads = 2;
  c.joint_attention_dim = 16;
  c.caption_projection_dim = 16;
  c.pooled_projection_dim = 12;
  c.pos_embed_max_size = 4;
  c.qk_norm = "rms_norm";
  fsh::ShapesTextEncoderConfig t;
  t.vocab_size = 10;
  t.hidden_size = 16;
  t.intermediate_size = 32;
  t.num_hidden_layers = 1;
  t.num_attention_heads = 2;
  t.max_position_embeddings = 8;
  t.projection_dim = 12;
  torch::manual_seed(seed);
  fm::AutoencoderKL vae{nullptr};
  if (latent) {
    fm::AutoencoderKLConfig v;
    v.down_block_types = {"DownEncoderBlock2D", "DownEncoderBlock2D"};
    v.up_block_types = {"UpDecoderBlock2D", "UpDecoderBlock2D"};
    v.block_out_channels = {8, 8};
    v.latent_channels = 3;
    v.norm_num_groups = 4;
    vae = fm::AutoencoderKL(v);
  }
  auto p = std::make_unique<fsh::ShapesPipeline>(
      c, t, fsh::WordTokenizer({"a", "photo", "of", "red", "circle", "and", "square"}, 8),
      flowgrpo::sampling::FlowMatchSchedulerConfig{}, 8, torch::kCPU, vae);
  // A "pretrained" model: adaLN-Zero's zero gates would block every gradient.
  torch::NoGradGuard ng;
  for (auto& w : p->transformer()->parameters()) w.normal_(0.0, 0.1);
  return p;
}

flowgrpo::config::Config tiny_config(int epochs) {
  flowgrpo::config::Config c;
  c.seed = 7;
  c.model.type = flowgrpo::config::ModelType::kShapes;
  c.model.pretrained = "in-memory";
  c.model.resolution = 8;
  c.model.lora.rank = 4;
  c.model.lora.alpha = 8;
  // The output projection too, so that a few epochs can move the image globally.
  c.model.lora.target_modules.push_back("proj_out");
  c.data.train_prompts = "in-memory";
  c.sample.num_steps = 4;
  c.sample.eval_num_steps = 4;
  c.sample.guidance_scale = 2.0;
  c.sample.train_batch_size = 8;
  c.sample.num_image_per_prompt = 4;
  c.sample.num_batches_per_epoch = 2;
  c.train.learning_rate = 1e-2;
  c.train.clip_range = 0.2;
  c.train.beta = 0.01;
  c.train.gradient_accumulation_steps = 1;
  c.train.num_epochs = epochs;
  c.train.ema = true;
  c.train.eval_freq = 0;
  c.train.save_freq = 0;
  c.reward = {{"brightness", 1.0}};
  return c;
}

flowgrpo::data::PromptDataset prompts() {
  std::vector<std::string> p{"a photo of a red circle", "a photo of a red square", "a photo of a circle",
                             "a photo of a square"};
  return flowgrpo::data::PromptDataset(p, std::vector<nlohmann::json>(p.size(), nlohmann::json::object()));
}

std::vector<nlohmann::json> read_metrics(const fs::path& file) {
  std::vector<nlohmann::json> rows;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

struct Run {
  std::vector<nlohmann::json> metrics;
  std::map<std::string, torch::Tensor> lora;
};

Run train(const flowgrpo::config::Config& config, const fs::path& out, bool latent = false) {
  auto pipeline = tiny_pipeline(1, latent);
  BrightnessReward reward;
  const auto data = prompts();
  flowgrpo::dist::SingleProcessCommunicator comm;
  ft::GrpoTrainer trainer({config, *pipeline, reward, data, nullptr, comm, out});
  trainer.run();
  Run r;
  r.metrics = read_metrics(out / "metrics.jsonl");
  for (auto& [k, v] : fm::lora_state_dict(pipeline->transformer_module())) r.lora[k] = v.detach().clone();
  return r;
}

// The same epochs (metrics rows but for timings) and the same adapter, bit for bit.
void expect_same_run(const Run& expected, const Run& actual) {
  ASSERT_EQ(expected.metrics.size(), actual.metrics.size());
  for (size_t e = 0; e < expected.metrics.size(); ++e) {
    auto a = expected.metrics[e];
    auto b = actual.metrics[e];
    for (auto* m : {&a, &b})
      for (const char* timing : {"time_sampling_s", "time_reward_wait_s", "time_train_s"}) m->erase(timing);
    EXPECT_EQ(a.dump(), b.dump()) << "epoch " << e;
  }
  for (const auto& [name, t] : expected.lora) EXPECT_TRUE(torch::equal(t, actual.lora.at(name))) << name;
}

}  // namespace

TEST(GrpoTrainer, MeanTrainingRewardRises) {
  TempDir dir;
  const auto run = train(tiny_config(8), dir.path());
  ASSERT_EQ(run.metrics.size(), 8u);
  // Each epoch's row keeps its optimizer steps (one per micro-batch of 8 here).
  ASSERT_EQ(run.metrics[0]["steps"].size(), 2u);
  for (const char* key : {"global_step", "grad_norm", "clipfrac", "approx_kl", "policy_loss"})
    EXPECT_TRUE(run.metrics[0]["steps"][0].contains(key))
        << key << " in " << run.metrics[0]["steps"][0].dump();
  const double first = (run.metrics[0]["reward"].get<double>() + run.metrics[1]["reward"].get<double>()) / 2;
  const double last = (run.metrics[6]["reward"].get<double>() + run.metrics[7]["reward"].get<double>()) / 2;
  std::printf("  mean brightness reward: epochs 0-1 %.4f -> epochs 6-7 %.4f\n", first, last);
  EXPECT_GT(last, first + 0.02);
}

TEST(GrpoTrainer, ResumedRunIsBitIdenticalToAnUninterruptedOne) {
  TempDir straight, stopped;
  const auto full = train(tiny_config(3), straight.path());
  train(tiny_config(1), stopped.path());  // stop after epoch 0 (a checkpoint is written at the end)
  ASSERT_TRUE(fs::is_symlink(stopped / "checkpoints/latest"));
  {
    // A row the interrupted run wrote after its checkpoint: the resumed run recomputes
    // epoch 1 and must replace it, not add to it.
    std::ofstream stale(stopped / "metrics.jsonl", std::ios::app);
    stale << R"({"epoch": 1, "reward": -1.0})"
          << "\n";
  }
  auto resume = tiny_config(3);
  resume.resume = "latest";
  const auto resumed = train(resume, stopped.path());
  ASSERT_EQ(resumed.metrics.size(), 3u);  // appended to, each epoch once
  expect_same_run(full, resumed);
}

// A stop request (SIGTERM, SIGINT) inside an epoch: the run finishes the optimizer step,
// writes a checkpoint that resumes inside the epoch (rollouts regenerated from the
// adapter the epoch sampled with, the backward passes made skipped), and the resumed
// run ends bit-identical to an uninterrupted one.
TEST(GrpoTrainer, AStopInsideAnEpochResumesThereBitIdentically) {
  // Asks for a stop while scoring its `at`-th sampling batch.
  class StoppingReward : public BrightnessReward {
   public:
    explicit StoppingReward(int at) : at_(at) {}
    flowgrpo::rewards::RewardResult score(const flowgrpo::rewards::RewardBatch& batch) override {
      if (++calls_ == at_) flowgrpo::request_stop();
      return BrightnessReward::score(batch);
    }

   private:
    int at_, calls_ = 0;
  };
  TempDir straight, stopped;
  const auto full = train(tiny_config(3), straight.path());
  {
    auto pipeline = tiny_pipeline(1);
    // Epoch 1's last sampling batch (two per epoch; scoring is asynchronous, but the
    // rewards are all in before training starts, and the sampling loop does not poll
    // after its last batch).
    StoppingReward reward(4);
    const auto data = prompts();
    flowgrpo::dist::SingleProcessCommunicator comm;
    ft::GrpoTrainer trainer({tiny_config(3), *pipeline, reward, data, nullptr, comm, stopped.path()});
    trainer.run();
    flowgrpo::clear_stop_request();
    ASSERT_TRUE(trainer.stopped());
    EXPECT_EQ(trainer.epoch(), 1);
    EXPECT_EQ(trainer.global_step(), 3);  // epoch 0's two steps, then epoch 1's first
    EXPECT_EQ(fs::canonical(stopped / "checkpoints/latest"), fs::canonical(trainer.stop_checkpoint()));
  }
  const auto state =
      nlohmann::json::parse(std::ifstream(stopped / "checkpoints/latest/training_state/trainer_state.json"));
  ASSERT_TRUE(state.contains("in_epoch")) << state.dump();
  EXPECT_EQ(state["in_epoch"]["metrics"]["steps"].size(), 1u);
  EXPECT_TRUE(fs::exists(stopped / "checkpoints/latest/training_state/adapter_at_epoch_start.safetensors"));
  auto resume = tiny_config(3);
  resume.resume = "latest";
  const auto resumed = train(resume, stopped.path());
  ASSERT_EQ(resumed.metrics.size(), 3u);
  expect_same_run(full, resumed);
}

// A stop request while sampling ends the run before the epoch trains anything; the
// checkpoint is the state the epoch started from, and resuming replays the epoch.
TEST(GrpoTrainer, AStopWhileSamplingCheckpointsTheEpochsStart) {
  TempDir straight, stopped;
  const auto full = train(tiny_config(2), straight.path());
  {
    auto pipeline = tiny_pipeline(1);
    BrightnessReward reward;
    const auto data = prompts();
    flowgrpo::dist::SingleProcessCommunicator comm;
    ft::GrpoTrainer trainer({tiny_config(2), *pipeline, reward, data, nullptr, comm, stopped.path()});
    flowgrpo::request_stop();  // seen after the first sampling batch of epoch 0
    trainer.run();
    flowgrpo::clear_stop_request();
    ASSERT_TRUE(trainer.stopped());
    EXPECT_EQ(trainer.epoch(), 0);
    EXPECT_EQ(trainer.global_step(), 0);
  }
  const auto state =
      nlohmann::json::parse(std::ifstream(stopped / "checkpoints/latest/training_state/trainer_state.json"));
  EXPECT_FALSE(state.contains("in_epoch"));
  auto resume = tiny_config(2);
  resume.resume = "latest";
  const auto resumed = train(resume, stopped.path());
  ASSERT_EQ(resumed.metrics.size(), 2u);
  expect_same_run(full, resumed);
}

TEST(GrpoTrainer, AFreshRunInAUsedFolderKeepsEachEpochOnce) {
  TempDir dir;
  train(tiny_config(2), dir.path());
  const auto again = train(tiny_config(1), dir.path());
  ASSERT_EQ(again.metrics.size(), 1u);
  EXPECT_EQ(again.metrics[0]["epoch"], 0);
}

TEST(GrpoTrainer, FirstOptimizerStepIsOnPolicy) {
  TempDir dir;
  auto config = tiny_config(1);
  config.train.gradient_accumulation_steps = 2;  // one optimizer step over both micro-batches
  auto pipeline = tiny_pipeline(2);
  BrightnessReward reward;
  const auto data = prompts();
  flowgrpo::dist::SingleProcessCommunicator comm;
  ft::GrpoTrainer trainer({config, *pipeline, reward, data, nullptr, comm, dir.path()});
  nlohmann::json metrics;
  auto samples = trainer.sample_epoch(0, metrics);
  trainer.train_epoch(0, samples, metrics);
  ASSERT_EQ(metrics["steps"].size(), 1u);
  // Weights unchanged during the step's micro-batches: only batch composition differs.
  EXPECT_LT(metrics["steps"][0]["approx_kl"].get<double>(), 1e-10);
  EXPECT_EQ(metrics["steps"][0]["clipfrac"].get<double>(), 0.0);
  EXPECT_EQ(trainer.global_step(), 1);
}

TEST(GrpoTrainer, GradientNoiseScaleIsLoggedWithoutChangingTraining) {
  TempDir plain_dir, watched_dir;
  auto config = tiny_config(2);
  config.train.gradient_accumulation_steps = 2;
  const auto plain = train(config, plain_dir.path());
  config.train.gradient_noise_scale = true;
  const auto watched = train(config, watched_dir.path());
  ASSERT_EQ(watched.metrics.size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    const auto& m = watched.metrics[e];
    ASSERT_TRUE(m.contains("gns_trace") && m.contains("gns_grad_sq") && m.contains("grad_noise_scale"))
        << m.dump();
    const double trace = m["gns_trace"].get<double>(), grad_sq = m["gns_grad_sq"].get<double>();
    EXPECT_GT(trace, 0.0);
    if (grad_sq > 0)
      EXPECT_DOUBLE_EQ(m["grad_noise_scale"].get<double>(), trace / grad_sq);
    else
      EXPECT_TRUE(m["grad_noise_scale"].is_null());
    EXPECT_FALSE(plain.metrics[e].contains("gns_trace"));
    EXPECT_EQ(plain.metrics[e]["loss"], m["loss"]) << "epoch " << e;
  }
  // Per trained timestep (4 steps · 0.99 → 3): each backward pass's share.
  for (const auto& step : watched.metrics[0]["steps"])
    for (int j = 0; j < 3; ++j) {
      ASSERT_TRUE(step.contains("gns_trace_t" + std::to_string(j))) << step.dump();
      EXPECT_GT(step["gns_trace_t" + std::to_string(j)].get<double>(), 0.0);
      EXPECT_TRUE(step.contains("gns_grad_sq_t" + std::to_string(j)));
    }
  // A diagnostic only: the adapter is bit-identical with and without it.
  for (const auto& [name, t] : plain.lora) EXPECT_TRUE(torch::equal(t, watched.lora.at(name))) << name;
}

TEST(GrpoTrainer, WholeGroupMicroBatchesTakeTheSameStep) {
  // One optimizer step over all micro-batches: cutting them by whole groups (of unequal
  // sizes: 3 batches of 2 prompts drawn from 4 repeat prompts, so some groups hold 8
  // images) changes only the order of the sum, and each image weighs the same.
  TempDir plain_dir, grouped_dir;
  auto config = tiny_config(1);
  config.sample.num_batches_per_epoch = 3;
  config.train.gradient_accumulation_steps = 3;
  config.train.ema = false;
  config.train.gradient_noise_scale = true;
  const auto plain = train(config, plain_dir.path());
  config.train.group_micro_batches = true;
  const auto grouped = train(config, grouped_dir.path());
  ASSERT_EQ(grouped.metrics[0]["steps"].size(), 1u);
  EXPECT_DOUBLE_EQ(plain.metrics[0]["reward"].get<double>(), grouped.metrics[0]["reward"].get<double>());
  double max_diff = 0;
  for (const auto& [name, t] : plain.lora)
    max_diff = std::max(max_diff, (t - grouped.lora.at(name)).abs().max().item<double>());
  // Adam's first step is about lr · sign(g) per weight: equal up to float summation order.
  EXPECT_LT(max_diff, 1e-3 * config.train.learning_rate);
}

TEST(GrpoTrainer, CheckpointHoldsPeftAdapterAndRefusesAnotherModel) {
  TempDir dir;
  train(tiny_config(1), dir.path());
  const auto ckpt = dir / "checkpoints/latest";
  EXPECT_TRUE(fs::exists(ckpt / "lora/adapter_config.json"));
  EXPECT_TRUE(fs::exists(ckpt / "lora/adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(ckpt / "training_state/optimizer.pt"));
  // Resume with another adapter rank: refused with the reason.
  auto other = tiny_config(2);
  other.model.lora.rank = 8;
  other.resume = "latest";
  try {
    train(other, dir.path());
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("trained for another model"), std::string::npos) << e.what();
  }
}

TEST(GrpoTrainer, PixelModelCheckpointIsRefusedByTheLatentModel) {
  TempDir dir;
  train(tiny_config(1), dir.path());
  const auto adapter = dir / "checkpoints/latest/lora";
  ASSERT_TRUE(fs::exists(adapter / ft::kBaseModelRecordFile));
  // Same adapter shapes, different space: the record tells them apart.
  auto latent = tiny_pipeline(1, /*latent=*/true);
  EXPECT_TRUE(ft::check_adapter_base_model(adapter, *tiny_pipeline(1)));
  try {
    ft::check_adapter_base_model(adapter, *latent);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'latent_shape' is [3,8,8], this model's is [3,4,4]"),
              std::string::npos)
        << e.what();
  }
  auto resume = tiny_config(2);
  resume.resume = "latest";
  try {
    train(resume, dir.path(), /*latent=*/true);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("pixel-space and a latent-space model"), std::string::npos)
        << e.what();
  }
}

// A GRPO step must credit each trajectory with its own advantage: re-scoring the
// epoch's transitions after the update, the log-probability gained by each sample
// follows its advantage, and not a shuffled copy of the advantages.
TEST(GrpoTrainer, CreditReachesItsOwnTrajectory) {
  // One epoch's correlation is a noisy draw (0.11 to 0.66 over seeds 1-8): average a few.
  double own_sum = 0.0, shuffled_sum = 0.0;
  const std::vector<int64_t> seeds{1, 2, 3, 4};
  for (const int64_t seed : seeds) {
    TempDir dir;
    auto config = tiny_config(1);
    config.seed = seed;
    config.sample.num_batches_per_epoch = 4;       // 32 samples, 8 groups of 4
    config.train.gradient_accumulation_steps = 4;  // one optimizer step for the epoch
    config.train.beta = 0.0;
    config.train.clip_range = 1e3;  // an unclipped policy gradient
    config.train.learning_rate = 3e-3;
    auto pipeline = tiny_pipeline(3);
    BrightnessReward reward;
    const auto data = prompts();
    flowgrpo::dist::SingleProcessCommunicator comm;
    ft::GrpoTrainer trainer({config, *pipeline, reward, data, nullptr, comm, dir.path()});
    nlohmann::json metrics;
    auto samples = trainer.sample_epoch(0, metrics);
    trainer.train_epoch(0, samples, metrics);
    ASSERT_EQ(trainer.global_step(), 1);
    const auto adv = trainer.last_advantages().to(torch::kDouble);
    ASSERT_EQ(adv.size(0), samples.size());

    torch::NoGradGuard ng;
    pipeline->transformer_module().eval();
    const auto schedule = pipeline->schedule(config.sample.num_steps);
    const auto n = samples.size();
    const auto negative = pipeline->encode_prompts({""}).repeat_interleave(n);
    torch::Tensor gained = torch::zeros({n}, torch::kDouble);
    for (int64_t j = 0; j < samples.latents.size(1); ++j) {
      const auto out = flowgrpo::sampling::score_transition(
          pipeline->velocity_model(), samples.latents.select(1, j), samples.next_latents.select(1, j),
          samples.step_indices.select(1, j), schedule, samples.cond, negative, config.sample.guidance_scale,
          config.sample.noise_level, flowgrpo::sampling::SdeType::kSde);
      gained += (out.log_prob - samples.log_probs.select(1, j)).to(torch::kDouble);
    }
    auto corr = [](const torch::Tensor& a, const torch::Tensor& b) {
      const auto x = a - a.mean(), y = b - b.mean();
      return ((x * y).sum() / (x.norm() * y.norm())).item<double>();
    };
    const double own = corr(gained, adv);
    double shuffled = 0.0;
    auto gen = at::detail::createCPUGenerator(17);
    constexpr int kShuffles = 20;
    for (int k = 0; k < kShuffles; ++k)
      shuffled += corr(gained, adv.index_select(0, torch::randperm(n, gen, torch::kLong)));
    shuffled /= kShuffles;
    std::printf(
        "  seed %ld: corr(log-prob gain, own advantage) %.3f; with shuffled advantages (mean of %d) %.3f\n",
        static_cast<long>(seed), own, kShuffles, shuffled);
    own_sum += own;
    shuffled_sum += shuffled;
  }
  // The gain also depends on how sensitive each trajectory's log-probability is,
  // so the correlation is well below 1 (~0.5); the null is ~0 (s.e. ~0.04 per seed).
  EXPECT_GT(own_sum / static_cast<double>(seeds.size()), 0.3);
  EXPECT_LT(std::abs(shuffled_sum / static_cast<double>(seeds.size())), 0.1);
}

namespace {

// Brightness for the first `good_calls` batches, then every sample invalid with a
// server-like reason (a reward server that died).
class DyingReward : public flowgrpo::rewards::Reward {
 public:
  explicit DyingReward(int good_calls) : good_calls_(good_calls) {}
  std::string name() const override { return "dying"; }
  flowgrpo::rewards::RewardResult score(const flowgrpo::rewards::RewardBatch& batch) override {
    auto r = flowgrpo::rewards::RewardResult::from_scores(batch.as_float01().mean({1, 2, 3}));
    if (calls_++ >= good_calls_)
      for (int64_t i = 0; i < batch.size(); ++i)
        r.invalidate(i,
                     "geneval: POST http://127.0.0.1:18085/score: connect failed (gave up after 4 attempts)");
    return r;
  }

 private:
  int good_calls_;
  int calls_ = 0;
};

nlohmann::json trainer_state(const fs::path& checkpoint) {
  std::ifstream in(checkpoint / "training_state/trainer_state.json");
  return nlohmann::json::parse(in);
}

std::string run_until_error(const flowgrpo::config::Config& config, const fs::path& out, int good_calls) {
  auto pipeline = tiny_pipeline(1);
  DyingReward reward(good_calls);
  const auto data = prompts();
  flowgrpo::dist::SingleProcessCommunicator comm;
  ft::GrpoTrainer trainer({config, *pipeline, reward, data, nullptr, comm, out});
  try {
    trainer.run();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// Issue 14: with the reward server dead, an epoch has no valid sample; training on must not
// pass in silence ("reward nan kept 0" to the end, exit 0).
TEST(GrpoTrainer, TooManyInvalidRewardsSaveACheckpointAndStop) {
  TempDir dir;
  auto config = tiny_config(4);
  config.train.save_freq = 1;
  // Epoch 0 (2 batches) is scored; epoch 1's rewards all fail.
  const auto message = run_until_error(config, dir.path(), 2);
  ASSERT_FALSE(message.empty()) << "the run did not stop";
  for (const char* part :
       {"epoch 1: 16 of 16 samples (100%) have no valid reward", "train.max_invalid_reward_fraction = 0.5",
        "http://127.0.0.1:18085/score", "connect failed", "resume=latest"})
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  // The state before epoch 1, saved once (save_freq wrote it at the epoch's start; the stop
  // points at it rather than rewriting it).
  const auto latest = fs::canonical(dir / "checkpoints/latest");
  EXPECT_EQ(latest.filename(), "checkpoint-2");
  EXPECT_NE(message.find(latest.filename().string()), std::string::npos) << message;
  EXPECT_EQ(trainer_state(latest)["epoch"], 1);
  size_t checkpoints = 0;
  for (const auto& entry : fs::directory_iterator(dir / "checkpoints"))
    checkpoints += entry.is_directory() && !entry.is_symlink();
  EXPECT_EQ(checkpoints, 1u);
  // Epoch 1's row is not written: a resumed run recomputes it.
  const auto rows = read_metrics(dir / "metrics.jsonl");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["epoch"], 0);

  // Some invalid samples under the limit: training goes on (a fraction of 1 never stops).
  TempDir tolerant;
  auto lenient = tiny_config(2);
  lenient.train.max_invalid_reward_fraction = 1.0;
  EXPECT_EQ(run_until_error(lenient, tolerant.path(), 0), "");
}

// Issue 14: epochs without an optimizer step keep global_step; their checkpoints used to
// overwrite checkpoint-<step> with another state. No folder is ever rewritten.
TEST(GrpoTrainer, ACheckpointFolderIsNeverRewrittenWithAnotherState) {
  TempDir dir;
  auto config = tiny_config(3);
  config.train.save_freq = 1;
  config.train.max_invalid_reward_fraction = 1.0;
  ASSERT_EQ(run_until_error(config, dir.path(), 0), "");  // nothing is ever valid: no optimizer step
  // Saved at the start of epochs 1 and 2 and at the end (epoch 3), all at step 0.
  EXPECT_EQ(trainer_state(dir / "checkpoints/checkpoint-0")["epoch"], 1);
  EXPECT_EQ(trainer_state(dir / "checkpoints/checkpoint-0-epoch-2")["epoch"], 2);
  EXPECT_EQ(trainer_state(dir / "checkpoints/checkpoint-0-epoch-3")["epoch"], 3);
  EXPECT_EQ(fs::canonical(dir / "checkpoints/latest").filename(), "checkpoint-0-epoch-3");
  // Resuming from the end state and stopping at once saves nothing new and rewrites nothing.
  const auto before =
      fs::last_write_time(dir / "checkpoints/checkpoint-0-epoch-3/training_state/trainer_state.json");
  config.resume = "latest";
  ASSERT_EQ(run_until_error(config, dir.path(), 0), "");
  EXPECT_EQ(fs::last_write_time(dir / "checkpoints/checkpoint-0-epoch-3/training_state/trainer_state.json"),
            before);
  EXPECT_FALSE(fs::exists(dir / "checkpoints/checkpoint-0-epoch-3-2"));
}

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The std::invalid_argument that resuming `out`'s latest checkpoint throws ("" if none).
std::string resume_error(const fs::path& out) {
  auto config = tiny_config(2);
  config.resume = "latest";
  try {
    train(config, out);
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not std::invalid_argument) ") + e.what();
  }
  return "";
}

}  // namespace

// Issue 14: a damaged checkpoint used to fail the resume with nlohmann's or the standard
// library's bare messages ("key 'epoch' not found", "map::at", "stoll"); each problem
// names the file and the key, tensor or metadata entry.
TEST(GrpoTrainer, ACorruptCheckpointIsRefusedNamingFileAndKey) {
  TempDir dir;
  train(tiny_config(1), dir.path());  // with EMA: every file of a checkpoint
  const auto state_dir = fs::canonical(dir / "checkpoints/latest") / "training_state";
  const auto state_file = state_dir / "trainer_state.json";
  const auto adapter_file = state_dir / "adapter_weights.safetensors";
  const auto ema_file = state_dir / "ema.safetensors";
  const auto state_text = read_text(state_file);
  const auto state = nlohmann::json::parse(state_text);
  const auto adapter = flowgrpo::io::load_safetensors(adapter_file);
  const auto ema = flowgrpo::io::SafetensorsFile::open(ema_file);
  const auto ema_tensors = flowgrpo::io::load_safetensors(ema_file);
  const auto ema_metadata = ema.metadata();

  auto expect_refused = [&](const std::vector<std::string>& parts) {
    const auto message = resume_error(dir.path());
    ASSERT_FALSE(message.empty()) << "the damaged checkpoint was accepted";
    EXPECT_EQ(message.rfind("(not", 0), std::string::npos) << message;
    for (const auto& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
  };
  const std::string in_state = state_file.string() + ": ";
  auto with_state = [&](const std::function<void(nlohmann::json&)>& edit,
                        const std::vector<std::string>& parts) {
    auto s = state;
    edit(s);
    flowgrpo::testing::write_text_file(state_file, s.dump());
    expect_refused(parts);
  };

  flowgrpo::testing::write_text_file(state_file, state_text.substr(0, state_text.size() / 2));
  expect_refused({in_state + "invalid JSON"});
  flowgrpo::testing::write_text_file(state_file, "[1, 2]");
  expect_refused({in_state + "expected a JSON object, found array"});
  with_state([](auto& s) { s.erase("epoch"); }, {in_state + "missing key 'epoch'"});
  with_state([](auto& s) { s["global_step"] = "3"; },
             {in_state + "key 'global_step' must be an integer, found \"3\""});
  with_state([](auto& s) { s["backward_count"] = 1.5; },
             {in_state + "key 'backward_count' must be an integer, found 1.5"});
  const nlohmann::json mixed = {1, "x"};
  with_state([&](auto& s) { s["prompt_history"] = mixed; },
             {in_state + "key 'prompt_history' must be a list of integers, found [1,\"x\"]"});
  with_state([](auto& s) { s["model"] = 3; }, {in_state + "key 'model' must be an object, found 3"});
  with_state([](auto& s) { s["model"].erase("adapter_shapes"); },
             {in_state + "missing key 'model.adapter_shapes'"});
  flowgrpo::testing::write_text_file(state_file, state_text);

  auto with_adapter = [&](const std::function<void(flowgrpo::io::TensorMap&)>& edit,
                          const std::vector<std::string>& parts) {
    auto tensors = adapter;
    edit(tensors);
    flowgrpo::io::save_safetensors(adapter_file, tensors);
    expect_refused(parts);
  };
  const std::string first = adapter.begin()->first;
  with_adapter([&](auto& t) { t.erase(first); }, {adapter_file.string(), "has no tensor '" + first + "'"});
  const auto wrong_shape = torch::zeros({1, 2});
  with_adapter([&](auto& t) { t[first] = wrong_shape; },
               {adapter_file.string() + ": tensor '" + first + "' has shape [1, 2]"});
  with_adapter([&](auto& t) { t["bogus.lora_A.weight"] = torch::zeros({1}); },
               {adapter_file.string() + ": unexpected tensor 'bogus.lora_A.weight'"});
  flowgrpo::io::save_safetensors(adapter_file, adapter);

  auto with_ema = [&](const flowgrpo::io::TensorMap& tensors, std::map<std::string, std::string> metadata,
                      const std::vector<std::string>& parts) {
    flowgrpo::io::save_safetensors(ema_file, tensors, metadata);
    expect_refused(parts);
  };
  auto bad_metadata = ema_metadata;
  bad_metadata["num_updates"] = "12abc";
  with_ema(ema_tensors, bad_metadata,
           {ema_file.string() + ": metadata 'num_updates' must be an integer, found '12abc'"});
  bad_metadata = ema_metadata;
  bad_metadata.erase("last_update_step");
  with_ema(ema_tensors, bad_metadata, {ema_file.string() + ": metadata lacks 'last_update_step'"});
  auto fewer = ema_tensors;
  fewer.erase("ema.0");
  with_ema(fewer, ema_metadata, {ema_file.string(), "has no tensor 'ema.0'"});
  auto reshaped = ema_tensors;
  reshaped["ema.0"] = torch::zeros({3});
  with_ema(reshaped, ema_metadata, {ema_file.string() + ": Ema::load_state: parameter 0"});

  // Repaired, it resumes.
  flowgrpo::io::save_safetensors(ema_file, ema_tensors, ema_metadata);
  EXPECT_EQ(resume_error(dir.path()), "");
}

#if FLOWGRPO_WITH_DISTRIBUTED
// Issue 14: every rank used to choose the checkpoint folder's name itself with
// fs::exists, without waiting for rank 0, so a rank looking after rank 0 had written
// the folder (or on a file system it does not share) recorded another name. Here the
// two ranks (threads over Gloo) see different folders, which makes that deterministic:
// rank 0's already holds a checkpoint-0, rank 1's does not. Both must record rank 0's
// choice, checkpoint-0-epoch-0, the folder rank 0 wrote.
TEST(GrpoTrainer, EveryRankRecordsTheCheckpointNameRankZeroChose) {
  const int port = flowgrpo::testing::free_loopback_port();
  ::unsetenv("TORCHELASTIC_USE_AGENT_STORE");
  TempDir dirs[2];
  fs::create_directories(dirs[0] / "checkpoints/checkpoint-0");  // an earlier run's
  std::string messages[2];
  auto run = [&](int rank) {
    try {
      auto comm =
          flowgrpo::dist::make_communicator(flowgrpo::testing::loopback_launch(rank, 2, port), "gloo", 60);
      auto pipeline = tiny_pipeline(1);
      DyingReward reward(0);  // nothing valid: the trainer saves and stops in epoch 0
      const auto data = prompts();
      ft::GrpoTrainer trainer({tiny_config(2), *pipeline, reward, data, nullptr, *comm, dirs[rank].path()});
      trainer.run();
      messages[rank] = "(no stop)";
    } catch (const std::exception& e) {
      messages[rank] = e.what();
    }
  };
  std::thread t0(run, 0), t1(run, 1);
  t0.join();
  t1.join();
  for (int rank = 0; rank < 2; ++rank) {
    SCOPED_TRACE("rank " + std::to_string(rank));
    EXPECT_NE(messages[rank].find("have no valid reward"), std::string::npos) << messages[rank];
    EXPECT_NE(messages[rank].find((dirs[rank] / "checkpoints/checkpoint-0-epoch-0").string()),
              std::string::npos)
        << messages[rank];
  }
  EXPECT_TRUE(fs::exists(dirs[0] / "checkpoints/checkpoint-0-epoch-0/training_state/trainer_state.json"));
  EXPECT_EQ(fs::canonical(dirs[0] / "checkpoints/latest").filename(), "checkpoint-0-epoch-0");
  EXPECT_FALSE(fs::exists(dirs[1] / "checkpoints"));  // only rank 0 writes
}
#endif
