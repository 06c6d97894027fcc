// The memory plan's parameter counts at real size against diffusers / transformers /
// peft (ctest label `reference`): tests/reference/sd3_parameter_counts.py builds
// SD3.5-Medium's components without storage and counts them, with flow_grpo's LoRA.
#include "flowgrpo/config/config_loader.h"
#include "flowgrpo/train/memory_plan.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

TEST(MemoryPlanReference, Sd35MediumCountsEqualTheReferenceLibraries) {
  FLOWGRPO_REQUIRE_PYTHON("torch diffusers transformers peft accelerate");
  namespace ft = flowgrpo::testing;
  const auto r = ft::run_command(ft::python() + " -W ignore " + std::string(FLOWGRPO_SOURCE_DIR) +
                                 "/tests/reference/sd3_parameter_counts.py");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto ref = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  const auto config = flowgrpo::config::load_config(
      std::filesystem::path(FLOWGRPO_SOURCE_DIR) / "configs" / "geneval.yaml", {});
  const auto n = flowgrpo::train::count_sd3_parameters(flowgrpo::train::SD3ComponentConfigs::sd35_medium(),
                                                       config.model);
  EXPECT_EQ(n.transformer, ref["transformer"].get<int64_t>());
  EXPECT_EQ(n.transformer_buffers, ref["pos_embed_buffer"].get<int64_t>());
  EXPECT_EQ(n.vae, ref["vae"].get<int64_t>());
  EXPECT_EQ(n.clip_l, ref["clip_l"].get<int64_t>());
  EXPECT_EQ(n.clip_g, ref["clip_g"].get<int64_t>());
  EXPECT_EQ(n.t5, ref["t5"].get<int64_t>());
  EXPECT_EQ(n.lora, ref["lora"].get<int64_t>());
}

}  // namespace
