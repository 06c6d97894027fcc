# What the LibTorch build at hand provides. Everything CUDA- or c10d-specific is
# switched on from here, never assumed.
#
# FLOWGRPO_TORCH_HAS_CUDA   LibTorch was built with CUDA (torch_cuda exists).
# FLOWGRPO_TORCH_HAS_C10D   c10d's ProcessGroupGloo can be compiled: LibTorch ships the
#                           c10d headers and Gloo's own headers are found. PyTorch wheels
#                           ship c10d's headers but not Gloo's (Gloo is linked statically
#                           into libtorch_cpu); Debian's libgloo-dev provides them.
# FLOWGRPO_GLOO_INCLUDE_DIR where <gloo/config.h> lives.
# FLOWGRPO_NCCL_INCLUDE_DIR where <nccl.h> lives (CUDA builds; the wheel's nvidia-nccl
#                           package, so the header matches the NCCL torch was built with).
set(FLOWGRPO_TORCH_HAS_CUDA OFF)
if(TARGET torch_cuda OR CAFFE2_USE_CUDA OR TORCH_CUDA_LIBRARIES)
  set(FLOWGRPO_TORCH_HAS_CUDA ON)
endif()

set(_flowgrpo_torch_c10d OFF)
foreach(dir ${TORCH_INCLUDE_DIRS})
  if(EXISTS "${dir}/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp")
    set(_flowgrpo_torch_c10d ON)
  endif()
endforeach()
find_path(FLOWGRPO_GLOO_INCLUDE_DIR gloo/config.h HINTS ${TORCH_INCLUDE_DIRS})
set(FLOWGRPO_TORCH_HAS_C10D OFF)
if(_flowgrpo_torch_c10d AND FLOWGRPO_GLOO_INCLUDE_DIR)
  set(FLOWGRPO_TORCH_HAS_C10D ON)
elseif(_flowgrpo_torch_c10d)
  message(STATUS "flowgrpo: LibTorch has c10d but Gloo's headers were not found (Debian: libgloo-dev); "
                 "building the single-process communicator only")
endif()

if(FLOWGRPO_TORCH_HAS_CUDA)
  # A CUDA wheel keeps nccl.h in site-packages/nvidia/nccl/include and the CUDA
  # library headers (cuBLAS, cuSPARSE, ... which LibTorch's CUDA headers include) in
  # site-packages/nvidia/cu13/include; a minimal toolkit (nvcc + cudart) lacks the
  # latter, so they are added when the toolkit does not have them.
  get_filename_component(_flowgrpo_site "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
  find_path(FLOWGRPO_NCCL_INCLUDE_DIR nccl.h
    HINTS "${_flowgrpo_site}/nvidia/nccl/include" "${_flowgrpo_site}/nvidia/cu13/include" ${CUDAToolkit_INCLUDE_DIRS})
  find_path(FLOWGRPO_CUSPARSE_INCLUDE_DIR cusparse.h
    HINTS ${CUDA_INCLUDE_DIRS} ${CUDAToolkit_INCLUDE_DIRS} "${_flowgrpo_site}/nvidia/cu13/include"
          "${_flowgrpo_site}/nvidia/cusparse/include")
  if(FLOWGRPO_CUSPARSE_INCLUDE_DIR)
    include_directories(SYSTEM "${FLOWGRPO_CUSPARSE_INCLUDE_DIR}")
  endif()
  find_path(FLOWGRPO_CUDNN_INCLUDE_DIR cudnn.h
    HINTS ${CUDA_INCLUDE_DIRS} "${_flowgrpo_site}/nvidia/cudnn/include")
  if(FLOWGRPO_CUDNN_INCLUDE_DIR)
    include_directories(SYSTEM "${FLOWGRPO_CUDNN_INCLUDE_DIR}")
  endif()
endif()
