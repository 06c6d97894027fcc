#pragma once
/// @file reward_registry.h
/// Name -> factory for rewards. Every built-in reward is registered explicitly in
/// one place (src/rewards/builtin_rewards.cpp); there are no self-registering
/// static objects, which a linker drops from static libraries. User code adds
/// its own rewards with `RewardRegistry::global().add(...)` before loading a config.

#include "flowgrpo/rewards/reward.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace flowgrpo::rewards {

/// Builds a reward from its options (a JSON object; `{}` when the config gives none).
/// Throws std::invalid_argument for bad options.
using RewardFactory = std::function<std::unique_ptr<Reward>(const nlohmann::json& options)>;

class RewardRegistry {
 public:
  /// A registry holding the built-in rewards.
  RewardRegistry();

  /// The process-wide registry used by the executables (built-ins included). Thread-safe.
  static RewardRegistry& global();

  /// Registers a reward. Throws std::invalid_argument if the name is empty, not
  /// lowercase [a-z0-9_], or already registered.
  void add(const std::string& name, const std::string& description, RewardFactory factory);

  /// Creates a reward. Throws std::invalid_argument for an unknown name, listing
  /// the registered ones; rethrows the factory's errors prefixed with the name.
  ///
  /// Every reward accepts the options `min_score` and `max_score` (numbers; they are not
  /// passed to the factory): they override the ends of the reward's `valid_range()`. When
  /// the resulting range is bounded, the reward comes wrapped in a ScoreRangeReward
  /// (score_range_reward.h) that masks scores outside it; `unwrap_score_range` reaches
  /// the reward itself. Throws std::invalid_argument for a non-number or min > max.
  std::unique_ptr<Reward> create(const std::string& name,
                                 const nlohmann::json& options = nlohmann::json::object()) const;

  bool contains(const std::string& name) const;
  /// Registered names, sorted.
  std::vector<std::string> names() const;
  std::string description(const std::string& name) const;

 private:
  struct Entry {
    std::string description;
    RewardFactory factory;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

/// Registers every built-in reward (the one list of them).
void register_builtin_rewards(RewardRegistry& registry);

}  // namespace flowgrpo::rewards
