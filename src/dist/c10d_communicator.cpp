// The c10d-backed Communicator: Gloo on CPU, NCCL on CUDA (when the build has it).
// Launch compatibility follows torch.distributed's env:// rendezvous
// (rendezvous.py::_create_c10d_store; libtorch.md §1): rank 0 serves a TCPStore at
// MASTER_ADDR:MASTER_PORT, or, under torchrun's agent store
// (TORCHELASTIC_USE_AGENT_STORE=True), every rank is a client of a PrefixStore.
//
// Failures: a collective whose peer died or hung throws CollectiveError naming the
// collective and the rank(s) responsible. Each rank publishes a heartbeat in the
// store ("<beat> <collective#> <label>", every 0.5 s, from its own thread); a rank
// whose collective failed reads them twice, 2 s apart: a rank whose beat stopped is
// gone (killed, crashed, stopped), a live rank at an earlier collective is stuck, and
// an unreachable store means rank 0 (which serves it) is gone.
#if FLOWGRPO_WITH_DISTRIBUTED

#include "flowgrpo/dist/communicator.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if FLOWGRPO_WITH_CUDA && defined(USE_C10D_NCCL)
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define FLOWGRPO_HAVE_NCCL 1
#else
#define FLOWGRPO_HAVE_NCCL 0
#endif

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace flowgrpo::dist {

namespace {

using Clock = std::chrono::steady_clock;

// Where a failing rank leaves "<rank>\t<message>" for the others.
const char* const kFailureKey = "flowgrpo/failed";

std::string first_line(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10 != nullptr ? c10->what_without_backtrace() : e.what();
  const auto nl = text.find('\n');
  if (nl != std::string::npos) text = text.substr(0, nl);
  // Gloo prefixes its source location and appends advice: keep the failure itself.
  if (!text.empty() && text[0] == '[') {
    const auto close = text.find("] ");
    if (close != std::string::npos) text = text.substr(close + 2);
  }
  const auto advice = text.find(" This is typically caused");
  if (advice != std::string::npos) text = text.substr(0, advice);
  return text;
}

/// How to reach the rendezvous store, as often as a new connection is needed.
struct StoreAddress {
  LaunchEnvironment launch;
  bool agent_store = false;  ///< torchrun's agent serves it (TORCHELASTIC_USE_AGENT_STORE)
  std::string prefix;        ///< the agent store's "/worker/attempt_<n>"

  c10::intrusive_ptr<c10d::Store> connect(bool server, std::chrono::milliseconds timeout) const {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<std::uint16_t>(launch.master_port);
    opts.numWorkers = static_cast<std::size_t>(launch.world_size);
    opts.timeout = timeout;
    opts.isServer = server;
    opts.waitWorkers = false;
    opts.multiTenant = !agent_store;
    auto store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, opts);
    if (!agent_store) return store;
    return c10::make_intrusive<c10d::PrefixStore>(prefix, store);
  }
  std::string describe() const {
    return launch.master_addr + ":" + std::to_string(launch.master_port) +
           (agent_store ? " (torchrun's agent)" : " (served by rank 0)");
  }
};

/// Publishes this rank's heartbeat and reads the others' when a collective fails.
class PeerMonitor {
 public:
  /// Writes the first heartbeat before returning (the process group, created next,
  /// waits for every rank: from then on every rank's heartbeat exists).
  PeerMonitor(StoreAddress address, int rank, int world_size)
      : address_(std::move(address)), rank_(rank), world_size_(world_size) {
    auto store = address_.connect(false, std::chrono::milliseconds(30000));
    const std::string first = "0 0 start-up";
    store->set(key_of(rank_), std::vector<uint8_t>(first.begin(), first.end()));
    thread_ = std::thread([this, store] { beat(store); });
  }
  ~PeerMonitor() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  /// See Communicator::stop_when_a_peer_fails.
  void exit_when_a_peer_fails(const std::string& program) {
    std::lock_guard<std::mutex> lock(mutex_);
    exit_program_ = program;
  }

  void entering(int64_t seq, std::string_view label) {
    std::lock_guard<std::mutex> lock(mutex_);
    seq_ = seq;
    label_ = std::string(label);
  }

  /// Rank r's heartbeat count (-1 if it never reported). @throws when the store is gone.
  int64_t beat_of(int r) { return read_beat(r).beat; }

  /// Who is to blame for collective `seq` failing on this rank.
  std::string diagnose(int64_t seq) {
    auto read_all = [&] {
      std::vector<Beat> out(static_cast<size_t>(world_size_));
      for (int r = 0; r < world_size_; ++r)
        if (r != rank_) out[static_cast<size_t>(r)] = read_beat(r);
      return out;
    };
    std::vector<Beat> first, second;
    try {
      first = read_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(2000));
      second = read_all();
    } catch (const std::exception&) {
      return "the rendezvous store at " + address_.describe() +
             " is unreachable: rank 0 (or the node serving the store) is gone";
    }
    std::vector<std::string> findings;
    for (int r = 0; r < world_size_; ++r) {
      if (r == rank_) continue;
      const auto& a = first[static_cast<size_t>(r)];
      const auto& b = second[static_cast<size_t>(r)];
      if (b.beat < 0) {
        findings.push_back("rank " + std::to_string(r) + " is gone (it never reported a heartbeat)");
      } else if (b.beat == a.beat) {
        findings.push_back(
            "rank " + std::to_string(r) +
            " is gone (its heartbeat stopped: killed, crashed or stopped; last reported at collective #" +
            std::to_string(b.seq) + " '" + b.label + "')");
      } else if (b.seq < seq) {
        findings.push_back("rank " + std::to_string(r) +
                           " is alive but has not reached this collective (it is at collective #" +
                           std::to_string(b.seq) + " '" + b.label +
                           "': hung, or slower than dist.timeout_seconds)");
      }
    }
    if (findings.empty()) return "every other rank is alive and at this collective (a network failure?)";
    std::string out;
    for (const auto& f : findings) out += (out.empty() ? "" : "; ") + f;
    return out;
  }

 private:
  struct Beat {
    int64_t beat = -1, seq = -1;  // -1: never reported
    std::string label;
  };

  std::string key_of(int r) const { return "flowgrpo/heartbeat/" + std::to_string(r); }

  /// Rank r's last heartbeat, over the main thread's own connection (made on first
  /// use, 3 s timeout). @throws when the store is gone.
  Beat read_beat(int r) {
    if (!reader_) reader_ = address_.connect(false, std::chrono::milliseconds(3000));
    Beat b;
    const std::string key = key_of(r);
    if (!reader_->check({key})) return b;
    const auto bytes = reader_->get(key);
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    in >> b.beat >> b.seq;
    std::getline(in >> std::ws, b.label);
    return b;
  }

  void beat(c10::intrusive_ptr<c10d::Store> store) {
    int64_t count = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      const std::string value = std::to_string(++count) + " " + std::to_string(seq_) + " " + label_;
      const std::string program = exit_program_;
      lock.unlock();
      try {
        if (!store) store = address_.connect(false, std::chrono::milliseconds(5000));
        store->set(key_of(rank_), std::vector<uint8_t>(value.begin(), value.end()));
        if (!program.empty() && store->check({kFailureKey})) {
          const auto bytes = store->get(kFailureKey);
          const std::string failure(bytes.begin(), bytes.end());
          const auto tab = failure.find('\t');
          const int who = std::atoi(failure.substr(0, tab).c_str());
          if (who != rank_) {
            std::fprintf(stderr, "[rank %d] %s: error: rank %d failed: %s\n", rank_, program.c_str(), who,
                         tab == std::string::npos ? "" : failure.substr(tab + 1).c_str());
            std::fflush(stderr);
            // Rank 0 serves the store: stay until the others have read the failure too.
            if (rank_ == 0 && !address_.agent_store)
              std::this_thread::sleep_for(std::chrono::milliseconds(1500));
            std::_Exit(1);
          }
        }
      } catch (const std::exception&) {
        store.reset();  // the store is gone (rank 0 exited): nothing to report to
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
    }
  }

  StoreAddress address_;
  int rank_, world_size_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int64_t seq_ = 0;
  std::string label_ = "start-up";
  std::string exit_program_;                // "" unless exit_when_a_peer_fails
  c10::intrusive_ptr<c10d::Store> reader_;  // read_beat()'s connection
  std::thread thread_;
};

