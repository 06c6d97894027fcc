#include "flowgrpo/sampling/schedule.h"

#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

namespace fs = flowgrpo::sampling;
using flowgrpo::testing::data_path;

namespace {

nlohmann::json scheduler_fixture() {
  std::ifstream in(data_path("sampling/scheduler_flowmatch_shift3.json"));
  return nlohmann::json::parse(in);
}

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

uint32_t parse_hex(const std::string& s) {
  return static_cast<uint32_t>(std::stoul(s, nullptr, 16));
}

}  // namespace

// The diffusers schedule must be reproduced bit for bit: the sigma grid decides which
// timestep the transformer sees, and a 1-ulp difference changes every rollout.
class Sd3ScheduleFixture : public ::testing::TestWithParam<int> {};

TEST_P(Sd3ScheduleFixture, MatchesDiffusersBitForBit) {
  const auto j = scheduler_fixture();
  const int n = GetParam();
  const auto& run = j["runs"][std::to_string(n)];
  const auto s = fs::sd3_schedule(n);
  ASSERT_EQ(s.sigmas.size(0), n + 1);
  ASSERT_EQ(s.timesteps.size(0), n);
  const auto sig = s.sigma_values();
  const auto ts = s.timestep_values();
  for (int i = 0; i <= n; ++i)
    EXPECT_EQ(float_bits(static_cast<float>(sig[i])), parse_hex(run["sigmas_f32hex"][i].get<std::string>()))
        << "sigma " << i << " of " << n << ": ours " << sig[i] << ", diffusers " << run["sigmas"][i];
  for (int i = 0; i < n; ++i)
    EXPECT_EQ(float_bits(static_cast<float>(ts[i])), parse_hex(run["timesteps_f32hex"][i].get<std::string>()))
        << "timestep " << i << " of " << n;
  EXPECT_DOUBLE_EQ(s.sigma_max(), run["flow_grpo_sigma_max(sigmas[1])"].get<double>());
}

INSTANTIATE_TEST_SUITE_P(AllRecordedStepCounts, Sd3ScheduleFixture, ::testing::Values(1, 2, 10, 28, 40));

TEST(Sd3Schedule, FinalSigmaIsShiftedTwice) {
  // flow_grpo.md pitfall 2: 0.0089 rather than the training table's 0.003.
  const auto s = fs::sd3_schedule(10);
  EXPECT_NEAR(s.sigma_values()[9], 0.0089286, 1e-6);
  EXPECT_EQ(s.sigma_values()[10], 0.0);
}

TEST(Sd3Schedule, ShiftOneIsLinear) {
  fs::FlowMatchSchedulerConfig c;
  c.shift = 1.0;
  const auto s = fs::sd3_schedule(4, c);
  const auto sig = s.sigma_values();
  // linspace(1000, 1, 4)/1000 = 1, 0.667, 0.334, 0.001
  EXPECT_NEAR(sig[1], (1000.0 - 333.0) / 1000.0, 1e-6);
  EXPECT_NEAR(sig[3], 0.001, 1e-7);
}

TEST(Sd3Schedule, RejectsBadStepCounts) {
  EXPECT_THROW(fs::sd3_schedule(0), std::invalid_argument);
  EXPECT_THROW(fs::sd3_schedule(10, fs::FlowMatchSchedulerConfig::flux()), std::invalid_argument);
}

TEST(FluxSchedule, DynamicShiftFollowsImageSize) {
  const auto c = fs::FlowMatchSchedulerConfig::flux();
  EXPECT_DOUBLE_EQ(fs::calculate_shift(256, c), 0.5);
  EXPECT_NEAR(fs::calculate_shift(4096, c), 1.15, 1e-12);
  // 512x512 FLUX: 64x64 latents packed 2x2 -> 1024 tokens.
  const auto s = fs::flux_schedule(6, 1024, c);
  const double mu = fs::calculate_shift(1024, c);
  const auto sig = s.sigma_values();
  ASSERT_EQ(sig.size(), 7u);
  EXPECT_EQ(sig[0], 1.0);
  EXPECT_EQ(sig[6], 0.0);
  for (int i = 0; i < 6; ++i) {
    const double t = 1.0 - i * (1.0 - 1.0 / 6) / 5;
    const double expected = std::exp(mu) / (std::exp(mu) + 1.0 / t - 1.0);
    EXPECT_NEAR(sig[i], expected, 2e-7) << i;
    EXPECT_FLOAT_EQ(static_cast<float>(s.timestep_values()[i]), static_cast<float>(sig[i]) * 1000.0f);
  }
}

TEST(SchedulerConfig, ReadsDiffusersJsonAndRejectsUnsupportedOptions) {
  flowgrpo::testing::TempDir dir;
  flowgrpo::testing::write_text_file(
      dir / "scheduler/scheduler_config.json",
      R"({"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000,
                                         "shift": 3.0, "use_dynamic_shifting": false})");
  const auto c = fs::FlowMatchSchedulerConfig::from_model_dir(dir.path());
  EXPECT_EQ(c.shift, 3.0);
  EXPECT_FALSE(c.use_dynamic_shifting);

  flowgrpo::testing::write_text_file(dir / "bad.json", R"({"shift": 3.0, "use_karras_sigmas": true})");
  try {
    fs::FlowMatchSchedulerConfig::from_json_file(dir / "bad.json");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("use_karras_sigmas"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
  }
  flowgrpo::testing::write_text_file(dir / "worse.json", R"({"shift": "three"})");
  EXPECT_THROW(fs::FlowMatchSchedulerConfig::from_json_file(dir / "worse.json"), std::invalid_argument);
  // DIR/transformer inside a pipeline folder finds the sibling scheduler/.
  EXPECT_EQ(fs::FlowMatchSchedulerConfig::from_model_dir(dir / "transformer").shift, 3.0);
  flowgrpo::testing::TempDir empty;
  EXPECT_THROW(fs::FlowMatchSchedulerConfig::from_model_dir(empty / "transformer"), std::invalid_argument);
}
