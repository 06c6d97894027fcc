#include "flowgrpo/common/device.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>

// A reward model configured with `device: cuda` must run on its rank's GPU, not on
// GPU 0 in every process.
TEST(ParseDevice, BareCudaIsThisProcesssGpu) {
  ::unsetenv("LOCAL_RANK");
  ::unsetenv("RANK");
  ::unsetenv("SLURM_LOCALID");
  EXPECT_EQ(flowgrpo::parse_device("cuda"), torch::Device(torch::kCUDA, 0));
  ::setenv("LOCAL_RANK", "3", 1);
  EXPECT_EQ(flowgrpo::parse_device("cuda"), torch::Device(torch::kCUDA, 3));
  EXPECT_EQ(flowgrpo::parse_device("cuda:1"), torch::Device(torch::kCUDA, 1));  // explicit wins
  ::unsetenv("LOCAL_RANK");
  ::setenv("SLURM_LOCALID", "2", 1);  // srun without torchrun
  EXPECT_EQ(flowgrpo::parse_device("cuda"), torch::Device(torch::kCUDA, 2));
  ::unsetenv("SLURM_LOCALID");
  EXPECT_EQ(flowgrpo::parse_device("cpu"), torch::Device(torch::kCPU));
  EXPECT_THROW(flowgrpo::parse_device("gpu0"), std::invalid_argument);
}
