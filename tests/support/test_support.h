#pragma once
/// Helpers shared by every test executable: where test data lives, scratch
/// directories, tensor comparisons that report where and by how much two tensors
/// differ, and the Python reference oracles with the seed that replays a run.

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace flowgrpo::testing {

/// tests/data in the source tree (fixtures copied from ../shared/fixtures).
std::filesystem::path data_dir();
/// data_dir() / relative; fails the test (throws) if the file does not exist.
std::filesystem::path data_path(const std::string& relative);
/// The project's build directory (where the executables are).
std::filesystem::path binary_dir();

/// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// The message of the std::invalid_argument that `f()` throws; "" when it throws none.
template <class F>
std::string invalid_argument_message(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

/// Runs `f`, expects std::invalid_argument whose message contains every needle
/// (a test failure names each missing one); returns the message, "" when `f` throws none.
template <class F>
std::string expect_invalid_argument(F&& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    for (const auto& needle : needles)
      EXPECT_NE(message.find(needle), std::string::npos) << "'" << needle << "' not in: " << message;
    return message;
  }
  return "";
}

/// A float64 tensor of the given values.
inline torch::Tensor f64(const std::vector<double>& values) {
  return torch::tensor(values, torch::kDouble);
}

/// Raw little-endian tensor bytes to and from a file, for exchanging tensors with
/// Python helpers (numpy.fromfile / tofile).
void write_raw(const std::filesystem::path& path, const torch::Tensor& t);
/// Reads shape x dtype from `path`; a short file is a test failure.
torch::Tensor read_raw(const std::filesystem::path& path, torch::IntArrayRef shape, torch::ScalarType dtype);

/// The tiny-reward-model helper script (tests/data/reward_models/tiny_reward_models.py),
/// run by python(), as the start of a shell command.
std::string tiny_reward_models_helper();

/// Largest |a - b| over all elements (computed in float64); shapes must match.
double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b);

/// Passes when shapes match and |actual - expected| <= atol + rtol * |expected|
/// everywhere; otherwise reports the worst element, its index and both values.
::testing::AssertionResult all_close(const torch::Tensor& actual, const torch::Tensor& expected, double atol,
                                     double rtol = 0.0);

/// Writes `text` to `path` (creating parent directories).
void write_text_file(const std::filesystem::path& path, const std::string& text);

/// Runs a shell command, returning its exit status and capturing stdout+stderr.
struct CommandResult {
  int exit_code;
  std::string output;
};
CommandResult run_command(const std::string& command);

/// The Python interpreter of the project's environment (.venv/bin/python, made by
/// scripts/setup.sh; FLOWGRPO_PYTHON at configure time overrides it), quoted for a shell.
std::string python();

/// Whether python() can import every module in `modules` (space-separated).
bool python_has(const std::string& modules);

/// The seed of this run's randomly drawn reference cases: FLOWGRPO_REFERENCE_SEED
/// when set, to replay a run whose failure printed its seed; otherwise drawn once
/// per process, in [0, 1000000).
uint64_t reference_seed();

/// A loopback TCP port that was free a moment ago (bound to port 0, then released):
/// for a test's TCPStore, or as a port nobody listens on.
int free_loopback_port();

/// The start of a shell command running tests/reference/`script` (an oracle) with
/// python(), Python warnings off; the script's arguments follow.
std::string reference_oracle(const std::string& script);

/// Runs a per-model oracle, tests/reference/`script` SEED OUT_DIR (clip_oracle.py,
/// t5_oracle.py, vae_oracle.py: oracle_common.py's run_coverage), and returns the
/// "cases" of the OUT_DIR/cases.json it writes, each naming its folder under `out_dir`
/// in "dir". Throws std::runtime_error with the oracle's output when it fails.
nlohmann::json run_coverage_oracle(const std::string& script, uint64_t seed,
                                   const std::filesystem::path& out_dir);

/// Fails the calling test unless python() imports every module in `modules`; for
/// tests whose oracle is Python. A missing module is a broken set-up, never a skip:
/// scripts/setup.sh --with-reference installs the reference stack, and a build
/// without it excludes these tests with `ctest -LE reference`.
#define FLOWGRPO_REQUIRE_PYTHON(modules)                                                                   \
  do {                                                                                                     \
    if (!::flowgrpo::testing::python_has(modules))                                                         \
      FAIL() << ::flowgrpo::testing::python() << " cannot import " << (modules)                            \
             << " (run ./scripts/setup.sh --with-reference, or exclude these tests: ctest -LE reference)"; \
  } while (0)

}  // namespace flowgrpo::testing
