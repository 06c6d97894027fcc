# LibTorch 2.x wheels ship their own {fmt} headers (fmt 12 in torch 2.13) in
# TORCH_INCLUDE_DIRS, which the compiler searches before /usr/include. spdlog is
# Debian's compiled library, built against Debian's fmt 9: with torch's headers
# first, <spdlog/spdlog.h> sees fmt 12 and does not compile (fmt::basic_runtime is
# gone), and if it did, it would not link against libfmt.so.9. LibTorch itself uses
# fmt only inside its libraries and a few private headers (profiler, c10d trace),
# so the fix is to put the fmt that spdlog was built with first on the include path:
# a directory holding only a link to it, searched before LibTorch's headers.
find_package(fmt REQUIRED)
set(_flowgrpo_torch_fmt "")
foreach(dir ${TORCH_INCLUDE_DIRS})
  if(EXISTS "${dir}/fmt/core.h")
    set(_flowgrpo_torch_fmt "${dir}/fmt")
  endif()
endforeach()
if(_flowgrpo_torch_fmt)
  get_target_property(_flowgrpo_fmt_includes fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
  set(_flowgrpo_system_fmt "")
  foreach(dir ${_flowgrpo_fmt_includes})
    if(EXISTS "${dir}/fmt/core.h")
      set(_flowgrpo_system_fmt "${dir}/fmt")
      break()
    endif()
  endforeach()
  if(NOT _flowgrpo_system_fmt)
    message(FATAL_ERROR "flowgrpo: LibTorch ships {fmt} headers (${_flowgrpo_torch_fmt}) that would shadow the fmt "
                        "spdlog was built with, and the system fmt's headers were not found (fmt::fmt includes: "
                        "${_flowgrpo_fmt_includes})")
  endif()
  set(FLOWGRPO_FMT_SHIM_DIR "${CMAKE_BINARY_DIR}/fmt_shim")
  file(MAKE_DIRECTORY "${FLOWGRPO_FMT_SHIM_DIR}")
  file(CREATE_LINK "${_flowgrpo_system_fmt}" "${FLOWGRPO_FMT_SHIM_DIR}/fmt" SYMBOLIC)
  include_directories(BEFORE SYSTEM "${FLOWGRPO_FMT_SHIM_DIR}")
  message(STATUS "flowgrpo: fmt ${fmt_VERSION} (${_flowgrpo_system_fmt}) ahead of LibTorch's bundled fmt")
endif()
