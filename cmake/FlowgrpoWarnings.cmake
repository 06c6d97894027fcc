function(flowgrpo_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
    if(CMAKE_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # In a unity batch every source is an included file, and GCC then reports each
      # class with a member or base from an anonymous namespace (which is fine within
      # one source); the per-file build keeps the warning.
      target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
    endif()
    if(FLOWGRPO_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()
