#pragma once
/// @file metrics.h
/// Averages of named scalar metrics over the micro-batches × timesteps of one
/// optimizer step, as train_sd3.py logs them: every value appended to `info[name]`,
/// `torch.mean(torch.stack(v))` per name at the sync step, then a mean over ranks
/// (`accelerator.reduce(info, "mean")`), which is the caller's job.

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace flowgrpo::rl {

/// Sum and count per metric name. Values may be doubles or 0-dim / one-element tensors;
/// tensors are summed on their device without synchronising and read (one `.item()` per
/// name) only when a mean is requested, so recording does not stall a GPU stream.
/// Not thread-safe.
class MetricAccumulator {
 public:
  /// Adds one observation of `name`, counted `weight` times (e.g. the number of images a
  /// micro-batch mean stands for, so that means are per image whatever the batch sizes).
  /// @throws std::invalid_argument if name is empty or weight < 1.
  void add(const std::string& name, double value, int64_t weight = 1);
  /// Adds one observation held in a tensor with exactly one element (detached, summed in
  /// float64 on its device).
  /// @throws std::invalid_argument if name is empty or the tensor is undefined or has
  ///         more than one element, or if its device differs from earlier tensors of `name`.
  void add(const std::string& name, const torch::Tensor& value, int64_t weight = 1);

  /// Adds all observations of `other` (sums and counts), e.g. from another accumulator.
  void merge(const MetricAccumulator& other);

  bool contains(const std::string& name) const { return entries_.count(name) != 0; }
  /// Number of observations of `name` (0 if absent).
  int64_t count(const std::string& name) const;
  /// Sum of the observations of `name`. @throws std::out_of_range if absent.
  double sum(const std::string& name) const;
  /// Mean of the observations of `name`. @throws std::out_of_range if absent.
  double mean(const std::string& name) const;
  /// Names in sorted order.
  std::vector<std::string> names() const;
  /// Mean per name, sorted by name.
  std::map<std::string, double> means() const;
  /// {"name": mean, ...}.
  nlohmann::json to_json() const;

  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }

 private:
  struct Entry {
    double sum = 0;
    int64_t count = 0;
    torch::Tensor pending;  // float64 0-dim sum of tensor observations, or undefined
  };
  static double total(const Entry& e);
  const Entry& at(const std::string& name) const;
  std::map<std::string, Entry> entries_;
};

}  // namespace flowgrpo::rl