template <class Backend>
class C10dCommunicator final : public Communicator {
 public:
  C10dCommunicator(c10::intrusive_ptr<Backend> pg, c10::intrusive_ptr<c10d::Store> store,
                   const LaunchEnvironment& launch, std::string name, torch::Device device,
                   std::unique_ptr<PeerMonitor> monitor, int timeout_seconds)
      : pg_(std::move(pg)),
        store_(std::move(store)),
        rank_(launch.rank),
        world_size_(launch.world_size),
        name_(std::move(name)),
        device_(device),
        monitor_(std::move(monitor)),
        timeout_seconds_(timeout_seconds) {}

  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

  void all_reduce_sum(torch::Tensor& tensor, std::string_view label) override {
    all_reduce_sum_async(tensor, label)->wait();
  }

  std::unique_ptr<PendingCollective> all_reduce_sum_async(torch::Tensor& tensor,
                                                          std::string_view label) override {
    const auto seq = begin(label);
    auto staged = staged_copy(tensor);
    std::vector<at::Tensor> v{staged};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    auto work = guarded(seq, label, [&] { return pg_->allreduce(v, o); });
    return std::make_unique<Pending>(*this, std::move(work), tensor, staged, seq, std::string(label));
  }

  torch::Tensor all_gather(const torch::Tensor& tensor, std::string_view label) override {
    const auto seq = begin(label);
    auto in = staged_copy(tensor.contiguous());
    std::vector<int64_t> shape = in.sizes().vec();
    if (shape.empty()) shape.push_back(1), in = in.reshape({1});
    shape[0] *= world_size_;
    auto out = torch::empty(shape, in.options());
    std::vector<std::vector<at::Tensor>> outputs(1);
    for (int r = 0; r < world_size_; ++r) outputs[0].push_back(out.narrow(0, r * in.size(0), in.size(0)));
    std::vector<at::Tensor> inputs{in};
    guarded(seq, label, [&] {
      pg_->allgather(outputs, inputs)->wait();
      return 0;
    });
    return out.to(tensor.device());
  }

