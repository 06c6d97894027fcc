# What the LibTorch build at hand provides. Everything CUDA- or c10d-specific is
# switched on from here, never assumed.
set(FLOWGRPO_TORCH_HAS_CUDA OFF)
if(TARGET torch_cuda OR CAFFE2_USE_CUDA OR TORCH_CUDA_LIBRARIES)
  set(FLOWGRPO_TORCH_HAS_CUDA ON)
endif()

set(FLOWGRPO_TORCH_HAS_C10D OFF)
foreach(dir ${TORCH_INCLUDE_DIRS})
  if(EXISTS "${dir}/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp")
    set(FLOWGRPO_TORCH_HAS_C10D ON)
  endif()
endforeach()
