// flowgrpo-tool allreduce-bench: the time of the trainer's gradient all-reduce
// (dist::GradientReducer) against its bucket size, on adapter-shaped gradients, as one
// rank of a launched run (torchrun / srun; scripts/bench_allreduce.sh). Rank 0 prints
// one JSON line per bucket size, and one for a collective per tensor (no buckets).
#include "commands.h"

#include "flowgrpo/dist/communicator.h"
#include "flowgrpo/dist/gradient_reducer.h"
#include "flowgrpo/dist/launch_environment.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

namespace flowgrpo::tool {

namespace {

struct Options {
  int64_t elements = 18'776'064;  // SD3.5-M LoRA r = 32 (docs/memory.md)
  int64_t tensors = 384;          // its lora_A / lora_B matrices, 48,896 elements each on average
  std::string bucket_mb = "1,4,16,25,64,0";
  int iterations = 5;
  std::string backend = "auto";
  int timeout_seconds = 300;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

Command add_allreduce_bench_command(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("--elements", o->elements, "Gradient elements in all (float32)");
  app.add_option("--tensors", o->tensors, "Number of gradient tensors they are split into");
  app.add_option("--bucket-mb", o->bucket_mb, "Comma-separated bucket sizes in MiB; 0 = one bucket for all");
  app.add_option("--iterations", o->iterations, "Timed reductions per setting (after one warm-up)");
  app.add_option("--backend", o->backend, "auto, gloo or nccl");
  return [o] {
    const auto launch = dist::read_launch_environment();
    auto comm = dist::make_communicator(launch, o->backend, o->timeout_seconds);
    const auto device = dist::local_device(launch);
    if (o->tensors < 1 || o->elements < o->tensors)
      throw std::invalid_argument("--elements must be >= --tensors >= 1");
    std::vector<torch::Tensor> params;
    const int64_t each = o->elements / o->tensors;
    for (int64_t k = 0; k < o->tensors; ++k) {
      const int64_t n = k + 1 == o->tensors ? o->elements - each * (o->tensors - 1) : each;
      auto p = torch::zeros({n}, torch::TensorOptions().device(device)).requires_grad_(true);
      p.mutable_grad() = torch::full({n}, static_cast<float>(comm->rank() + 1), p.options());
      params.push_back(p);
    }
    auto sync = [&] {
      if (device.is_cuda()) comm->barrier("bench sync");  // waits for the stream via .item()
    };
    auto report = [&](const std::string& setting, double bucket_mb, size_t buckets,
                      std::vector<double> times) {
      const double t = median(times);
      const double bytes = static_cast<double>(o->elements) * 4.0;
      const double w = comm->world_size();
      nlohmann::json j{{"bench", "allreduce"},
                       {"backend", comm->description().substr(0, comm->description().find(' '))},
                       {"world_size", comm->world_size()},
                       {"device", device.str()},
                       {"setting", setting},
                       {"bucket_mb", bucket_mb},
                       {"buckets", buckets},
                       {"tensors", o->tensors},
                       {"megabytes", bytes / 1e6},
                       {"median_s", t},
                       {"min_s", *std::min_element(times.begin(), times.end())},
                       {"algbw_GBps", bytes / t / 1e9},
                       {"busbw_GBps", bytes * 2.0 * (w - 1.0) / w / t / 1e9}};
      if (comm->is_main()) std::cout << j.dump() << std::endl;
    };
    std::stringstream list(o->bucket_mb);
    for (std::string item; std::getline(list, item, ',');) {
      const double mb = std::stod(item);
      dist::GradientReducer::Options ro;
      ro.bucket_bytes = mb > 0 ? static_cast<int64_t>(mb * 1024 * 1024) : o->elements * 4;
      ro.overlap = false;
      dist::GradientReducer reducer(*comm, params, ro);
      std::vector<double> times;
      for (int i = 0; i <= o->iterations; ++i) {
        comm->barrier("bench start");
        const auto t0 = std::chrono::steady_clock::now();
        reducer.reduce();
        sync();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (i > 0) times.push_back(s);
      }
      report(mb > 0 ? "bucketed" : "one bucket", mb, reducer.bucket_sizes().size(), times);
    }
    // No buckets: one collective per tensor.
    std::vector<double> times;
    for (int i = 0; i <= o->iterations; ++i) {
      comm->barrier("bench start");
      const auto t0 = std::chrono::steady_clock::now();
      for (auto& p : params) comm->all_reduce_sum(p.mutable_grad(), "per-tensor");
      sync();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (i > 0) times.push_back(s);
    }
    report("per tensor", 0, params.size(), times);
    return 0;
  };
}

}  // namespace flowgrpo::tool
