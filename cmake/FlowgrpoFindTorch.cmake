# Locates LibTorch and checks its version.
#
# Order of precedence:
#   1. whatever the user points CMake at: -DTorch_DIR=..., -DCMAKE_PREFIX_PATH=...
#      (an unzipped LibTorch download, another virtual environment, a CUDA wheel);
#   2. the project-local virtual environment that scripts/setup.sh creates
#      (.venv/, torch==2.13.0), asked for torch.utils.cmake_prefix_path;
#   3. any python3 on PATH that has torch installed.
# so that a plain `cmake -S . -B build` works after setup.
set(FLOWGRPO_TORCH_MIN_VERSION 2.4)
set(FLOWGRPO_PYTHON "" CACHE FILEPATH "Python whose torch package provides LibTorch (default: .venv/bin/python, then python3)")

function(_flowgrpo_torch_prefix_from_python python out_var)
  execute_process(
    COMMAND "${python}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE prefix ERROR_QUIET RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc EQUAL 0 AND EXISTS "${prefix}/Torch/TorchConfig.cmake")
    set(${out_var} "${prefix}" PARENT_SCOPE)
  else()
    set(${out_var} "" PARENT_SCOPE)
  endif()
endfunction()

if(NOT Torch_DIR OR NOT EXISTS "${Torch_DIR}/TorchConfig.cmake")
  find_package(Torch CONFIG QUIET)  # honours CMAKE_PREFIX_PATH / Torch_ROOT
  if(NOT Torch_FOUND)
    set(candidates "")
    if(FLOWGRPO_PYTHON)
      list(APPEND candidates "${FLOWGRPO_PYTHON}")
    endif()
    list(APPEND candidates "${PROJECT_SOURCE_DIR}/.venv/bin/python")
    find_program(_flowgrpo_python3 python3)
    if(_flowgrpo_python3)
      list(APPEND candidates "${_flowgrpo_python3}")
    endif()
    foreach(python ${candidates})
      if(EXISTS "${python}")
        _flowgrpo_torch_prefix_from_python("${python}" prefix)
        if(prefix)
          message(STATUS "flowgrpo: LibTorch from ${python} (torch.utils.cmake_prefix_path)")
          list(APPEND CMAKE_PREFIX_PATH "${prefix}")
          break()
        endif()
      endif()
    endforeach()
  endif()
endif()

find_package(Torch CONFIG)
if(NOT Torch_FOUND)
  message(FATAL_ERROR
    "flowgrpo: LibTorch >= ${FLOWGRPO_TORCH_MIN_VERSION} not found. Run ./scripts/setup.sh (it creates .venv/ with "
    "torch==2.13.0), or point CMake at a LibTorch: -DCMAKE_PREFIX_PATH=/path/to/libtorch or "
    "-DCMAKE_PREFIX_PATH=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')")
endif()
if(Torch_VERSION VERSION_LESS FLOWGRPO_TORCH_MIN_VERSION)
  message(FATAL_ERROR
    "flowgrpo needs LibTorch >= ${FLOWGRPO_TORCH_MIN_VERSION}; found ${Torch_VERSION} at ${TORCH_INSTALL_PREFIX}. "
    "Run ./scripts/setup.sh for the project's LibTorch 2.13, or point -DCMAKE_PREFIX_PATH at a newer LibTorch.")
endif()
message(STATUS "flowgrpo: LibTorch ${Torch_VERSION} (${TORCH_INSTALL_PREFIX})")
