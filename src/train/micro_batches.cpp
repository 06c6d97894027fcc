#include "flowgrpo/train/micro_batches.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

namespace flowgrpo::train {

std::vector<torch::Tensor> shuffled_micro_batches(const torch::Tensor& kept, int64_t num_batches,
                                                  at::Generator& gen) {
  const int64_t n = kept.numel();
  if (num_batches < 1 || n == 0 || n % num_batches != 0)
    throw std::invalid_argument("shuffled_micro_batches: " + std::to_string(n) +
                                " kept samples cannot be cut into " + std::to_string(num_batches) +
                                " equal micro-batches");
  const auto order = kept.index_select(0, torch::randperm(n, gen, torch::kLong));
  const int64_t micro = n / num_batches;
  std::vector<torch::Tensor> out;
  for (int64_t mb = 0; mb < num_batches; ++mb) out.push_back(order.narrow(0, mb * micro, micro));
  return out;
}

std::vector<torch::Tensor> whole_group_micro_batches(const torch::Tensor& kept, const torch::Tensor& prompt_index,
                                                     int64_t num_batches, at::Generator& gen) {
  if (num_batches < 1)
    throw std::invalid_argument("whole_group_micro_batches: num_batches must be >= 1, got " +
                                std::to_string(num_batches));
  const auto kept_cpu = kept.to(torch::kCPU).to(torch::kLong).contiguous();
  const auto prompts = prompt_index.to(torch::kCPU).to(torch::kLong).contiguous();
  const auto* k = kept_cpu.data_ptr<int64_t>();
  const auto* p = prompts.data_ptr<int64_t>();
  // Groups in order of first appearance, so the result depends only on `gen`.
  std::vector<std::vector<int64_t>> groups;
  std::map<int64_t, size_t> group_of_prompt;
  for (int64_t i = 0; i < kept_cpu.numel(); ++i) {
    if (k[i] < 0 || k[i] >= prompts.numel())
      throw std::invalid_argument("whole_group_micro_batches: kept sample " + std::to_string(k[i]) +
                                  " is outside prompt_index [" + std::to_string(prompts.numel()) + "]");
    const auto [it, added] = group_of_prompt.emplace(p[k[i]], groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(k[i]);
  }
  const auto order = torch::randperm(static_cast<int64_t>(groups.size()), gen, torch::kLong);
  const auto* o = order.data_ptr<int64_t>();
  const double n = static_cast<double>(kept_cpu.numel());
  std::vector<std::vector<int64_t>> parts(static_cast<size_t>(num_batches));
  double start = 0;
  for (int64_t g = 0; g < order.numel(); ++g) {
    const auto& members = groups[static_cast<size_t>(o[g])];
    const double mid = start + 0.5 * static_cast<double>(members.size());
    const auto part =
        std::min<int64_t>(num_batches - 1, static_cast<int64_t>(mid / n * static_cast<double>(num_batches)));
    auto& dst = parts[static_cast<size_t>(part)];
    dst.insert(dst.end(), members.begin(), members.end());
    start += static_cast<double>(members.size());
  }
  std::vector<torch::Tensor> out;
  for (const auto& part : parts)
    out.push_back(part.empty() ? torch::empty({0}, torch::kLong) : torch::tensor(part, torch::kLong));
  return out;
}

}  // namespace flowgrpo::train
