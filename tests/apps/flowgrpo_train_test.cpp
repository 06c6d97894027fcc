// flowgrpo-train end to end on the shipped ShapesEval base (assets/shapes/latent_model),
// with tiny epochs: how the executable itself ends when its reward cannot be had.
#include "support/test_support.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace ft = flowgrpo::testing;
namespace fs = std::filesystem;

namespace {

// The last line of `text` that contains `part` ("" if none).
std::string line_with(const std::string& text, const std::string& part) {
  const auto at = text.rfind(part);
  if (at == std::string::npos) return "";
  const auto begin = text.rfind('\n', at);
  const auto end = text.find('\n', at);
  return text.substr(
      begin == std::string::npos ? 0 : begin + 1,
      end == std::string::npos ? std::string::npos : end - (begin == std::string::npos ? 0 : begin + 1));
}

}  // namespace

// Issue 14: with the reward server dead, training used to carry on ("reward nan kept 0")
// and exit 0 having learned nothing. The executable stops non-zero with one line naming
// the reward, its URL and the real failure (not only "circuit open"), after saving a
// checkpoint to resume from.
TEST(FlowgrpoTrain, ADeadRewardServerStopsTheRunNamingRewardUrlAndError) {
  ft::TempDir out;
  const std::string url = "http://127.0.0.1:" + std::to_string(ft::free_loopback_port());
  // Two 4-image batches of one 4-image chunk each: the first fails to connect and opens
  // the circuit (circuit_failures 1), the second meets the open circuit.
  const std::string command =
      "cd " + std::string(FLOWGRPO_SOURCE_DIR) + " && timeout 300 " +
      (ft::binary_dir() / "apps" / "flowgrpo-train").string() +
      " --config configs/shapes.yaml --output-dir " + out.path().string() +
      " --threads 1 --set reward.shapes=null --set reward.remote=1" +
      " --set reward_options.remote.url=" + url +
      " --set reward_options.remote.health_check=false --set reward_options.remote.timeout_s=2"
      " --set reward_options.remote.connect_timeout_s=1 --set reward_options.remote.max_retries=1"
      " --set reward_options.remote.backoff_initial_s=0.01 --set reward_options.remote.circuit_failures=1"
      " --set reward_options.remote.max_batch=4 --set sample.num_steps=2 --set sample.train_batch_size=4"
      " --set sample.num_image_per_prompt=2 --set sample.num_batches_per_epoch=2"
      " --set train.gradient_accumulation_steps=1 --set train.num_epochs=3 --set train.eval_freq=0"
      " --set train.save_freq=0";
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = ft::run_command(command);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "timed out: " << r.output;
  EXPECT_LT(seconds, 120.0);
  const auto error = line_with(r.output, "flowgrpo-train: error: ");
  ASSERT_FALSE(error.empty()) << r.output;
  for (const std::string& part :
       {std::string("epoch 0: 8 of 8 samples (100%) have no valid reward"),
        std::string("remote: circuit open: "), "reward server " + url,
        "(last failure: POST " + url + "/score: connect failed",
        std::string("train.max_invalid_reward_fraction = 0.5"), std::string("--set resume=latest")})
    EXPECT_NE(error.find(part), std::string::npos) << "'" << part << "' not in: " << error;
  // The state before epoch 0 is saved, and the error line names it.
  EXPECT_TRUE(fs::exists(out / "checkpoints/latest/training_state/trainer_state.json"));
  EXPECT_NE(error.find((out / "checkpoints" / "checkpoint-0").string()), std::string::npos) << error;
}
