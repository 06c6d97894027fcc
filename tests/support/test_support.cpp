#include "support/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace fs = std::filesystem;

namespace flowgrpo::testing {

fs::path data_dir() {
  return fs::path(FLOWGRPO_TEST_DATA_DIR);
}

fs::path data_path(const std::string& relative) {
  fs::path p = data_dir() / relative;
  if (!fs::exists(p)) throw std::runtime_error("test data file missing: " + p.string());
  return p;
}

fs::path binary_dir() {
  return fs::path(FLOWGRPO_BINARY_DIR);
}

TempDir::TempDir() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate = fs::temp_directory_path() / ("flowgrpo-test-" + std::to_string(gen()));
    if (fs::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("could not create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  TORCH_CHECK(a.sizes() == b.sizes(), "max_abs_diff: shapes differ: ", a.sizes(), " vs ", b.sizes());
  if (a.numel() == 0) return 0.0;
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

::testing::AssertionResult all_close(const torch::Tensor& actual, const torch::Tensor& expected, double atol,
                                     double rtol) {
  if (actual.sizes() != expected.sizes()) {
    std::ostringstream os;
    os << "shape mismatch: actual " << actual.sizes() << ", expected " << expected.sizes();
    return ::testing::AssertionFailure() << os.str();
  }
  if (actual.numel() == 0) return ::testing::AssertionSuccess();
  auto a = actual.to(torch::kDouble).flatten();
  auto e = expected.to(torch::kDouble).flatten();
  auto err = (a - e).abs();
  auto bound = atol + rtol * e.abs();
  auto excess = err - bound;
  // NaN anywhere (in either) counts as a failure unless both are NaN at the same place.
  auto both_nan = a.isnan() & e.isnan();
  excess = torch::where(both_nan, torch::zeros_like(excess), excess);
  excess = torch::where(excess.isnan(), torch::full_like(excess, INFINITY), excess);
  const int64_t worst = excess.argmax().item<int64_t>();
  if (excess[worst].item<double>() <= 0.0) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(9);
  const int64_t bad = (excess > 0).sum().item<int64_t>();
  os << bad << " of " << a.numel() << " elements out of tolerance (atol " << atol << ", rtol " << rtol
     << "); worst at flat index " << worst << ": actual " << a[worst].item<double>() << ", expected "
     << e[worst].item<double>() << ", |diff| " << err[worst].item<double>() << "; max |diff| overall "
     << err.nan_to_num(INFINITY).max().item<double>();
  return ::testing::AssertionFailure() << os.str();
}

void write_text_file(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("could not write " + path.string());
}

CommandResult run_command(const std::string& command) {
  std::string full = command + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed for: " + command);
  std::string output;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
  int status = pclose(pipe);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return {code, output};
}

void write_raw(const std::filesystem::path& path, const torch::Tensor& t) {
  const auto c = t.contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

torch::Tensor read_raw(const std::filesystem::path& path, torch::IntArrayRef shape, torch::ScalarType dtype) {
  auto t = torch::empty(shape, dtype);
  std::ifstream in(path, std::ios::binary);
  in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(t.nbytes()));
  EXPECT_EQ(static_cast<size_t>(in.gcount()), t.nbytes()) << path;
  return t;
}

std::string tiny_reward_models_helper() {
  return python() + " " + data_path("reward_models/tiny_reward_models.py").string();
}

std::string python() {
  return std::string("'") + FLOWGRPO_TEST_PYTHON + "'";
}

bool python_has(const std::string& modules) {
  std::string imports;
  std::istringstream words(modules);
  for (std::string m; words >> m;) imports += "import " + m + "; ";
  return run_command(python() + " -c '" + imports + "'").exit_code == 0;
}

uint64_t reference_seed() {
  static const uint64_t seed = [] {
    if (const char* s = std::getenv("FLOWGRPO_REFERENCE_SEED")) return static_cast<uint64_t>(std::stoull(s));
    return static_cast<uint64_t>(std::random_device{}() % 1000000);
  }();
  return seed;
}

std::string reference_oracle(const std::string& script) {
  return python() + " -W ignore " + (fs::path(FLOWGRPO_SOURCE_DIR) / "tests" / "reference" / script).string();
}

nlohmann::json run_coverage_oracle(const std::string& script, uint64_t seed, const fs::path& out_dir) {
  const auto r = run_command(reference_oracle(script) + " " + std::to_string(seed) + " " + out_dir.string());
  if (r.exit_code != 0)
    throw std::runtime_error(script + " exited with status " + std::to_string(r.exit_code) + ":\n" +
                             r.output);
  std::ifstream in(out_dir / "cases.json");
  return nlohmann::json::parse(in).at("cases");
}

int free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace flowgrpo::testing
