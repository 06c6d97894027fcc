// Collectives, the gradient reducer, the configuration check and failure reports
// across real processes: the test re-runs its own executable once per rank with
// torchrun's variables, selecting one of the DistWorker tests below (which skip
// unless FLOWGRPO_DIST_WORKER names them).
#include "flowgrpo/dist/communicator.h"
#include "flowgrpo/dist/gradient_reducer.h"

#include "support/child_process.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace fd = flowgrpo::dist;
namespace ft = flowgrpo::testing;

#if FLOWGRPO_WITH_DISTRIBUTED

namespace {

std::string worker_mode() {
  const char* m = std::getenv("FLOWGRPO_DIST_WORKER");
  return m != nullptr ? m : "";
}

struct Launch {
  std::vector<std::unique_ptr<ft::ChildProcess>> ranks;
  std::vector<std::optional<int>> status;
};

// Starts `world` copies of this test executable as ranks running worker `mode`.
Launch launch(const std::string& mode, int world, const ft::TempDir& dir, int timeout_seconds = 30) {
  char self[4096];
  const auto n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  self[n] = '\0';
  const int port = ft::free_loopback_port();
  Launch l;
  for (int r = 0; r < world; ++r)
    l.ranks.push_back(std::make_unique<ft::ChildProcess>(
        std::string(self) + " --gtest_filter=DistWorker." + mode,
        std::map<std::string, std::string>{{"FLOWGRPO_DIST_WORKER", mode},
                                           {"RANK", std::to_string(r)},
                                           {"WORLD_SIZE", std::to_string(world)},
                                           {"LOCAL_RANK", std::to_string(r)},
                                           {"MASTER_ADDR", "127.0.0.1"},
                                           {"MASTER_PORT", std::to_string(port)},
                                           {"FLOWGRPO_TEST_TIMEOUT", std::to_string(timeout_seconds)}},
        dir / ("rank" + std::to_string(r) + ".log")));
  return l;
}

std::unique_ptr<fd::Communicator> worker_communicator() {
  const char* t = std::getenv("FLOWGRPO_TEST_TIMEOUT");
  return fd::make_communicator("gloo", t != nullptr ? std::atoi(t) : 30);
}

}  // namespace

// ---- workers (run inside the launched ranks) ----

TEST(DistWorker, Collectives) {
  if (worker_mode() != "Collectives") GTEST_SKIP() << "runs as a launched rank";
  auto c = worker_communicator();
  const int r = c->rank(), w = c->world_size();
  auto t = torch::full({5}, static_cast<double>(r + 1), torch::kDouble);
  c->all_reduce_sum(t, "sum");
  EXPECT_TRUE(torch::equal(t, torch::full({5}, w * (w + 1) / 2.0, torch::kDouble)));
  auto a = torch::arange(3, torch::kFloat) * (r + 1);
  auto pending = c->all_reduce_sum_async(a, "async sum");
  pending->wait();
  EXPECT_TRUE(torch::equal(a, torch::arange(3, torch::kFloat) * (w * (w + 1) / 2)));
  const auto g = c->all_gather(torch::full({2, 3}, static_cast<float>(r)), "gather");
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{2 * w, 3}));
  for (int k = 0; k < w; ++k) EXPECT_TRUE(torch::equal(g.narrow(0, 2 * k, 2), torch::full({2, 3}, float(k))));
  auto b = torch::full({4}, static_cast<int64_t>(100 + r), torch::kLong);
  c->broadcast(b, w - 1, "broadcast");
  EXPECT_TRUE(torch::equal(b, torch::full({4}, static_cast<int64_t>(100 + w - 1), torch::kLong)));
  EXPECT_EQ(c->broadcast_text(r == 0 ? "from rank 0" : "other", "text"), "from rank 0");
  c->barrier("end");
}

// Each rank's gradients differ; after reduce() every rank holds their sum, whether the
// buckets started from hooks (overlap) or in reduce(), with several small buckets and
// with a parameter that gets no gradient on some ranks.
TEST(DistWorker, GradientReducer) {
  if (worker_mode() != "GradientReducer") GTEST_SKIP() << "runs as a launched rank";
  auto c = worker_communicator();
  const int r = c->rank(), w = c->world_size();
  for (const bool overlap : {true, false}) {
    torch::manual_seed(7);
    std::vector<torch::Tensor> params;
    for (int k = 0; k < 5; ++k) params.push_back(torch::randn({3 + k, 4}).requires_grad_(true));
    fd::GradientReducer reducer(*c, params, {/*bucket_bytes=*/120, overlap});
    EXPECT_GE(reducer.bucket_sizes().size(), 3u);
    // Two accumulated backward passes; on odd ranks parameter 2 is unused in both.
    auto loss_on = [&](int rank, int pass) {
      torch::Tensor loss = torch::zeros({});
      for (size_t k = 0; k < params.size(); ++k) {
        if (k == 2 && rank % 2 == 1) continue;
        loss = loss + (params[k] * (rank + 1 + pass + static_cast<double>(k))).pow(2).sum();
      }
      return loss;
    };
    loss_on(r, 0).backward();
    reducer.arm();
    loss_on(r, 1).backward();
    reducer.reduce();
    // Expected: the sum over ranks of both passes' gradients.
    std::vector<torch::Tensor> expected(params.size());
    for (size_t k = 0; k < params.size(); ++k) expected[k] = torch::zeros_like(params[k]);
    for (int rank = 0; rank < w; ++rank)
      for (int pass = 0; pass < 2; ++pass) {
        auto copies = params;
        for (auto& p : copies) p = p.detach().clone().requires_grad_(true);
        std::swap(params, copies);
        loss_on(rank, pass).backward();
        std::swap(params, copies);
        for (size_t k = 0; k < params.size(); ++k)
          if (copies[k].grad().defined()) expected[k] += copies[k].grad();
      }
    for (size_t k = 0; k < params.size(); ++k)
      EXPECT_TRUE(ft::all_close(params[k].grad(), expected[k], 1e-4, 1e-6))
          << "overlap " << overlap << " p" << k;
  }
  c->barrier("end");
}

