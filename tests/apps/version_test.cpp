// Every executable's --version names the flowgrpo version, the LibTorch it was built
// against and the CUDA / distributed switches of this build.
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <torch/version.h>

namespace {

std::string expected_line() {
  return std::string("flowgrpo ") + FLOWGRPO_VERSION + ", LibTorch " + TORCH_VERSION + ", CUDA " +
         (FLOWGRPO_WITH_CUDA ? "on" : "off");
}

}  // namespace

TEST(Executables, VersionNamesFlowgrpoLibTorchAndSwitches) {
  for (const char* exe : {"flowgrpo-tool", "flowgrpo-train", "flowgrpo-eval", "flowgrpo-pretrain"}) {
    const auto r = flowgrpo::testing::run_command((flowgrpo::testing::binary_dir() / "apps" / exe).string() +
                                                  " --version");
    EXPECT_EQ(r.exit_code, 0) << exe << ": " << r.output;
    EXPECT_EQ(r.output.rfind(expected_line(), 0), 0u) << exe << ": " << r.output;
    EXPECT_NE(r.output.find(std::string("LibTorch ") + TORCH_VERSION), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(FLOWGRPO_WITH_DISTRIBUTED ? "distributed on" : "distributed off"),
              std::string::npos)
        << exe << ": " << r.output;
  }
}
