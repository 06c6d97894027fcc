#pragma once
/// @file error.h
/// Error conventions. The library throws:
///  - std::invalid_argument for bad user input (configs, CLI values, files a user
///    supplied, prompts), with the key / file / tensor and the expected vs found value;
///  - std::runtime_error for everything else;
///  - c10::Error from TORCH_CHECK inside tensor code.
/// Context is added while unwinding ("loading transformer: shape mismatch ...") with
/// `with_context`, which keeps the exception category.

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace flowgrpo {

/// The message of any exception, without LibTorch's C++ backtrace.
std::string exception_message(const std::exception& e);

/// Rethrows the exception currently being handled with "context: " prepended,
/// preserving std::invalid_argument vs std::runtime_error (c10::Error becomes
/// std::runtime_error carrying its backtrace-free message). Call only inside a
/// catch block.
[[noreturn]] void rethrow_with_context(const std::string& context);

/// Runs `f` and, if it throws, rethrows with `context` prepended.
template <class F>
decltype(auto) with_context(const std::string& context, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (...) {
    rethrow_with_context(context);
  }
}

}  // namespace flowgrpo
