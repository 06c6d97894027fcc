# Use ccache when it is installed; rebuilds of LibTorch-heavy translation units
# are the slowest part of the edit-compile loop. The sloppiness settings let
# ccache cache translation units that use the precompiled LibTorch header.
find_program(FLOWGRPO_CCACHE ccache)
if(FLOWGRPO_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER
      "${CMAKE_COMMAND};-E;env;CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime;${FLOWGRPO_CCACHE}")
  message(STATUS "flowgrpo: using ccache (${FLOWGRPO_CCACHE})")
endif()

# Parsing <torch/torch.h> costs ~18 s of a ~34 s translation unit here (measured on
# src/sampling/rollout.cpp: 33.8 s without, 15.3 s with the precompiled header).
# One target precompiles it and every other target reuses that PCH, so a clean
# build pays for it once. GCC ignores a PCH whose flags do not fit (-Winvalid-pch
# says so), so a mismatch costs speed, never correctness.
option(FLOWGRPO_USE_PCH "Precompile <torch/torch.h> once and reuse it in every target" ON)
function(flowgrpo_add_pch_target)
  if(FLOWGRPO_USE_PCH)
    if(NOT EXISTS "${CMAKE_BINARY_DIR}/flowgrpo_pch.cpp")  # rewriting it would trigger a rebuild
      file(WRITE "${CMAKE_BINARY_DIR}/flowgrpo_pch.cpp" "// holds the shared precompiled header\n")
    endif()
    add_library(flowgrpo_pch STATIC "${CMAKE_BINARY_DIR}/flowgrpo_pch.cpp")
    target_link_libraries(flowgrpo_pch PRIVATE ${TORCH_LIBRARIES})
    target_compile_definitions(flowgrpo_pch PRIVATE
      FLOWGRPO_WITH_CUDA=$<BOOL:${FLOWGRPO_WITH_CUDA}>
      FLOWGRPO_WITH_DISTRIBUTED=$<BOOL:${FLOWGRPO_WITH_DISTRIBUTED}>
      FLOWGRPO_VERSION="${PROJECT_VERSION}")
    flowgrpo_set_warnings(flowgrpo_pch)
    target_precompile_headers(flowgrpo_pch PRIVATE <torch/torch.h>)
  endif()
endfunction()
function(flowgrpo_use_torch_pch target)
  if(FLOWGRPO_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM flowgrpo_pch)
  endif()
endfunction()
