#include "flowgrpo/config/batch_layout.h"

#include "config/batch_checks.h"
#include "config/text.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace flowgrpo::config {

namespace {

std::string plural(long long count, const std::string& noun) {
  if (count == 1) return "1 " + noun;
  return std::to_string(count) + " " + noun + (noun.back() == 'h' ? "es" : "s");
}

// Divisors >= 2 of `total` near `wanted`: the two largest below it and the smallest above.
std::vector<long long> group_sizes_near(long long total, long long wanted) {
  std::vector<long long> below;
  long long above = 0;
  for (long long d = 2; d <= total; ++d) {
    if (total % d != 0) continue;
    if (d < wanted) below.push_back(d);
    if (d > wanted && above == 0) above = d;
  }
  std::vector<long long> out(below.size() > 2 ? below.end() - 2 : below.begin(), below.end());
  if (above > 0) out.push_back(above);
  return out;
}

// The per-rank batch size nearest to `batch` for which ranks × batch is a multiple of k.
long long batch_size_near(long long ranks, long long k, long long batch) {
  const long long step = k / std::gcd(ranks, k);
  const long long lower = (batch / step) * step;
  const long long upper = lower + step;
  if (lower < 1) return upper;
  return (batch - lower <= upper - batch) ? lower : upper;
}

std::string or_list(const std::vector<long long>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += i + 1 == values.size() ? " or " : ", ";
    out += std::to_string(values[i]);
  }
  return out;
}

std::string divisors_of(long long n) {
  std::vector<std::string> out;
  for (long long d = 1; d <= n; ++d)
    if (n % d == 0) out.push_back(std::to_string(d));
  return detail::join(out);
}

}  // namespace

namespace detail {

std::vector<std::string> batch_layout_problems(const Config& config, int world_size, BatchLayout& layout) {
  const SampleConfig& s = config.sample;
  const TrainConfig& t = config.train;
  std::vector<std::string> problems;
  const long long n = world_size, b = s.train_batch_size, k = s.num_image_per_prompt,
                  batches = s.num_batches_per_epoch, ga = t.gradient_accumulation_steps;

  if (n < 1) problems.push_back("world size = " + std::to_string(n) + ": must be >= 1 (number of ranks)");
  if (b < 1)
    problems.push_back(
        "sample.train_batch_size = " + std::to_string(b) +
        ": must be >= 1 (images each rank samples per iteration; also the training micro-batch)");
  if (k == 1) {
    problems.push_back(
        "sample.num_image_per_prompt = 1: GRPO needs at least 2 images per prompt. Advantages compare each "
        "image's reward with the other images of the same prompt, so a group of 1 always has advantage 0 and "
        "nothing is learned (the reference uses 24; groups of 6 or 12 were less stable in the paper)");
  } else if (k < 1) {
    problems.push_back("sample.num_image_per_prompt = " + std::to_string(k) +
                       ": must be >= 2 (images per prompt, the GRPO group size)");
  }
  if (batches < 1)
    problems.push_back("sample.num_batches_per_epoch = " + std::to_string(batches) +
                       ": must be >= 1 (sampling iterations per epoch)");
  if (ga < 1) {
    problems.push_back(
        "train.gradient_accumulation_steps = " + std::to_string(ga) +
        ": must be >= 1 (micro-batches per optimizer step; the reference's num_batches_per_epoch // 2 is 0 "
        "when num_batches_per_epoch = 1, issue #43: use 1)");
  }
  if (t.num_inner_epochs < 1)
    problems.push_back("train.num_inner_epochs = " + std::to_string(t.num_inner_epochs) +
                       ": must be >= 1 (passes over each epoch's samples)");
  if (s.num_steps < 1)
    problems.push_back("sample.num_steps = " + std::to_string(s.num_steps) +
                       ": must be >= 1 (denoising steps)");
  if (s.sde_window_size < 0)
    problems.push_back("sample.sde_window_size = " + std::to_string(s.sde_window_size) +
                       ": must be >= 0 (SDE steps per trajectory; 0 = all steps)");
  const bool fraction_ok = t.timestep_fraction > 0.0 && t.timestep_fraction <= 1.0;
  if (!fraction_ok)
    problems.push_back("train.timestep_fraction = " + format_number(t.timestep_fraction) +
                       ": must be in (0, 1] (fraction of the sample.num_steps steps that are trained)");

  long long train_timesteps = 0;
  if (s.sde_window_size > 0) {
    train_timesteps = s.sde_window_size;
  } else if (s.num_steps >= 1 && fraction_ok) {
    // The reference: num_train_timesteps = int(num_steps * timestep_fraction).
    train_timesteps = static_cast<long long>(std::floor(s.num_steps * t.timestep_fraction));
    if (train_timesteps < 1)
      problems.push_back("sample.num_steps = " + std::to_string(s.num_steps) +
                         " x train.timestep_fraction = " + format_number(t.timestep_fraction) +
                         " trains floor(" + format_number(s.num_steps * t.timestep_fraction) +
                         ") = 0 timesteps; raise either so that at least one step is trained");
  }
  if (!problems.empty()) return problems;

  const long long images = n * b;
  if (images % k != 0) {
    std::string message = "sample.num_image_per_prompt = " + std::to_string(k) +
                          " does not fit one sampling iteration: " + plural(n, "rank") +
                          " x sample.train_batch_size " + std::to_string(b) + " = " + std::to_string(images) +
                          " images per iteration, and every prompt's group of " + std::to_string(k) +
                          " images must be sampled within one iteration across all ranks. Choose ";
    const auto sizes = group_sizes_near(images, k);
    if (!sizes.empty())
      message +=
          "num_image_per_prompt dividing " + std::to_string(images) + " (e.g. " + or_list(sizes) + "), or ";
    message += (n == 1 ? std::string("a train_batch_size that is a multiple of ")
                       : "a train_batch_size that makes " + std::to_string(n) +
                             " x train_batch_size a multiple of ") +
               std::to_string(k) + " (e.g. " + std::to_string(batch_size_near(n, k, b)) + ")";
    problems.push_back(message);
  }
  if (batches % ga != 0) {
    std::string message = "train.gradient_accumulation_steps = " + std::to_string(ga) +
                          " does not divide sample.num_batches_per_epoch = " + std::to_string(batches) +
                          ": the optimizer steps after every " + plural(ga, "micro-batch") +
                          ", so the last " + plural(batches % ga, "micro-batch") +
                          " of each epoch would get no optimizer step. Choose a divisor of " +
                          std::to_string(batches) + " (" + divisors_of(batches) + ")";
    if (batches % 2 == 0)
      message += "; the reference uses num_batches_per_epoch / 2 = " + std::to_string(batches / 2) +
                 ", i.e. two optimizer steps per epoch";
    problems.push_back(message);
  }
  const long long images_per_epoch = images * batches;
  if (images_per_epoch > std::numeric_limits<int>::max())
    problems.push_back("an epoch of " + std::to_string(images_per_epoch) + " images is too large");
  if (!problems.empty()) return problems;

  layout.world_size = static_cast<int>(n);
  layout.batch_size_per_rank = static_cast<int>(b);
  layout.images_per_prompt = static_cast<int>(k);
  layout.images_per_iteration = static_cast<int>(images);
  layout.groups_per_iteration = static_cast<int>(images / k);
  layout.batches_per_epoch = static_cast<int>(batches);
  layout.groups_per_epoch = static_cast<int>(images / k * batches);
  layout.images_per_epoch = static_cast<int>(images_per_epoch);
  layout.images_per_rank_per_epoch = static_cast<int>(b * batches);
  layout.gradient_accumulation_steps = static_cast<int>(ga);
  layout.optimizer_steps_per_epoch = static_cast<int>(t.num_inner_epochs * (batches / ga));
  layout.sampling_steps = s.num_steps;
  layout.train_timesteps = static_cast<int>(train_timesteps);
  return problems;
}

}  // namespace detail

