#include "flowgrpo/rl/metrics.h"

#include <stdexcept>

namespace flowgrpo::rl {

namespace {
void check_weight(const std::string& name, int64_t weight) {
  if (weight < 1)
    throw std::invalid_argument("MetricAccumulator::add: metric '" + name + "' has weight " +
                                std::to_string(weight) + " (expected >= 1)");
}
}  // namespace

void MetricAccumulator::add(const std::string& name, double value, int64_t weight) {
  if (name.empty()) throw std::invalid_argument("MetricAccumulator::add: empty metric name");
  check_weight(name, weight);
  auto& e = entries_[name];
  e.sum += value * static_cast<double>(weight);
  e.count += weight;
}

void MetricAccumulator::add(const std::string& name, const torch::Tensor& value, int64_t weight) {
  if (name.empty()) throw std::invalid_argument("MetricAccumulator::add: empty metric name");
  check_weight(name, weight);
  if (!value.defined() || value.numel() != 1)
    throw std::invalid_argument(
        "MetricAccumulator::add: metric '" + name + "' must be a tensor with one element, got " +
        (value.defined() ? std::to_string(value.numel()) + " elements" : "undefined"));
  auto v = value.detach().reshape({}).to(torch::kDouble);
  if (weight != 1) v = v * static_cast<double>(weight);
  auto& e = entries_[name];
  if (e.pending.defined() && e.pending.device() != v.device())
    throw std::invalid_argument("MetricAccumulator::add: metric '" + name + "' was recorded on " +
                                e.pending.device().str() + " and now on " + v.device().str());
  e.pending = e.pending.defined() ? e.pending + v : v.clone();
  e.count += weight;
}

void MetricAccumulator::merge(const MetricAccumulator& other) {
  for (const auto& [name, o] : other.entries_) {
    auto& e = entries_[name];
    e.sum += total(o);
    e.count += o.count;
  }
}

double MetricAccumulator::total(const Entry& e) {
  return e.sum + (e.pending.defined() ? e.pending.item<double>() : 0.0);
}

const MetricAccumulator::Entry& MetricAccumulator::at(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) throw std::out_of_range("MetricAccumulator: no metric named '" + name + "'");
  return it->second;
}

int64_t MetricAccumulator::count(const std::string& name) const {
  const auto it = entries_.find(name);
  return it == entries_.end() ? 0 : it->second.count;
}

double MetricAccumulator::sum(const std::string& name) const {
  return total(at(name));
}

double MetricAccumulator::mean(const std::string& name) const {
  const auto& e = at(name);
  return total(e) / static_cast<double>(e.count);
}

std::vector<std::string> MetricAccumulator::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(name);
  return out;
}

std::map<std::string, double> MetricAccumulator::means() const {
  std::map<std::string, double> out;
  for (const auto& [name, e] : entries_) out[name] = total(e) / static_cast<double>(e.count);
  return out;
}

nlohmann::json MetricAccumulator::to_json() const {
  auto j = nlohmann::json::object();
  for (const auto& [name, m] : means()) j[name] = m;
  return j;
}

}  // namespace flowgrpo::rl
