#include "flowgrpo/dist/communicator.h"

#include "support/loopback_launch.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace fd = flowgrpo::dist;

TEST(SingleProcessCommunicator, CollectivesAreIdentities) {
  fd::SingleProcessCommunicator c;
  auto t = torch::tensor({1.0, 2.0});
  c.all_reduce_mean(t, "test");
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.0, 2.0})));
  EXPECT_TRUE(torch::equal(c.all_gather(t, "test"), t));
  EXPECT_EQ(c.world_size(), 1);
  EXPECT_TRUE(c.is_main());
}

TEST(MakeCommunicator, SingleProcessWithoutWorldSize) {
  ::unsetenv("WORLD_SIZE");
  EXPECT_EQ(fd::make_communicator("auto", 10)->world_size(), 1);
  ::setenv("WORLD_SIZE", "2", 1);
  ::unsetenv("RANK");
  try {
    fd::make_communicator("gloo", 10);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("RANK"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fd::make_communicator("none", 10), std::invalid_argument);
  ::setenv("WORLD_SIZE", "zero", 1);
  EXPECT_THROW(fd::make_communicator("auto", 10), std::invalid_argument);
  ::unsetenv("WORLD_SIZE");
}

#if FLOWGRPO_WITH_DISTRIBUTED
// Two ranks as threads of one process over a real TCPStore and Gloo.
TEST(C10dCommunicator, GlooCollectivesAcrossTwoRanks) {
  const int port = flowgrpo::testing::free_loopback_port();
  ::unsetenv("TORCHELASTIC_USE_AGENT_STORE");
  torch::Tensor sums[2], gathered[2], broadcast[2];
  std::string errors[2];
  auto run = [&](int rank) {
    try {
      auto c = fd::make_communicator(flowgrpo::testing::loopback_launch(rank, 2, port), "gloo", 30);
      auto t = torch::full({3}, static_cast<float>(rank + 1));
      c->all_reduce_sum(t, "sum");
      sums[rank] = t;
      gathered[rank] = c->all_gather(torch::full({2, 2}, static_cast<float>(rank)), "gather");
      auto b = torch::full({2}, static_cast<float>(rank * 10 + 5));
      c->broadcast(b, 1, "broadcast");
      broadcast[rank] = b;
      c->barrier("barrier");
    } catch (const std::exception& e) {
      errors[rank] = e.what();
    }
  };
  std::thread t0(run, 0), t1(run, 1);
  t0.join();
  t1.join();
  ASSERT_EQ(errors[0], "");
  ASSERT_EQ(errors[1], "");
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(torch::equal(sums[r], torch::full({3}, 3.0f)));
    EXPECT_TRUE(torch::equal(gathered[r], torch::cat({torch::zeros({2, 2}), torch::ones({2, 2})})));
    EXPECT_TRUE(torch::equal(broadcast[r], torch::full({2}, 15.0f)));
  }
}
#endif
