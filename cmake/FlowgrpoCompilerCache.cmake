# Use ccache when it is installed; rebuilds of LibTorch-heavy translation units
# are the slowest part of the edit-compile loop.
find_program(FLOWGRPO_CCACHE ccache)
if(FLOWGRPO_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${FLOWGRPO_CCACHE}")
  message(STATUS "flowgrpo: using ccache (${FLOWGRPO_CCACHE})")
endif()