TEST(DistWorker, ConfigMismatch) {
  if (worker_mode() != "ConfigMismatch") GTEST_SKIP() << "runs as a launched rank";
  auto c = worker_communicator();
  const std::string config =
      "seed: 42\nmodel:\n  type: shapes\n  resolution: " + std::string(c->rank() == 1 ? "64" : "32") + "\n";
  try {
    fd::check_same_config_on_all_ranks(*c, config);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    std::printf("MISMATCH: %s\n", e.what());
  }
}

// Rank 1 dies (SIGKILL) or hangs (sleeps past the timeout, alive); rank 0's next
// collective must fail naming it.
TEST(DistWorker, PeerDies) {
  if (worker_mode() != "PeerDies") GTEST_SKIP() << "runs as a launched rank";
  auto c = worker_communicator();
  c->barrier("first");
  if (c->rank() == 1) ::raise(SIGKILL);
  auto t = torch::ones({4});
  try {
    c->all_reduce_sum(t, "after the kill");
    FAIL() << "no error";
  } catch (const fd::CollectiveError& e) {
    std::printf("FAILURE: %s\n", e.what());
  }
}

TEST(DistWorker, PeerHangs) {
  if (worker_mode() != "PeerHangs") GTEST_SKIP() << "runs as a launched rank";
  auto c = worker_communicator();
  c->barrier("first");
  if (c->rank() == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(12));
    return;
  }
  auto t = torch::ones({4});
  try {
    c->all_reduce_sum(t, "while rank 1 sleeps");
    FAIL() << "no error";
  } catch (const fd::CollectiveError& e) {
    std::printf("FAILURE: %s\n", e.what());
  }
}

// Rank 0 works alone for longer than the collective timeout (3 s), then lets the
// others go; or dies while they wait.
TEST(DistWorker, MainWorksAlone) {
  if (worker_mode() != "MainWorksAlone") GTEST_SKIP() << "runs as a launched rank";
  auto c = worker_communicator();
  if (c->rank() == 0) std::this_thread::sleep_for(std::chrono::seconds(7));
  c->wait_for_main("rank 0's work");
  auto t = torch::ones({1});
  c->all_reduce_sum(t, "after");
  EXPECT_EQ(t.item<float>(), static_cast<float>(c->world_size()));
}

TEST(DistWorker, MainDiesWhileOthersWait) {
  if (worker_mode() != "MainDiesWhileOthersWait") GTEST_SKIP() << "runs as a launched rank";
  auto c = worker_communicator();
  c->barrier("first");
  if (c->rank() == 0) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    ::raise(SIGKILL);
  }
  try {
    c->wait_for_main("rank 0's work");
    FAIL() << "no error";
  } catch (const fd::CollectiveError& e) {
    std::printf("FAILURE: %s\n", e.what());
  }
}

// Rank 1 fails on its own (no collective involved) while rank 0 computes: rank 0 must
// not wait for its next collective.
TEST(DistWorker, PeerFailsAlone) {
  if (worker_mode() != "PeerFailsAlone") GTEST_SKIP() << "runs as a launched rank";
  auto c = worker_communicator();
  c->stop_when_a_peer_fails("worker");
  c->barrier("first");
  if (c->rank() == 1) {
    c->announce_failure("the reward model ran out of memory");
    std::_Exit(1);
  }
  std::this_thread::sleep_for(std::chrono::seconds(30));  // "sampling"
  FAIL() << "still running";
}

// ---- the tests that launch them ----

class MultiProcess : public ::testing::TestWithParam<int> {};

