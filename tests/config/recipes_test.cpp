// The shipped SD3.5-Medium recipes (configs/{geneval,ocr,pickscore}{,_1gpu}.yaml) against
// the reference's config/grpo.py (flow_grpo.md §3): each loads through the config loader,
// validates for the world size it is written for, derives the reference's batch
// arithmetic, and states the reference's hyperparameters. docs/reproduce.md runs them.
#include "flowgrpo/config/batch_layout.h"
#include "flowgrpo/config/config_loader.h"
#include "flowgrpo/config/config_validator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fc = flowgrpo::config;

namespace {

std::filesystem::path recipes_source_dir() {
  return std::filesystem::path(FLOWGRPO_SOURCE_DIR);
}

// What a recipe must be: the reference function it follows and its numbers.
struct Recipe {
  std::string file;       // under configs/
  std::string reference;  // config/grpo.py function (or the one whose layout it borrows)
  int world_size;         // GPUs it is written for
  std::string reward;     // its single reward, weight 1
  fc::PromptFormat format;
  std::string train_prompts, test_prompts;
  int train_batch_size, group_size, batches_per_epoch, gradient_accumulation, test_batch_size;
  double beta;
  // Derived: n·b, n·b/k and (n·b/k)·B.
  int images_per_iteration, prompts_per_iteration, prompts_per_epoch;
};

void PrintTo(const Recipe& r, std::ostream* os) {
  *os << r.file << " (" << r.reference << ", " << r.world_size << " GPUs)";
}

const std::vector<Recipe>& recipes() {
  using F = fc::PromptFormat;
  static const std::vector<Recipe> all = {
      // 32 GPUs: 9 x 24, int(48 / (32 * 9 / 24)) = 4 batches, GA 4 / 2 = 2.
      {"geneval.yaml", "geneval_sd3", 32, "geneval", F::kGeneval, "dataset/geneval/train_metadata.jsonl",
       "dataset/geneval/test_metadata.jsonl", 9, 24, 4, 2, 14, 0.04, 288, 12, 48},
      {"ocr.yaml", "general_ocr_sd3", 32, "ocr", F::kText, "dataset/ocr/train.txt", "dataset/ocr/test.txt", 9,
       24, 4, 2, 16, 0.04, 288, 12, 48},
      {"pickscore.yaml", "pickscore_sd3", 32, "pickscore", F::kText, "dataset/pickscore/train.txt",
       "dataset/pickscore/test.txt", 9, 24, 4, 2, 16, 0.01, 288, 12, 48},
      // 1 GPU: 8 x 8, int(8 / (1 * 8 / 8)) = 8 batches, GA 8 / 2 = 4 (general_ocr_sd3_1gpu; the
      // reference has no one-GPU GenEval or PickScore recipe, these borrow its layout).
      {"geneval_1gpu.yaml", "general_ocr_sd3_1gpu layout, geneval_sd3 task", 1, "geneval", F::kGeneval,
       "dataset/geneval/train_metadata.jsonl", "dataset/geneval/test_metadata.jsonl", 8, 8, 8, 4, 16, 0.04, 8,
       1, 8},
      {"ocr_1gpu.yaml", "general_ocr_sd3_1gpu", 1, "ocr", F::kText, "dataset/ocr/train.txt",
       "dataset/ocr/test.txt", 8, 8, 8, 4, 16, 0.04, 8, 1, 8},
      {"pickscore_1gpu.yaml", "general_ocr_sd3_1gpu layout, pickscore_sd3 task", 1, "pickscore", F::kText,
       "dataset/pickscore/train.txt", "dataset/pickscore/test.txt", 8, 8, 8, 4, 16, 0.01, 8, 1, 8},
  };
  return all;
}

fc::Config load_recipe(const Recipe& r) {
  return fc::load_config(recipes_source_dir() / "configs" / r.file, {});
}

std::string recipe_validation_message(const fc::Config& c, int world_size) {
  try {
    fc::validate(c, world_size);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

std::string recipe_name(const testing::TestParamInfo<Recipe>& info) {
  std::string name = info.param.file.substr(0, info.param.file.find('.'));
  for (auto& ch : name)
    if (ch == '-') ch = '_';
  return name;
}

class RecipeTest : public testing::TestWithParam<Recipe> {};

}  // namespace

TEST_P(RecipeTest, ValidatesWithTheReferenceBatchArithmetic) {
  const Recipe& r = GetParam();
  const auto c = load_recipe(r);
  fc::BatchLayout layout;
  ASSERT_NO_THROW(layout = fc::validate(c, r.world_size)) << recipe_validation_message(c, r.world_size);
  EXPECT_EQ(layout.world_size, r.world_size);
  EXPECT_EQ(layout.batch_size_per_rank, r.train_batch_size);
  EXPECT_EQ(layout.images_per_prompt, r.group_size);
  EXPECT_EQ(layout.images_per_iteration, r.images_per_iteration);
  EXPECT_EQ(layout.groups_per_iteration, r.prompts_per_iteration);
  EXPECT_EQ(layout.batches_per_epoch, r.batches_per_epoch);
  EXPECT_EQ(layout.groups_per_epoch, r.prompts_per_epoch);
  EXPECT_EQ(layout.images_per_epoch, r.images_per_iteration * r.batches_per_epoch);
  EXPECT_EQ(layout.gradient_accumulation_steps, r.gradient_accumulation);
  // The reference's GA = num_batches_per_epoch // 2: two optimizer steps per epoch.
  EXPECT_EQ(layout.gradient_accumulation_steps * 2, layout.batches_per_epoch);
  EXPECT_EQ(layout.optimizer_steps_per_epoch, 2);
  // int(10 * 0.99) = 9 of the 10 steps trained; the last is never trained.
  EXPECT_EQ(layout.sampling_steps, 10);
  EXPECT_EQ(layout.train_timesteps, 9);
}

TEST_P(RecipeTest, StatesTheReferenceHyperparameters) {
  const Recipe& r = GetParam();
  const auto c = load_recipe(r);
  // Task: reward, prompt files and their format.
  ASSERT_EQ(c.reward.size(), 1u);
  EXPECT_EQ(c.reward[0], (fc::RewardWeight{r.reward, 1.0}));
  EXPECT_TRUE(c.reward_options.contains(r.reward)) << c.reward_options.dump();
  EXPECT_EQ(c.data.format, r.format);
  EXPECT_EQ(c.data.train_prompts, r.train_prompts);
  EXPECT_EQ(c.data.test_prompts, r.test_prompts);
  // Group sampling.
  EXPECT_EQ(c.sample.train_batch_size, r.train_batch_size);
  EXPECT_EQ(c.sample.num_image_per_prompt, r.group_size);
  EXPECT_EQ(c.sample.num_batches_per_epoch, r.batches_per_epoch);
  EXPECT_EQ(c.train.gradient_accumulation_steps, r.gradient_accumulation);
  EXPECT_EQ(c.sample.test_batch_size, r.test_batch_size);
  // Shared by every SD3.5-M recipe of config/grpo.py (and its config/base.py).
  EXPECT_EQ(c.model.type, fc::ModelType::kSd3);
  EXPECT_EQ(c.model.dtype, fc::DType::kFloat16);
  EXPECT_TRUE(c.model.autocast);
  EXPECT_EQ(c.model.resolution, 512);
  EXPECT_TRUE(c.model.lora.enabled);
  EXPECT_EQ(c.model.lora.rank, 32);
  EXPECT_EQ(c.model.lora.alpha, 64.0);
  EXPECT_EQ(c.model.lora.init, fc::LoraInit::kGaussian);
  EXPECT_EQ(c.sample.num_steps, 10);
  EXPECT_EQ(c.sample.eval_num_steps, 40);
  EXPECT_EQ(c.sample.noise_level, 0.7);
  EXPECT_EQ(c.sample.guidance_scale, 4.5);
  EXPECT_EQ(fc::effective_eval_guidance_scale(c.sample), 4.5);
  EXPECT_EQ(c.sample.sde_type, fc::SdeType::kSde);
  EXPECT_EQ(c.sample.sde_window_size, 0);
  EXPECT_TRUE(c.sample.global_std);
  EXPECT_FALSE(c.sample.same_latent);
  EXPECT_EQ(c.sample.kl_reward, 0.0);
  EXPECT_EQ(c.train.learning_rate, 3e-4);
  EXPECT_EQ(c.train.adam_beta1, 0.9);
  EXPECT_EQ(c.train.adam_beta2, 0.999);
  EXPECT_EQ(c.train.adam_weight_decay, 1e-4);
  EXPECT_EQ(c.train.adam_epsilon, 1e-8);
  EXPECT_EQ(c.train.max_grad_norm, 1.0);
  EXPECT_EQ(c.train.beta, r.beta);
  EXPECT_EQ(c.train.clip_range, 1e-4);
  EXPECT_EQ(c.train.adv_clip_max, 5.0);
  EXPECT_EQ(c.train.timestep_fraction, 0.99);
  EXPECT_EQ(c.train.num_inner_epochs, 1);
  EXPECT_TRUE(c.train.cfg);
  EXPECT_TRUE(c.train.ema);
  EXPECT_EQ(c.train.ema_update_every, 8);
  EXPECT_EQ(c.train.ema_max_decay, 0.9);
  EXPECT_EQ(c.train.save_freq, 60);
  EXPECT_EQ(c.train.eval_freq, 60);
  EXPECT_EQ(c.seed, 42);
}

TEST_P(RecipeTest, DumpedConfigReloadsToTheSameRecipe) {
  const auto c = load_recipe(GetParam());
  EXPECT_EQ(fc::config_from_yaml(fc::dump_config(c), "dumped"), c);
}

INSTANTIATE_TEST_SUITE_P(Recipes, RecipeTest, testing::ValuesIn(recipes()), recipe_name);

// The 32-GPU recipes on GPU counts whose n x 9 images cannot hold a group of 24: refused
// before anything loads, with the numbers and what to change.
TEST(RecipeWorldSize, ThirtyTwoGpuRecipesRefuseGpuCountsThatCannotHoldAGroup) {
  for (const char* file : {"geneval.yaml", "ocr.yaml", "pickscore.yaml"}) {
    SCOPED_TRACE(file);
    const auto c = fc::load_config(recipes_source_dir() / "configs" / file, {});
    // n x 9 is a multiple of 24 only when n is a multiple of 8.
    for (int n : {1, 2, 3, 4, 6, 7, 12, 31, 33}) {
      const std::string message = recipe_validation_message(c, n);
      ASSERT_FALSE(message.empty()) << n << " ranks were accepted";
      EXPECT_NE(message.find("sample.num_image_per_prompt = 24 does not fit one sampling iteration"),
                std::string::npos)
          << message;
      const std::string numbers = std::to_string(n) + (n == 1 ? " rank" : " ranks") +
                                  " x sample.train_batch_size 9 = " + std::to_string(9 * n) +
                                  " images per iteration";
      EXPECT_NE(message.find(numbers), std::string::npos) << message;
    }
    const std::string two = recipe_validation_message(c, 2);
    EXPECT_NE(two.find("num_image_per_prompt dividing 18 (e.g. 9 or 18)"), std::string::npos) << two;
    EXPECT_NE(two.find("a train_batch_size that makes 2 x train_batch_size a multiple of 24 (e.g. 12)"),
              std::string::npos)
        << two;
    const std::string one = recipe_validation_message(c, 1);
    EXPECT_NE(one.find("a train_batch_size that is a multiple of 24"), std::string::npos) << one;
  }
}

// What the validator cannot refuse: the batch arithmetic only requires k | n·b, so a
// 32-GPU recipe also validates on 8, 16 or 24 GPUs, with proportionally fewer prompts per
// epoch (docs/reproduce.md shows the overrides that keep the reference's 48), and a
// one-GPU recipe (k = b) on any number of ranks.
TEST(RecipeWorldSize, OtherValidGpuCountsScaleThePromptsPerEpoch) {
  const auto geneval = fc::load_config(recipes_source_dir() / "configs/geneval.yaml", {});
  EXPECT_EQ(fc::validate(geneval, 8).groups_per_epoch, 12);
  EXPECT_EQ(fc::validate(geneval, 16).groups_per_epoch, 24);
  const auto ocr_1gpu = fc::load_config(recipes_source_dir() / "configs/ocr_1gpu.yaml", {});
  EXPECT_EQ(fc::validate(ocr_1gpu, 2).groups_per_epoch, 16);
}

// docs/reproduce.md: a 32-GPU recipe on one node of 8 GPUs, with the reference's own
// formula (num_batches_per_epoch = int(48 / (8 * 9 / 24)) = 16, GA = 16 / 2 = 8): the
// same 48 prompts x 24 images and 2 optimizer steps per epoch.
TEST(RecipeWorldSize, EightGpuOverridesKeepTheReferenceEpoch) {
  for (const char* file : {"geneval.yaml", "ocr.yaml", "pickscore.yaml"}) {
    SCOPED_TRACE(file);
    const auto c =
        fc::load_config(recipes_source_dir() / "configs" / file,
                        {"sample.num_batches_per_epoch=16", "train.gradient_accumulation_steps=8"});
    const auto layout = fc::validate(c, 8);
    EXPECT_EQ(layout.images_per_iteration, 72);
    EXPECT_EQ(layout.groups_per_iteration, 3);
    EXPECT_EQ(layout.groups_per_epoch, 48);
    EXPECT_EQ(layout.images_per_epoch, 1152);
    EXPECT_EQ(layout.optimizer_steps_per_epoch, 2);
  }
  // The reference's 4-GPU recipes (general_ocr_sd3_4gpu, pickscore_sd3_4gpu): 8 x 16,
  // int(16 / (4 * 8 / 16)) = 8 batches, GA 4 -> 16 prompts per epoch.
  for (const char* file : {"ocr.yaml", "pickscore.yaml"}) {
    SCOPED_TRACE(file);
    const auto c = fc::load_config(recipes_source_dir() / "configs" / file,
                                   {"sample.train_batch_size=8", "sample.num_image_per_prompt=16",
                                    "sample.num_batches_per_epoch=8", "train.gradient_accumulation_steps=4"});
    const auto layout = fc::validate(c, 4);
    EXPECT_EQ(layout.groups_per_iteration, 2);
    EXPECT_EQ(layout.groups_per_epoch, 16);
    EXPECT_EQ(layout.optimizer_steps_per_epoch, 2);
  }
}
