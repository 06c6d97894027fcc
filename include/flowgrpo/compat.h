#pragma once
/// @file compat.h
/// Every difference between the LibTorch 2.x releases flowgrpo builds against
/// (2.4, the floor CMake enforces, to the newest wheels) lives in this header.
/// Code elsewhere calls these wrappers and never tests TORCH_VERSION_* itself.

#include <c10/util/Exception.h>
#include <c10/util/intrusive_ptr.h>
#include <torch/csrc/autograd/function.h>
#include <torch/version.h>

#include <memory>
#include <string>

/// True when the LibTorch being compiled against is at least major.minor.
#define FLOWGRPO_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

/// c10d backends have a public `shutdown()` that flushes pending work from 2.5
/// (PR #141510's predecessor `_shutdown` was private); without it 2.4+ warns at exit
/// that the process group was not destroyed (issue #126275).
#define FLOWGRPO_C10D_HAS_SHUTDOWN FLOWGRPO_TORCH_AT_LEAST(2, 5)

/// Autograd graph nodes are held by c10::intrusive_ptr from 2.13 (Node derives from
/// intrusive_ptr_target; pytorch PR #181782), by std::shared_ptr with the
/// torch::autograd::deleteNode deleter before.
#define FLOWGRPO_AUTOGRAD_NODE_IS_INTRUSIVE FLOWGRPO_TORCH_AT_LEAST(2, 13)

namespace flowgrpo::compat {

/// A new custom autograd node of type T (derived from torch::autograd::Node), held
/// the way this LibTorch's autograd holds nodes (see above); pass it to
/// torch::autograd::create_gradient_edge.
template <class T>
auto make_autograd_node() {
#if FLOWGRPO_AUTOGRAD_NODE_IS_INTRUSIVE
  return c10::make_intrusive<T>();
#else
  return std::shared_ptr<T>(new T(), torch::autograd::deleteNode);
#endif
}

/// The message of a c10::Error without the C++ backtrace that LibTorch
/// appends; what a person should see at the command line.
inline std::string error_message(const c10::Error& e) {
  return e.what_without_backtrace();
}

}  // namespace flowgrpo::compat