TEST_P(MultiProcess, CollectivesAndGradientReducer) {
  if (!worker_mode().empty()) GTEST_SKIP();
  for (const std::string mode : {"Collectives", "GradientReducer"}) {
    ft::TempDir dir;
    auto l = launch(mode, GetParam(), dir);
    for (int r = 0; r < GetParam(); ++r) {
      const auto status = l.ranks[static_cast<size_t>(r)]->wait(120);
      ASSERT_TRUE(status.has_value()) << mode << " rank " << r << " did not finish";
      EXPECT_EQ(*status, 0) << mode << " rank " << r << ":\n" << l.ranks[static_cast<size_t>(r)]->output();
      EXPECT_NE(l.ranks[static_cast<size_t>(r)]->output().find("[  PASSED  ] 1 test"), std::string::npos)
          << l.ranks[static_cast<size_t>(r)]->output();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, MultiProcess, ::testing::Values(2, 4));

TEST(MultiProcessFailures, DifferentConfigurationsAreNamed) {
  if (!worker_mode().empty()) GTEST_SKIP();
  ft::TempDir dir;
  auto l = launch("ConfigMismatch", 3, dir);
  for (int r = 0; r < 3; ++r) ASSERT_EQ(l.ranks[static_cast<size_t>(r)]->wait(60), 0);
  const auto out0 = l.ranks[0]->output(), out1 = l.ranks[1]->output(), out2 = l.ranks[2]->output();
  EXPECT_NE(
      out0.find("MISMATCH: the ranks were started with different configurations: rank 1 differs from rank 0"),
      std::string::npos)
      << out0;
  EXPECT_NE(out1.find("line 4 of the resolved config (under 'model:') is '  resolution: 64' here and "
                      "'  resolution: 32' on rank 0"),
            std::string::npos)
      << out1;
  EXPECT_NE(out2.find("rank 1 differs from rank 0"), std::string::npos) << out2;
}

TEST(MultiProcessFailures, AKilledRankIsNamedWithinTheTimeout) {
  if (!worker_mode().empty()) GTEST_SKIP();
  ft::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  auto l = launch("PeerDies", 2, dir, /*timeout_seconds=*/20);
  ASSERT_TRUE(l.ranks[0]->wait(60).has_value()) << l.ranks[0]->output();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(l.ranks[1]->wait(5), 128 + SIGKILL);
  const auto out = l.ranks[0]->output();
  EXPECT_NE(out.find("FAILURE: collective #2 'after the kill' (gloo) failed on rank 0 of 2"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("rank 1 is gone (its heartbeat stopped"), std::string::npos) << out;
  EXPECT_LT(seconds, 20.0) << out;
}

TEST(MultiProcessFailures, RankZerosLongWorkHasNoTimeLimitButItsDeathIsNamed) {
  if (!worker_mode().empty()) GTEST_SKIP();
  {
    ft::TempDir dir;
    auto l = launch("MainWorksAlone", 2, dir, /*timeout_seconds=*/3);
    for (size_t r = 0; r < 2; ++r) {
      ASSERT_EQ(l.ranks[r]->wait(60), 0) << l.ranks[r]->output();
      EXPECT_NE(l.ranks[r]->output().find("[  PASSED  ] 1 test"), std::string::npos) << l.ranks[r]->output();
    }
  }
  ft::TempDir dir;
  auto l = launch("MainDiesWhileOthersWait", 2, dir, /*timeout_seconds=*/3);
  ASSERT_TRUE(l.ranks[1]->wait(60).has_value()) << l.ranks[1]->output();
  EXPECT_NE(
      l.ranks[1]->output().find("FAILURE: waiting on rank 0 for 'rank 0's work' (collective #2) on rank 1 "
                                "of 2: rank 0 is gone"),
      std::string::npos)
      << l.ranks[1]->output();
}

TEST(MultiProcessFailures, ARankThatFailsAloneStopsTheOthersAtOnce) {
  if (!worker_mode().empty()) GTEST_SKIP();
  ft::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  auto l = launch("PeerFailsAlone", 3, dir, /*timeout_seconds=*/60);
  for (size_t r : {0, 2}) {
    ASSERT_EQ(l.ranks[r]->wait(20), 1) << l.ranks[r]->output();
    EXPECT_NE(l.ranks[r]->output().find("[rank " + std::to_string(r) +
                                        "] worker: error: rank 1 failed: the reward model ran out of memory"),
              std::string::npos)
        << l.ranks[r]->output();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 20.0);
}

TEST(MultiProcessFailures, AHungRankIsNamedAfterTheTimeout) {
  if (!worker_mode().empty()) GTEST_SKIP();
  ft::TempDir dir;
  auto l = launch("PeerHangs", 2, dir, /*timeout_seconds=*/3);
  ASSERT_TRUE(l.ranks[0]->wait(60).has_value()) << l.ranks[0]->output();
  const auto out = l.ranks[0]->output();
  EXPECT_NE(out.find("FAILURE: collective #2 'while rank 1 sleeps' (gloo) failed on rank 0 of 2"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("rank 1 is alive but has not reached this collective (it is at collective #1 'first'"),
            std::string::npos)
      << out;
}

#endif  // FLOWGRPO_WITH_DISTRIBUTED
