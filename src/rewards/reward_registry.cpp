#include "flowgrpo/rewards/reward_registry.h"

#include "flowgrpo/common/error.h"
#include "flowgrpo/rewards/score_range_reward.h"

#include <cmath>
#include <optional>
#include <stdexcept>

namespace flowgrpo::rewards {

RewardRegistry::RewardRegistry() {
  register_builtin_rewards(*this);
}

RewardRegistry& RewardRegistry::global() {
  static RewardRegistry registry;
  return registry;
}

void RewardRegistry::add(const std::string& name, const std::string& description, RewardFactory factory) {
  if (name.empty()) throw std::invalid_argument("reward registry: empty reward name");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      throw std::invalid_argument("reward registry: name '" + name + "' must use only a-z, 0-9 and _");
  if (!factory) throw std::invalid_argument("reward registry: no factory given for '" + name + "'");
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.count(name) != 0)
    throw std::invalid_argument("reward registry: '" + name + "' is already registered");
  entries_.emplace(name, Entry{description, std::move(factory)});
}

std::unique_ptr<Reward> RewardRegistry::create(const std::string& name, const nlohmann::json& options) const {
  RewardFactory factory;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string known;
      for (const auto& [n, e] : entries_) known += (known.empty() ? "" : ", ") + n;
      throw std::invalid_argument("unknown reward '" + name + "' (registered rewards: " + known + ")");
    }
    factory = it->second.factory;
  }
  // min_score / max_score are the registry's options, accepted by every reward: the
  // factory never sees them.
  nlohmann::json own = options;
  std::optional<double> min_score, max_score;
  if (own.is_object()) {
    auto take = [&](const char* key, std::optional<double>& out) {
      const auto it = own.find(key);
      if (it == own.end()) return;
      if (!it->is_number() || std::isnan(it->get<double>()))
        throw std::invalid_argument("reward '" + name + "': option '" + key + "' must be a number, found " +
                                    it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      out = it->get<double>();
      own.erase(it);
    };
    take("min_score", min_score);
    take("max_score", max_score);
  }
  auto reward = with_context("reward '" + name + "'", [&] { return factory(own); });
  if (!reward) throw std::runtime_error("reward '" + name + "': factory returned nothing");
  ScoreRange range = reward->valid_range();
  if (min_score) range.min = *min_score;
  if (max_score) range.max = *max_score;
  if (!(range.min <= range.max))
    throw std::invalid_argument("reward '" + name + "': min_score must be <= max_score, found " +
                                range.to_string() + (min_score || max_score ? "" : " (the reward's own range)"));
  if (!range.bounded()) return reward;
  return std::make_unique<ScoreRangeReward>(std::move(reward), range);
}

bool RewardRegistry::contains(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.count(name) != 0;
}

std::vector<std::string> RewardRegistry::names() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [n, e] : entries_) out.push_back(n);
  return out;
}

std::string RewardRegistry::description(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(name);
  return it == entries_.end() ? "" : it->second.description;
}

}  // namespace flowgrpo::rewards
