#pragma once
/// Helpers shared by every test executable: where test data lives, scratch
/// directories, and tensor comparisons that report where and by how much two
/// tensors differ.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>
#include <string>

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

}  // namespace flowgrpo::testing
