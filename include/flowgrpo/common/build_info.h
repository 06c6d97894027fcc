#pragma once
/// @file build_info.h
/// What this build of flowgrpo is: its version, the LibTorch it was compiled
/// against and the optional parts it contains. Every executable prints it for
/// `--version`, and the trainer logs it at start-up.

#include <string>

namespace flowgrpo {

/// One line, e.g. "flowgrpo 0.1.0, LibTorch 2.13.0, CUDA off, distributed on (gloo)".
/// "(device available)" follows "CUDA on" when a CUDA device is visible at run time.
std::string build_info();

}  // namespace flowgrpo