BatchLayout make_batch_layout(const Config& config, int world_size) {
  BatchLayout layout;
  const auto problems = detail::batch_layout_problems(config, world_size, layout);
  if (problems.size() == 1) throw std::invalid_argument(problems.front());
  if (!problems.empty())
    throw std::invalid_argument(std::to_string(problems.size()) + " batch-layout problems:\n  - " +
                                detail::join(problems, "\n  - "));
  return layout;
}

std::string BatchLayout::describe() const {
  std::string out =
      plural(world_size, "rank") + " x " + std::to_string(batch_size_per_rank) +
      " images = " + std::to_string(images_per_iteration) +
      " images per sampling iteration = " + plural(groups_per_iteration, "prompt") + " x " +
      std::to_string(images_per_prompt) + " images; " + plural(batches_per_epoch, "iteration") +
      " per epoch = " + plural(groups_per_epoch, "prompt") + ", " + std::to_string(images_per_epoch) +
      " images (" + std::to_string(images_per_rank_per_epoch) + " per rank); " +
      std::to_string(train_timesteps) + " of " + std::to_string(sampling_steps) +
      " steps trained; micro-batch " + std::to_string(batch_size_per_rank) + ", " +
      std::to_string(gradient_accumulation_steps) +
      " per optimizer step = " + plural(optimizer_steps_per_epoch, "optimizer step") + " per epoch";
  return out;
}

bool operator==(const BatchLayout& a, const BatchLayout& b) {
  return a.world_size == b.world_size && a.batch_size_per_rank == b.batch_size_per_rank &&
         a.images_per_prompt == b.images_per_prompt && a.images_per_iteration == b.images_per_iteration &&
         a.groups_per_iteration == b.groups_per_iteration && a.batches_per_epoch == b.batches_per_epoch &&
         a.groups_per_epoch == b.groups_per_epoch && a.images_per_epoch == b.images_per_epoch &&
         a.images_per_rank_per_epoch == b.images_per_rank_per_epoch &&
         a.gradient_accumulation_steps == b.gradient_accumulation_steps &&
         a.optimizer_steps_per_epoch == b.optimizer_steps_per_epoch && a.sampling_steps == b.sampling_steps &&
         a.train_timesteps == b.train_timesteps;
}

}  // namespace flowgrpo::config
