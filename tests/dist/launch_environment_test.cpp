#include "flowgrpo/dist/launch_environment.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <map>

namespace fd = flowgrpo::dist;

namespace {

fd::LaunchEnvironment read(const std::map<std::string, std::string>& vars) {
  return fd::read_launch_environment([&](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  return flowgrpo::testing::invalid_argument_message([&] { read(vars); });
}

const std::map<std::string, std::string> kTorchrun{{"RANK", "3"},         {"WORLD_SIZE", "8"},
                                                   {"LOCAL_RANK", "1"},   {"LOCAL_WORLD_SIZE", "4"},
                                                   {"MASTER_ADDR", "n0"}, {"MASTER_PORT", "29500"}};

}  // namespace

TEST(LaunchEnvironment, NothingSetIsOneProcess) {
  const auto l = read({});
  EXPECT_FALSE(l.distributed());
  EXPECT_EQ(l.rank, 0);
  EXPECT_EQ(l.describe(), "single process");
}

TEST(LaunchEnvironment, Torchrun) {
  const auto l = read(kTorchrun);
  EXPECT_EQ(l.rank, 3);
  EXPECT_EQ(l.world_size, 8);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.local_world_size, 4);
  EXPECT_EQ(l.master_addr, "n0");
  EXPECT_EQ(l.master_port, 29500);
  EXPECT_EQ(l.describe(), "rank 3 of 8 (local rank 1, torchrun, rendezvous n0:29500)");
  EXPECT_FALSE(read({{"RANK", "0"}, {"WORLD_SIZE", "1"}}).distributed());
}

TEST(LaunchEnvironment, SlurmWhenTorchrunsVariablesAreAbsent) {
  const auto l = read({{"SLURM_PROCID", "5"},
                       {"SLURM_STEP_ID", "0"},
                       {"SLURM_NTASKS", "16"},
                       {"SLURM_LOCALID", "1"},
                       {"SLURM_NTASKS_PER_NODE", "4(x4)"},
                       {"MASTER_ADDR", "node01"},
                       {"MASTER_PORT", "29400"}});
  EXPECT_EQ(l.source, "slurm");
  EXPECT_EQ(l.rank, 5);
  EXPECT_EQ(l.world_size, 16);
  EXPECT_EQ(l.local_rank, 1);
  EXPECT_EQ(l.local_world_size, 4);
  // The step's task count (srun) over the allocation's.
  EXPECT_EQ(read({{"SLURM_PROCID", "1"},
                  {"SLURM_NTASKS", "16"},
                  {"SLURM_STEP_NUM_TASKS", "2"},
                  {"SLURM_LOCALID", "1"},
                  {"MASTER_ADDR", "node01"},
                  {"MASTER_PORT", "29400"}})
                .world_size,
            2);
  // One task, the batch script's own shell (no job step), or torchrun inside an
  // allocation: Slurm's variables are not the launch.
  EXPECT_FALSE(read({{"SLURM_PROCID", "0"}, {"SLURM_STEP_ID", "0"}, {"SLURM_NTASKS", "1"}}).distributed());
  EXPECT_FALSE(read({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "16"}, {"SLURM_LOCALID", "0"}}).distributed());
  auto torchrun = kTorchrun;
  torchrun["SLURM_PROCID"] = "0";
  torchrun["SLURM_NTASKS"] = "2";
  EXPECT_EQ(read(torchrun).source, "torchrun");
}

TEST(LaunchEnvironment, MissingOrInconsistentVariablesAreNamed) {
  using V = std::map<std::string, std::string>;
  EXPECT_NE(error_of({{"WORLD_SIZE", "2"}}).find("environment variable RANK is not set"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}}).find("environment variable WORLD_SIZE is not set"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("RANK=2 is outside [0, WORLD_SIZE=2)"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK='x' is not an integer"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}})
                .find("LOCAL_RANK is not set"),
            std::string::npos);
  auto v = kTorchrun;
  v["LOCAL_RANK"] = "4";
  EXPECT_NE(error_of(v).find("LOCAL_RANK=4 is outside [0, LOCAL_WORLD_SIZE=4)"), std::string::npos);
  v = kTorchrun;
  v.erase("MASTER_ADDR");
  EXPECT_NE(error_of(v).find("MASTER_ADDR is not set (torchrun sets it)"), std::string::npos);
  v = kTorchrun;
  v["MASTER_PORT"] = "70000";
  EXPECT_NE(error_of(v).find("MASTER_PORT=70000 is not a TCP port"), std::string::npos);
  const V slurm{{"SLURM_PROCID", "0"}, {"SLURM_STEP_ID", "3"}, {"SLURM_NTASKS", "2"}, {"SLURM_LOCALID", "0"}};
  EXPECT_NE(error_of(slurm).find("MASTER_ADDR is not set (the job script exports it before srun"),
            std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "2"}}).find("SLURM_LOCALID is not set"),
            std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "2"}, {"SLURM_STEP_ID", "0"}, {"SLURM_NTASKS", "2"}})
                .find("SLURM_PROCID=2 is outside"),
            std::string::npos);
}
