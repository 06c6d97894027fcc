#include "flowgrpo/sampling/sde_window.h"

#include <stdexcept>

namespace flowgrpo::sampling {

std::string SdeWindow::to_string() const {
  return "[" + std::to_string(start) + ", " + std::to_string(end()) + ")";
}

SdeWindow draw_sde_window(int64_t num_steps, int64_t size, int64_t range_begin, int64_t range_end,
                          std::mt19937_64& rng) {
  if (num_steps < 1) throw std::invalid_argument("SDE window: num_steps must be >= 1");
  if (size == 0) return SdeWindow::full(num_steps);
  if (size < 0) throw std::invalid_argument("SDE window: size must be >= 0, got " + std::to_string(size));
  if (range_begin < 0 || range_end > num_steps || range_end - range_begin < size)
    throw std::invalid_argument("SDE window: a window of " + std::to_string(size) +
                                " steps does not fit in range [" + std::to_string(range_begin) + ", " +
                                std::to_string(range_end) + ") of a " + std::to_string(num_steps) +
                                "-step schedule");
  std::uniform_int_distribution<int64_t> start(range_begin, range_end - size);
  return {start(rng), size};
}

int64_t num_train_timesteps(const SdeWindow& window, int64_t num_steps, double timestep_fraction) {
  if (window.start == 0 && window.size == num_steps)
    return static_cast<int64_t>(static_cast<double>(num_steps) * timestep_fraction);
  return window.size;
}

}  // namespace flowgrpo::sampling
