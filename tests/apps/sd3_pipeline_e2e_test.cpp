// End to end on an SD3.5-layout folder (every component tiny, composed from the
// fixtures by tests/support/sd3_tiny_folder.h): flowgrpo-tool encode-prompts builds
// the prompt cache, flowgrpo-train runs one epoch through cached text encoding,
// Flow-SDE rollouts, VAE decode, a reward and a GRPO update, and flowgrpo-eval
// samples the saved adapter with the ODE; then the bad-input paths of the same
// commands (another model family, a stale cache).
#include "flowgrpo/io/text_file.h"
#include "flowgrpo/models/pipelines/prompt_embedding_cache.h"
#include "support/sd3_tiny_folder.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace {

namespace fs = std::filesystem;
namespace ft = flowgrpo::testing;

std::string app(const char* name) {
  return (ft::binary_dir() / "apps" / name).string();
}

// A run config: the base recipe made CPU-sized (fp32, 4 steps, 2 groups of 4).
fs::path write_config(const ft::TempDir& dir) {
  const std::string source = FLOWGRPO_SOURCE_DIR;
  flowgrpo::io::write_text_atomic(dir / "train.txt", "a red circle\na photo of a blue square and a cat\n");
  flowgrpo::io::write_text_atomic(dir / "test.txt", "a green triangle\n");
  const auto config = dir / "sd3_tiny.yaml";
  flowgrpo::io::write_text_atomic(
      config,
      "include:\n  - " + source + "/configs/base.yaml\n" +
          "run_name: sd3_tiny\n"
          "output_dir: " +
          (dir / "run").string() + "\n" + "model:\n  pretrained: " + (dir / "model").string() +
          "\n  type: sd3\n  dtype: float32\n  autocast: false\n  resolution: 32\n"
          "  lora:\n    rank: 4\n    alpha: 8\n"
          "data:\n  train_prompts: " +
          (dir / "train.txt").string() + "\n  test_prompts: " + (dir / "test.txt").string() +
          "\n  format: text\n" +
          "sample:\n  num_steps: 4\n  eval_num_steps: 4\n  train_batch_size: 4\n  num_image_per_prompt: 4\n"
          "  num_batches_per_epoch: 2\n  test_batch_size: 2\n"
          "train:\n  num_epochs: 1\n  gradient_accumulation_steps: 2\n  eval_freq: 1\n  save_freq: 1\n"
          "reward:\n  brightness: 1.0\n");
  return config;
}

TEST(SD3PipelineEndToEnd, EncodePromptsTrainAndEvaluateATinySd35Folder) {
  ft::TempDir dir;
  ft::write_sd3_tiny_folder(dir / "model");
  const auto config = write_config(dir);
  const auto cache = dir / "run" / "prompt_embeddings.safetensors";
  // The cache the trainer would build, made beforehand by the tool (same dtype and length).
  auto r = ft::run_command(app("flowgrpo-tool") + " encode-prompts --model " + (dir / "model").string() +
                           " --prompts " + (dir / "train.txt").string() + " " + (dir / "test.txt").string() +
                           " --out " + cache.string() + " --dtype float32 --max-sequence-length 128");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("4 prompts"), std::string::npos) << r.output;  // three and the empty one
  const auto stamp = fs::last_write_time(cache);

  r = ft::run_command(app("flowgrpo-train") + " --config " + config.string() + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(fs::last_write_time(cache), stamp) << "a complete cache is used as is";
  EXPECT_NE(r.output.find("text encoders not loaded"), std::string::npos) << r.output;
  std::ifstream metrics(dir / "run" / "metrics.jsonl");
  bool epoch_row = false;
  for (std::string line; std::getline(metrics, line);) {
    const auto row = nlohmann::json::parse(line);
    if (row.contains("reward_brightness") && row.contains("epoch")) {
      epoch_row = true;
      EXPECT_TRUE(std::isfinite(row["reward_brightness"].get<double>())) << line;
    }
  }
  EXPECT_TRUE(epoch_row) << "no epoch row with the brightness reward in metrics.jsonl";

  r = ft::run_command(app("flowgrpo-eval") + " --config " + config.string() + " --checkpoint " +
                      (dir / "run" / "checkpoints" / "latest").string() + " --output-dir " +
                      (dir / "eval").string() + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto result = flowgrpo::io::read_json_file(dir / "eval" / "metrics.json");
  EXPECT_FALSE(result.empty());
  EXPECT_TRUE(fs::exists(dir / "eval" / "grid_all.png"));
}

TEST(SD3PipelineEndToEnd, TrainerBuildsAMissingCacheAndRefusesAStaleOne) {
  ft::TempDir dir;
  ft::write_sd3_tiny_folder(dir / "model");
  const auto config = write_config(dir);
  auto r = ft::run_command(app("flowgrpo-train") + " --config " + config.string() +
                           " --set train.eval_freq=0 --set train.save_freq=0 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto cache_file = dir / "run" / "prompt_embeddings.safetensors";
  ASSERT_TRUE(fs::exists(cache_file)) << r.output;
  EXPECT_EQ(flowgrpo::models::PromptEmbeddingCache::open(cache_file).size(), 4u);
  // Another T5 length is another encoding: one line naming the file, non-zero exit.
  r = ft::run_command(
      app("flowgrpo-train") + " --config " + config.string() +
      " --set model.max_sequence_length=64 --set train.eval_freq=0 --set train.save_freq=0 2>&1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("prompt_embeddings.safetensors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("other text encoders or options"), std::string::npos) << r.output;
  // A FLUX folder is refused by its class name.
  auto index = flowgrpo::io::read_json_file(dir / "model" / "model_index.json");
  index["_class_name"] = "FluxPipeline";
  flowgrpo::io::write_text_atomic(dir / "model" / "model_index.json", index.dump());
  r = ft::run_command(app("flowgrpo-eval") + " --config " + config.string() + " 2>&1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("FluxPipeline"), std::string::npos) << r.output;
}

}  // namespace
