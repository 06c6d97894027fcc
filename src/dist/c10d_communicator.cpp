// The c10d-backed Communicator: Gloo on CPU, NCCL on CUDA (when the build has it).
// Launch compatibility follows torch.distributed's env:// rendezvous
// (rendezvous.py::_create_c10d_store; libtorch.md §1): RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT; under torchrun's agent store
// (TORCHELASTIC_USE_AGENT_STORE=True) every rank is a client of a PrefixStore.
#if FLOWGRPO_WITH_DISTRIBUTED

#include "flowgrpo/dist/communicator.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if FLOWGRPO_WITH_CUDA && defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define FLOWGRPO_HAVE_NCCL 1
#else
#define FLOWGRPO_HAVE_NCCL 0
#endif

#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace flowgrpo::dist {

namespace {

std::string require_env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0')
    throw std::invalid_argument(
        std::string("distributed launch: environment variable ") + name +
        " is not set (launch with torchrun, or set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)");
  return v;
}

c10::intrusive_ptr<c10d::Store> make_store(int rank, int world_size, std::chrono::milliseconds timeout) {
  const std::string host = require_env("MASTER_ADDR");
  const std::string port_text = require_env("MASTER_PORT");
  const int port = std::atoi(port_text.c_str());
  if (port <= 0 || port > 65535)
    throw std::invalid_argument("distributed launch: MASTER_PORT='" + port_text + "' is not a TCP port");
  c10d::TCPStoreOptions opts;
  opts.port = static_cast<std::uint16_t>(port);
  opts.numWorkers = static_cast<std::size_t>(world_size);
  opts.timeout = timeout;
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  if (agent != nullptr && std::string(agent) == "True") {
    opts.isServer = false;
    opts.waitWorkers = false;
    const char* restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
    auto store = c10::make_intrusive<c10d::TCPStore>(host, opts);
    return c10::make_intrusive<c10d::PrefixStore>(
        std::string("/worker/attempt_") + (restart != nullptr ? restart : "0"), store);
  }
  opts.isServer = rank == 0;
  opts.multiTenant = true;
  return c10::make_intrusive<c10d::TCPStore>(host, opts);
}

template <class Backend>
class C10dCommunicator final : public Communicator {
 public:
  C10dCommunicator(c10::intrusive_ptr<Backend> pg, int rank, int world_size, std::string name)
      : pg_(std::move(pg)), rank_(rank), world_size_(world_size), name_(std::move(name)) {}

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

  void all_reduce_sum(torch::Tensor& tensor) override {
    std::vector<at::Tensor> v{contiguous(tensor)};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    pg_->allreduce(v, o)->wait();
    if (!v[0].is_same(tensor)) tensor.copy_(v[0]);
  }

  torch::Tensor all_gather(const torch::Tensor& tensor) override {
    auto in = tensor.contiguous();
    std::vector<int64_t> shape = in.sizes().vec();
    if (shape.empty()) shape.push_back(1), in = in.reshape({1});
    shape[0] *= world_size_;
    auto out = torch::empty(shape, in.options());
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < world_size_; ++r) outputs[0].push_back(out.narrow(0, r * in.size(0), in.size(0)));
    std::vector<at::Tensor> inputs{in};
    pg_->allgather(outputs, inputs)->wait();
    return out;
  }

  void broadcast(torch::Tensor& tensor, int root) override {
    std::vector<at::Tensor> v{contiguous(tensor)};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    pg_->broadcast(v, o)->wait();
    if (!v[0].is_same(tensor)) tensor.copy_(v[0]);
  }

  void barrier() override {
    // A tiny all-reduce doubles as a barrier on every backend.
    auto t = torch::zeros({1}, device_options());
    all_reduce_sum(t);
  }

  std::string description() const override {
    return name_ + " (rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + ")";
  }

 private:
  static torch::Tensor contiguous(const torch::Tensor& t) { return t.is_contiguous() ? t : t.contiguous(); }
  torch::TensorOptions device_options() const {
    return name_ == "nccl" ? torch::TensorOptions().device(torch::kCUDA) : torch::TensorOptions();
  }

  c10::intrusive_ptr<Backend> pg_;
  int rank_;
  int world_size_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Communicator> make_c10d_communicator(const std::string& backend, int rank, int world_size,
                                                     int timeout_seconds) {
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds) * 1000);
  std::string chosen = backend;
  if (chosen == "auto") chosen = (FLOWGRPO_HAVE_NCCL && torch::cuda::is_available()) ? "nccl" : "gloo";
  auto store = make_store(rank, world_size, timeout);
  if (chosen == "gloo") {
    auto opts = c10d::ProcessGroupGloo::Options::create();
    opts->timeout = timeout;
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    opts->devices.push_back(ifname != nullptr ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                              : c10d::ProcessGroupGloo::createDefaultDevice());
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, opts);
    return std::make_unique<C10dCommunicator<c10d::ProcessGroupGloo>>(pg, rank, world_size, "gloo");
  }
  if (chosen == "nccl") {
#if FLOWGRPO_HAVE_NCCL
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world_size, opts);
    return std::make_unique<C10dCommunicator<c10d::ProcessGroupNCCL>>(pg, rank, world_size, "nccl");
#else
    throw std::invalid_argument(
        "dist.backend = nccl but this build has no NCCL (needs CUDA LibTorch with c10d NCCL)");
#endif
  }
  throw std::invalid_argument("unknown distributed backend '" + backend +
                              "' (expected auto, gloo, nccl or none)");
}

}  // namespace flowgrpo::dist

#endif  // FLOWGRPO_WITH_DISTRIBUTED
