#pragma once
/// @file async_reward_scorer.h
/// Scores rollout batches on a background thread while the next batch samples,
/// as flow_grpo submits `reward_fn` to a ThreadPoolExecutor right after each
/// sampling batch and waits for all results before computing advantages
/// (flow_grpo.md §4–5). Calls to the reward are serialised (one worker), which is
/// the Reward threading contract; a reward that talks to servers parallelises
/// inside its own score().

#include "flowgrpo/rewards/reward.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace flowgrpo::rewards {

class AsyncRewardScorer {
 public:
  /// `reward` must outlive the scorer.
  explicit AsyncRewardScorer(Reward& reward);
  /// Finishes queued work, then joins the worker.
  ~AsyncRewardScorer();
  AsyncRewardScorer(const AsyncRewardScorer&) = delete;
  AsyncRewardScorer& operator=(const AsyncRewardScorer&) = delete;

  /// Queues a batch (validated now, on the caller's thread: bad input fails
  /// fast with std::invalid_argument). The result is checked against the batch
  /// size; a reward that throws or returns a malformed result delivers the
  /// exception through the future.
  std::future<RewardResult> submit(RewardBatch batch);

  /// Waits for a result and adds the seconds spent blocked to `waited_seconds()`.
  RewardResult wait(std::future<RewardResult>& pending);

  /// Total time callers spent blocked in wait() since construction / reset.
  double waited_seconds() const { return waited_seconds_; }
  void reset_wait_time() { waited_seconds_ = 0.0; }

 private:
  void run();

  Reward& reward_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::packaged_task<RewardResult()>> queue_;
  bool stopping_ = false;
  double waited_seconds_ = 0.0;
  std::thread worker_;
};

}  // namespace flowgrpo::rewards
