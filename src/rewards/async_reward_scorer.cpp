#include "flowgrpo/rewards/async_reward_scorer.h"

#include <chrono>

namespace flowgrpo::rewards {

AsyncRewardScorer::AsyncRewardScorer(Reward& reward) : reward_(reward), worker_([this] { run(); }) {}

AsyncRewardScorer::~AsyncRewardScorer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

std::future<RewardResult> AsyncRewardScorer::submit(RewardBatch batch) {
  batch.validate();
  std::packaged_task<RewardResult()> task([this, b = std::move(batch)]() {
    // Rewards never need gradients; InferenceMode is thread-local, so set it here.
    c10::InferenceMode guard;
    RewardResult r = reward_.score(b);
    r.check(reward_.name(), b.size());
    return r;
  });
  auto future = task.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return future;
}

RewardResult AsyncRewardScorer::wait(std::future<RewardResult>& pending) {
  const auto start = std::chrono::steady_clock::now();
  pending.wait();
  waited_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return pending.get();
}

void AsyncRewardScorer::run() {
  for (;;) {
    std::packaged_task<RewardResult()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping with nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();  // exceptions are stored in the future
  }
}

}  // namespace flowgrpo::rewards