  void broadcast(torch::Tensor& tensor, int root, std::string_view label) override {
    const auto seq = begin(label);
    auto staged = staged_copy(tensor);
    std::vector<at::Tensor> v{staged};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    guarded(seq, label, [&] {
      pg_->broadcast(v, o)->wait();
      return 0;
    });
    if (!staged.is_same(tensor)) tensor.copy_(staged);
  }

  void barrier(std::string_view label) override {
    // A tiny all-reduce doubles as a barrier on every backend.
    auto t = torch::zeros({1}, torch::TensorOptions().device(device_));
    all_reduce_sum(t, label);
  }

  void announce_failure(const std::string& message) override {
    try {
      const std::string value = std::to_string(rank_) + "\t" + message;
      store_->set(kFailureKey, std::vector<uint8_t>(value.begin(), value.end()));
      // Rank 0 serves the store: stay until the others' heartbeats (every 0.5 s) read it.
      if (rank_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    } catch (const std::exception&) {
      // The store is gone too: the others will find out at their next collective.
    }
  }

  void stop_when_a_peer_fails(const std::string& program) override {
    if (monitor_) monitor_->exit_when_a_peer_fails(program);
  }

  void wait_for_main(std::string_view label) override {
    const auto seq = begin(label);
    const std::string key = "flowgrpo/main_done/" + std::to_string(seq);
    if (rank_ == 0) {
      store_->set(key, std::vector<uint8_t>{1});
    } else {
      // Poll the key; every 5 s rank 0's heartbeat must have moved on.
      int64_t last_beat = -2;
      auto next_check = Clock::now() + std::chrono::seconds(5);
      while (true) {
        bool done = false;
        int64_t beat = last_beat;
        try {
          done = store_->check({key});
          if (!done && Clock::now() >= next_check) beat = monitor_->beat_of(0);
        } catch (const std::exception&) {
          // The store rank 0 serves is unreachable: rank 0 is gone (beat stays).
          next_check = Clock::now();
        }
        if (done) break;
        if (Clock::now() >= next_check) {
          if (beat == last_beat)
            throw CollectiveError(
                "waiting on rank 0 for '" + std::string(label) + "' (collective #" + std::to_string(seq) +
                ") on rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) +
                ": rank 0 is gone (its heartbeat stopped, or the store it serves is unreachable)");
          last_beat = beat;
          next_check = Clock::now() + std::chrono::seconds(5);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    barrier(label);
  }

  std::string description() const override {
    return name_ + " (rank " + std::to_string(rank_) + " of " + std::to_string(world_size_) + ")";
  }

 private:
  class Pending final : public PendingCollective {
   public:
    Pending(C10dCommunicator& owner, c10::intrusive_ptr<c10d::Work> work, torch::Tensor target,
            torch::Tensor staged, int64_t seq, std::string label)
        : owner_(owner),
          work_(std::move(work)),
          target_(std::move(target)),
          staged_(std::move(staged)),
          seq_(seq),
          label_(std::move(label)) {}
    void wait() override {
      if (!work_) return;
      owner_.guarded(seq_, label_, [&] {
        work_->wait();
        return 0;
      });
      work_.reset();
      if (!staged_.is_same(target_)) target_.copy_(staged_);
    }

   private:
    C10dCommunicator& owner_;
    c10::intrusive_ptr<c10d::Work> work_;
    torch::Tensor target_, staged_;
    int64_t seq_;
    std::string label_;
  };

  int64_t begin(std::string_view label) {
    const auto seq = ++seq_;
    if (monitor_) monitor_->entering(seq, label);
    return seq;
  }

  /// The tensor itself when the backend can use it in place, else a contiguous copy on
  /// the backend's device (NCCL: this rank's GPU).
  torch::Tensor staged_copy(const torch::Tensor& t) const {
    if (t.device() == device_ && t.is_contiguous()) return t;
    return t.to(device_, /*non_blocking=*/false, /*copy=*/true).contiguous();
  }

  template <class F>
  auto guarded(int64_t seq, std::string_view label, F&& f) -> decltype(f()) {
    const auto start = Clock::now();
    try {
      return f();
    } catch (const std::exception& e) {
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      std::ostringstream msg;
      msg << "collective #" << seq << " '" << label << "' (" << name_ << ") failed on rank " << rank_
          << " of " << world_size_ << " after " << std::fixed << std::setprecision(1) << waited
          << " s (dist.timeout_seconds = " << timeout_seconds_ << "): " << first_line(e);
      if (monitor_) msg << "; " << monitor_->diagnose(seq);
      if (rank_ == 0)
        // Rank 0 serves the rendezvous store: give the other ranks time to read the
        // heartbeats for their own diagnosis before this process exits.
        std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      throw CollectiveError(msg.str());
    }
  }

  c10::intrusive_ptr<Backend> pg_;
  c10::intrusive_ptr<c10d::Store> store_;
  int rank_;
  int world_size_;
  std::string name_;
  torch::Device device_;
  std::unique_ptr<PeerMonitor> monitor_;
  int timeout_seconds_;
  std::atomic<int64_t> seq_{0};  // the gradient reducer may start collectives from autograd's threads
};

}  // namespace

std::unique_ptr<Communicator> make_c10d_communicator(const LaunchEnvironment& launch,
                                                     const std::string& backend, int timeout_seconds) {
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds) * 1000);
  std::string chosen = backend;
  if (chosen == "auto") chosen = (FLOWGRPO_HAVE_NCCL && torch::cuda::is_available()) ? "nccl" : "gloo";
  if (chosen != "gloo" && chosen != "nccl")
    throw std::invalid_argument("unknown distributed backend '" + backend +
                                "' (expected auto, gloo, nccl or none)");
#if !FLOWGRPO_HAVE_NCCL
  if (chosen == "nccl")
    throw std::invalid_argument(
        "dist.backend = nccl but this build has no NCCL (needs CUDA LibTorch with c10d NCCL)");
#endif
  StoreAddress address;
  address.launch = launch;
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  address.agent_store = agent != nullptr && std::string(agent) == "True";
  if (address.agent_store) {
    const char* restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
    address.prefix = std::string("/worker/attempt_") + (restart != nullptr ? restart : "0");
  }
#if FLOWGRPO_HAVE_NCCL
  // Before any thread starts (setenv races getenv): a timed-out NCCL collective then
  // throws into the diagnosis below instead of the watchdog tearing the process down.
  if (chosen == "nccl") ::setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
  // One GPU per local rank, current before any communicator exists (NCCL binds lazily
  // to the current device; with Gloo it keeps stray allocations off GPU 0).
  if (torch::cuda::is_available()) c10::cuda::set_device(local_device(launch).index());
#endif
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = address.connect(!address.agent_store && launch.rank == 0, timeout);
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed launch: " + launch.describe() +
                             ": cannot reach the rendezvous store at " + address.describe() + ": " +
                             first_line(e));
  }
  auto monitor = std::make_unique<PeerMonitor>(address, launch.rank, launch.world_size);
  if (chosen == "gloo") {
    auto opts = c10d::ProcessGroupGloo::Options::create();
    opts->timeout = timeout;
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    opts->devices.push_back(ifname != nullptr ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                              : c10d::ProcessGroupGloo::createDefaultDevice());
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, launch.rank, launch.world_size, opts);
    return std::make_unique<C10dCommunicator<c10d::ProcessGroupGloo>>(pg, store, launch, "gloo", torch::kCPU,
                                                                      std::move(monitor), timeout_seconds);
  }
#if FLOWGRPO_HAVE_NCCL
  const auto device = local_device(launch);
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  opts->timeout = timeout;
  auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, launch.rank, launch.world_size, opts);
  return std::make_unique<C10dCommunicator<c10d::ProcessGroupNCCL>>(pg, store, launch, "nccl", device,
                                                                    std::move(monitor), timeout_seconds);
#else
  throw std::logic_error("unreachable");
#endif
}

}  // namespace flowgrpo::dist

#endif  // FLOWGRPO_WITH_DISTRIBUTED
