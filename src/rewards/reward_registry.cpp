#include "flowgrpo/rewards/reward_registry.h"

#include "flowgrpo/common/error.h"

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
  auto reward = with_context("reward '" + name + "'", [&] { return factory(options); });
  if (!reward) throw std::runtime_error("reward '" + name + "': factory returned nothing");
  return reward;
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
