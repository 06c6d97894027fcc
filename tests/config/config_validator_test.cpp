#include "flowgrpo/config/config_validator.h"

#include "flowgrpo/config/batch_layout.h"
#include "flowgrpo/config/config_loader.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>

namespace fc = flowgrpo::config;

namespace {

std::filesystem::path source_dir() {
  return std::filesystem::path(FLOWGRPO_SOURCE_DIR);
}

// A configuration that validates on one rank (the 1-GPU layout 8 x 8, 8 batches, GA 4).
fc::Config valid_config() {
  fc::Config c;
  c.model.pretrained = "models/sd3";
  c.data.train_prompts = "train.txt";
  c.data.test_prompts = "test.txt";
  c.reward = {{"geneval", 1.0}};
  c.sample.train_batch_size = 8;
  c.sample.num_image_per_prompt = 8;
  c.sample.num_batches_per_epoch = 8;
  c.train.gradient_accumulation_steps = 4;
  return c;
}

std::string validation_message(const fc::Config& c, int world_size = 1) {
  try {
    fc::validate(c, world_size);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// Applies `change` to a valid config and expects validation to fail mentioning every fragment.
void expect_problem(const std::function<void(fc::Config&)>& change,
                    std::initializer_list<std::string> fragments, int world_size = 1) {
  fc::Config c = valid_config();
  change(c);
  const std::string message = validation_message(c, world_size);
  ASSERT_FALSE(message.empty()) << "expected a validation error";
  for (const auto& fragment : fragments)
    EXPECT_NE(message.find(fragment), std::string::npos) << "missing '" << fragment << "' in:\n" << message;
}

}  // namespace

TEST(ConfigValidator, ValidConfigPassesAndReturnsTheLayout) {
  const auto layout = fc::validate(valid_config(), 1);
  EXPECT_EQ(layout.images_per_iteration, 8);
  EXPECT_EQ(layout.groups_per_iteration, 1);
  EXPECT_EQ(layout.groups_per_epoch, 8);
  EXPECT_EQ(layout.optimizer_steps_per_epoch, 2);
  EXPECT_EQ(layout.train_timesteps, 9);
}

TEST(ConfigValidator, BuiltInDefaultsNeedPathsAndAReward) {
  const std::string message = validation_message(fc::Config{}, 32);
  EXPECT_NE(message.find("invalid configuration (4 problems)"), std::string::npos) << message;
  EXPECT_NE(message.find("model.pretrained is empty"), std::string::npos);
  EXPECT_NE(message.find("data.train_prompts is empty"), std::string::npos);
  EXPECT_NE(message.find("data.test_prompts is empty but train.eval_freq = 60"), std::string::npos);
  EXPECT_NE(message.find("reward is empty"), std::string::npos);
}

TEST(ConfigValidator, RangeChecksNameKeyValueAndRange) {
  expect_problem([](auto& c) { c.sample.noise_level = 2.5; },
                 {"sample.noise_level = 2.5: must be in (0, 2]", "deterministic ODE"});
  expect_problem([](auto& c) { c.sample.noise_level = 0; }, {"sample.noise_level = 0: must be in (0, 2]"});
  expect_problem([](auto& c) { c.sample.noise_level = std::nan(""); }, {"sample.noise_level = .nan"});
  expect_problem(
      [](auto& c) {
        c.sample.sde_type = fc::SdeType::kCps;
        c.sample.noise_level = 1.5;
      },
      {"sample.noise_level = 1.5: must be in (0, 1]", "cps"});
  expect_problem([](auto& c) { c.train.clip_range = 0; }, {"train.clip_range = 0: must be in (0, 1)"});
  expect_problem([](auto& c) { c.train.timestep_fraction = 1.5; },
                 {"train.timestep_fraction = 1.5: must be in (0, 1]"});
  expect_problem([](auto& c) { c.sample.num_steps = 0; }, {"sample.num_steps = 0: must be >= 1"});
  expect_problem([](auto& c) { c.sample.eval_num_steps = 0; }, {"sample.eval_num_steps = 0: must be >= 1"});
  expect_problem([](auto& c) { c.train.learning_rate = -1e-4; },
                 {"train.learning_rate = -1.0e-4: must be > 0 and finite"});
  expect_problem([](auto& c) { c.train.learning_rate = std::numeric_limits<double>::infinity(); },
                 {"train.learning_rate = .inf: must be > 0 and finite"});
  expect_problem([](auto& c) { c.train.adam_beta2 = 1; }, {"train.adam_beta2 = 1: must be in [0, 1)"});
  expect_problem([](auto& c) { c.train.beta = -0.1; }, {"train.beta = -0.1: must be >= 0 and finite"});
  expect_problem([](auto& c) { c.train.ema_max_decay = 1; }, {"train.ema_max_decay = 1: must be in [0, 1)"});
  expect_problem([](auto& c) { c.train.ema_update_every = 0; }, {"train.ema_update_every = 0: must be >= 1"});
  expect_problem(
      [](auto& c) {
        c.train.gradient_noise_scale = true;
        c.train.gradient_accumulation_steps = 1;
      },
      {"train.gradient_noise_scale: needs train.gradient_accumulation_steps >= 2", "found 1"});
  expect_problem([](auto& c) { c.train.save_freq = -1; },
                 {"train.save_freq = -1: must be >= 0 (0 = never save)"});
  expect_problem([](auto& c) { c.model.lora.rank = 0; }, {"model.lora.rank = 0: must be >= 1"});
  expect_problem([](auto& c) { c.model.lora.alpha = 0; }, {"model.lora.alpha = 0: must be > 0"});
  expect_problem(
      [](auto& c) {
        c.model.lora.target_modules = {"attn.to_q", "attn.to_q"};
      },
      {"model.lora.target_modules lists 'attn.to_q' twice"});
  expect_problem([](auto& c) { c.model.lora.target_modules.clear(); },
                 {"model.lora.target_modules is empty"});
  expect_problem(
      [](auto& c) {
        c.model.lora.enabled = false;
        c.model.lora.path = "adapter";
      },
      {"model.lora.path = 'adapter' is set but model.lora.enabled is false"});
  expect_problem([](auto& c) { c.model.resolution = 501; },
                 {"model.resolution = 501: must be an even number in [8, 4096]"});
  expect_problem([](auto& c) { c.model.resolution = 8192; }, {"model.resolution = 8192"});
  expect_problem([](auto& c) { c.sample.guidance_scale = 0.5; },
                 {"sample.guidance_scale = 0.5: must be >= 1"});
  expect_problem([](auto& c) { c.sample.eval_guidance_scale = 0.0; },
                 {"sample.eval_guidance_scale = 0: must be >= 1"});
  expect_problem([](auto& c) { c.sample.test_batch_size = 0; }, {"sample.test_batch_size = 0: must be >= 1"});
  expect_problem([](auto& c) { c.eval.max_prompts = -1; }, {"eval.max_prompts = -1: must be >= 0"});
  expect_problem([](auto& c) { c.seed = -1; }, {"seed = -1: must be >= 0"});
  expect_problem([](auto& c) { c.run_name = "a/b"; }, {"run_name = 'a/b': must not contain '/'"});
  expect_problem([](auto& c) { c.dist.timeout_seconds = 0; }, {"dist.timeout_seconds = 0: must be >= 1"});
  expect_problem([](auto& c) { c.logging.log_every = 0; }, {"logging.log_every = 0: must be >= 1"});
  expect_problem([](auto& c) { c.dist.backend = fc::DistBackend::kNone; },
                 {"dist.backend = none but the world size is 2"}, 2);
  expect_problem(
      [](auto& c) {
        c.train.gradient_noise_scale = true;
        c.train.gradient_accumulation_steps = 2;
        c.sample.num_batches_per_epoch = 2;
      },
      {"train.gradient_noise_scale: measured on one process", "the world size is 2"}, 2);
  expect_problem([](auto& c) { c.dist.bucket_size_mb = 0; },
                 {"dist.bucket_size_mb = 0: must be in (0, 4096]"});
  expect_problem(
      [](auto& c) {
        c.data.test_prompts.clear();
        c.train.eval_freq = 10;
      },
      {"data.test_prompts is empty but train.eval_freq = 10"});
}

// Issue 14: the fraction of samples without a valid reward above which the trainer stops.
TEST(ConfigValidator, MaxInvalidRewardFractionIsAFractionInZeroOne) {
  for (double bad : {-0.1, 1.5}) {
    SCOPED_TRACE(bad);
    expect_problem([&](auto& c) { c.train.max_invalid_reward_fraction = bad; },
                   {"train.max_invalid_reward_fraction = ", ": must be in [0, 1]", "1 = never stop"});
  }
  expect_problem([](auto& c) { c.train.max_invalid_reward_fraction = std::nan(""); },
                 {"train.max_invalid_reward_fraction = .nan: must be in [0, 1]"});
  for (double good : {0.0, 0.5, 1.0}) {
    fc::Config c = valid_config();
    c.train.max_invalid_reward_fraction = good;
    EXPECT_EQ(validation_message(c), "") << good;
  }
}

TEST(ConfigValidator, EvalCanBeSwitchedOffWithoutTestPrompts) {
  auto c = valid_config();
  c.data.test_prompts.clear();
  c.train.eval_freq = 0;
  EXPECT_NO_THROW(fc::validate(c, 1));
}

TEST(ConfigValidator, SdeWindowMustFitTheTrajectory) {
  auto c = valid_config();
  c.sample.sde_window_size = 3;
  c.sample.sde_window_range = {0, 5};
  const auto layout = fc::validate(c, 1);
  EXPECT_EQ(layout.train_timesteps, 3);
  expect_problem(
      [](auto& c) {
        c.sample.sde_window_size = 3;
        c.sample.sde_window_range = {0, 2};
      },
      {"sample.sde_window_range = [0, 2]: must satisfy 0 <= first, first + sde_window_size (3) <= end"});
  expect_problem(
      [](auto& c) {
        c.sample.sde_window_size = 3;
        c.sample.sde_window_range = {2, 10};
      },
      {"sample.sde_window_range = [2, 10]", "<= sample.num_steps - 1 (9)", "never trained"});
  expect_problem([](auto& c) { c.sample.sde_window_size = 10; },
                 {"sample.sde_window_size = 10: must be <= sample.num_steps - 1 = 9"});
  expect_problem([](auto& c) { c.sample.sde_window_size = -1; },
                 {"sample.sde_window_size = -1: must be >= 0"});
}

TEST(ConfigValidator, RewardWeightsMustBeFiniteAndSomeNonZero) {
  expect_problem(
      [](auto& c) {
        c.reward = {{"geneval", 1.0}, {"ocr", std::nan("")}};
      },
      {"reward.ocr = .nan: the weight must be finite"});
  expect_problem(
      [](auto& c) {
        c.reward = {{"ocr", std::numeric_limits<double>::infinity()}};
      },
      {"reward.ocr = .inf: the weight must be finite"});
  expect_problem([](auto& c) { c.reward = {{"ocr", 0.0}}; }, {"every weight is 0"});
  expect_problem([](auto& c) { c.reward.clear(); }, {"reward is empty", "include: rewards/geneval.yaml"});
  // Unknown reward names are the reward registry's business, not the validator's.
  auto c = valid_config();
  c.reward = {{"no_such_reward", 1.0}, {"negative", -0.5}};
  EXPECT_NO_THROW(fc::validate(c, 1));
}

TEST(ConfigValidator, AllProblemsAreListedTogether) {
  auto c = valid_config();
  c.sample.noise_level = 3;
  c.train.clip_range = -1;
  c.sample.num_image_per_prompt = 3;
  const std::string message = validation_message(c);
  EXPECT_NE(message.find("invalid configuration (3 problems):\n  - "), std::string::npos) << message;
  EXPECT_NE(message.find("sample.noise_level"), std::string::npos);
  EXPECT_NE(message.find("train.clip_range"), std::string::npos);
  EXPECT_NE(message.find("sample.num_image_per_prompt = 3 does not fit"), std::string::npos);
}

// ---- batch arithmetic -------------------------------------------------------

TEST(BatchLayout, ReferenceRecipeOn32Gpus) {
  fc::Config c;  // defaults: 9 x 24, 4 batches, GA 2
  const auto layout = fc::make_batch_layout(c, 32);
  EXPECT_EQ(layout.images_per_iteration, 288);
  EXPECT_EQ(layout.groups_per_iteration, 12);
  EXPECT_EQ(layout.groups_per_epoch, 48);  // the paper's 48 groups per epoch
  EXPECT_EQ(layout.images_per_epoch, 1152);
  EXPECT_EQ(layout.images_per_rank_per_epoch, 36);
  EXPECT_EQ(layout.optimizer_steps_per_epoch, 2);
  EXPECT_EQ(layout.train_timesteps, 9);
  EXPECT_EQ(
      layout.describe(),
      "32 ranks x 9 images = 288 images per sampling iteration = 12 prompts x 24 images; 4 iterations per "
      "epoch = 48 prompts, 1152 images (36 per rank); 9 of 10 steps trained; micro-batch 9, 2 per "
      "optimizer step = 2 optimizer steps per epoch");
}

TEST(BatchLayout, FourGpuRecipe) {
  fc::Config c;
  c.sample.train_batch_size = 8;
  c.sample.num_image_per_prompt = 16;
  c.sample.num_batches_per_epoch = 8;
  c.train.gradient_accumulation_steps = 4;
  c.train.num_inner_epochs = 2;
  const auto layout = fc::make_batch_layout(c, 4);
  EXPECT_EQ(layout.groups_per_iteration, 2);
  EXPECT_EQ(layout.groups_per_epoch, 16);
  EXPECT_EQ(layout.optimizer_steps_per_epoch, 4);  // 2 inner epochs x 8 / 4
}

TEST(BatchLayout, GroupMustFitOneSamplingIteration) {
  fc::Config c;
  c.sample.train_batch_size = 8;
  c.sample.num_image_per_prompt = 24;
  try {
    fc::make_batch_layout(c, 2);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(
        std::string(e.what()),
        "sample.num_image_per_prompt = 24 does not fit one sampling iteration: 2 ranks x "
        "sample.train_batch_size 8 = 16 images per iteration, and every prompt's group of 24 images must be "
        "sampled within one iteration across all ranks. Choose num_image_per_prompt dividing 16 (e.g. 8 or "
        "16), "
        "or a train_batch_size that makes 2 x train_batch_size a multiple of 24 (e.g. 12)");
  }
  // The reference recipe on a single GPU: 9 images cannot hold a group of 24.
  expect_problem(
      [](auto& c) {
        c.sample.train_batch_size = 9;
        c.sample.num_image_per_prompt = 24;
      },
      {"1 rank x sample.train_batch_size 9 = 9 images per iteration", "dividing 9 (e.g. 3 or 9)",
       "a multiple of 24 (e.g. 24)"});
}

TEST(BatchLayout, GroupsOfOneAreRejectedWithAnExplanation) {
  expect_problem([](auto& c) { c.sample.num_image_per_prompt = 1; },
                 {"sample.num_image_per_prompt = 1: GRPO needs at least 2 images per prompt", "advantage 0"});
  expect_problem([](auto& c) { c.sample.num_image_per_prompt = 0; },
                 {"sample.num_image_per_prompt = 0: must be >= 2"});
}

TEST(BatchLayout, GradientAccumulationMustDivideBatches) {
  expect_problem([](auto& c) { c.train.gradient_accumulation_steps = 3; },
                 {"train.gradient_accumulation_steps = 3 does not divide sample.num_batches_per_epoch = 8",
                  "the last 2 micro-batches of each epoch would get no optimizer step",
                  "Choose a divisor of 8 (1, 2, 4, 8)", "num_batches_per_epoch / 2 = 4"});
  expect_problem([](auto& c) { c.train.gradient_accumulation_steps = 0; },
                 {"train.gradient_accumulation_steps = 0: must be >= 1", "issue #43"});
  expect_problem(
      [](auto& c) {
        c.sample.num_batches_per_epoch = 1;
        c.train.gradient_accumulation_steps = 2;
      },
      {"does not divide sample.num_batches_per_epoch = 1", "divisor of 1 (1)"});
  expect_problem([](auto& c) { c.sample.num_batches_per_epoch = 0; },
                 {"sample.num_batches_per_epoch = 0: must be >= 1"});
  expect_problem([](auto& c) { c.sample.train_batch_size = 0; },
                 {"sample.train_batch_size = 0: must be >= 1"});
  expect_problem([](auto& c) { c.train.num_inner_epochs = 0; }, {"train.num_inner_epochs = 0: must be >= 1"});
}

TEST(BatchLayout, AtLeastOneTrainedTimestep) {
  expect_problem(
      [](auto& c) {
        c.sample.num_steps = 1;
        c.train.timestep_fraction = 0.99;
      },
      {"sample.num_steps = 1 x train.timestep_fraction = 0.99 trains floor(0.99) = 0 timesteps"});
  auto c = valid_config();
  c.train.timestep_fraction = 1.0;
  EXPECT_EQ(fc::validate(c, 1).train_timesteps, 10);
}

TEST(BatchLayout, BadWorldSize) {
  EXPECT_THROW(fc::make_batch_layout(fc::Config{}, 0), std::invalid_argument);
}

// ---- shipped configs ----------------------------------------------------------

TEST(ShippedConfigs, GenevalValidatesOn32Gpus) {
  const auto c = fc::load_config(source_dir() / "configs/geneval.yaml", {});
  ASSERT_EQ(c.reward.size(), 1u);
  EXPECT_EQ(c.reward[0], (fc::RewardWeight{"geneval", 1.0}));
  EXPECT_EQ(c.run_name, "geneval_sd3");
  EXPECT_EQ(c.train.beta, 0.04);
  const auto layout = fc::validate(c, 32);
  EXPECT_EQ(layout.groups_per_epoch, 48);
  EXPECT_EQ(layout.optimizer_steps_per_epoch, 2);
  // ... and not on one or two GPUs, with an explanation (the example of docs/configs.md).
  EXPECT_NE(validation_message(c, 1).find("does not fit one sampling iteration"), std::string::npos);
  const std::string two = validation_message(c, 2);
  EXPECT_NE(two.find("2 ranks x sample.train_batch_size 9 = 18 images per iteration"), std::string::npos)
      << two;
  EXPECT_NE(two.find("dividing 18 (e.g. 9 or 18)"), std::string::npos) << two;
  EXPECT_NE(two.find("a multiple of 24 (e.g. 12)"), std::string::npos) << two;
}

TEST(ShippedConfigs, Geneval1GpuValidatesOnOneGpu) {
  const auto c = fc::load_config(source_dir() / "configs/geneval_1gpu.yaml", {});
  const auto layout = fc::validate(c, 1);
  EXPECT_EQ(layout.images_per_iteration, 8);
  EXPECT_EQ(layout.groups_per_epoch, 8);
  EXPECT_EQ(layout.gradient_accumulation_steps, 4);
  EXPECT_EQ(layout.optimizer_steps_per_epoch, 2);
  EXPECT_EQ(c.reward.size(), 1u);
}

TEST(ShippedConfigs, BaseYamlStatesTheBuiltInDefaults) {
  auto c = fc::load_config(source_dir() / "configs/base.yaml", {});
  // base.yaml adds example paths; everything else must equal the built-in defaults.
  EXPECT_FALSE(c.model.pretrained.empty());
  EXPECT_FALSE(c.data.train_prompts.empty());
  c.model.pretrained.clear();
  c.data.train_prompts.clear();
  c.data.test_prompts.clear();
  EXPECT_EQ(c, fc::Config{}) << fc::dump_config(c);
  // With a reward it validates for the 32-GPU layout it describes.
  EXPECT_NO_THROW(
      fc::validate(fc::load_config(source_dir() / "configs/base.yaml", {"reward.geneval=1"}), 32));
}

TEST(ConfigValidator, RewardOptionsMustNameAConfiguredReward) {
  expect_problem(
      [](auto& c) {
        c.reward_options = {{"pickscore", {{"path", "m"}}}};
      },
      {"reward_options.pickscore: options for a reward that is not in 'reward'"});
  expect_problem(
      [](auto& c) {
        c.reward_options = {{c.reward.front().name, 3}};
      },
      {"expected a mapping of option to value, found 3"});
  auto c = valid_config();
  c.reward_options = {{c.reward.front().name, {{"url", "http://127.0.0.1:1"}}}};
  EXPECT_NO_THROW(fc::validate(c, 1));
}
