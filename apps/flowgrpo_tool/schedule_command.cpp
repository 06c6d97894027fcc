#include "commands.h"

#include "flowgrpo/sampling/schedule.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <memory>
#include <stdexcept>

namespace flowgrpo::tool {

Command add_schedule_command(CLI::App& app) {
  struct Options {
    int steps = 0;
    double shift = 0.0;
    std::string model;
    int64_t image_seq_len = 0;
  };
  auto o = std::make_shared<Options>();
  app.add_option("--steps", o->steps, "Number of inference steps N")->required()->check(CLI::PositiveNumber);
  auto* shift = app.add_option("--shift", o->shift, "SD3 shift (no dynamic shifting), e.g. 3.0");
  auto* model = app.add_option("--model", o->model,
                               "Model folder whose scheduler/scheduler_config.json defines the schedule");
  shift->excludes(model);
  app.add_option("--image-seq-len", o->image_seq_len,
                 "Image token count, for schedulers with dynamic shifting (FLUX)");
  return [o, shift, model]() {
    if (shift->count() == 0 && model->count() == 0)
      throw std::invalid_argument("schedule: give --shift S or --model DIR");
    sampling::FlowMatchSchedulerConfig config;
    if (model->count() > 0) {
      config = sampling::FlowMatchSchedulerConfig::from_model_dir(o->model);
    } else {
      if (!(o->shift > 0.0))
        throw std::invalid_argument("schedule: --shift must be > 0, got " + std::to_string(o->shift));
      config.shift = o->shift;
    }
    if (config.use_dynamic_shifting && o->image_seq_len < 1)
      throw std::invalid_argument("schedule: this scheduler uses dynamic shifting; give --image-seq-len");
    const auto s = sampling::make_schedule(o->steps, config, o->image_seq_len);
    // Doubles printed in shortest round-trip form are the exact float32 values.
    nlohmann::json j{{"sigmas", s.sigma_values()}, {"timesteps", s.timestep_values()}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  };
}

}  // namespace flowgrpo::tool
