include(GoogleTest)

# flowgrpo_add_test_area(<area> [DEPS flowgrpo_x ...])
#   One GoogleTest executable per source area: tests/<area>/*_test.cpp -> test_<area>,
#   linked to flowgrpo_<area> and DEPS (other areas the tests need, e.g. io for fixtures),
#   every TEST registered with ctest individually and labelled with the area.
#   Files named *_slow_test.cpp build a second executable, test_<area>_slow,
#   labelled `slow`, so `ctest -LE slow` runs the quick suite. Files named
#   *_reference_test.cpp build test_<area>_reference, labelled `reference`: tests
#   whose oracle is the live Python reference stack (scripts/setup.sh --with-reference).
function(flowgrpo_add_test_area area)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  set(libs ${ARG_DEPS})
  if(TARGET flowgrpo_${area})
    list(APPEND libs flowgrpo_${area})
  endif()
  file(GLOB all_sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${area}/*_test.cpp")
  set(fast_sources "")
  set(slow_sources "")
  set(reference_sources "")
  foreach(src ${all_sources})
    if(src MATCHES "_slow_test\\.cpp$")
      list(APPEND slow_sources "${src}")
    elseif(src MATCHES "_reference_test\\.cpp$")
      list(APPEND reference_sources "${src}")
    else()
      list(APPEND fast_sources "${src}")
    endif()
  endforeach()
  if(fast_sources)
    _flowgrpo_test_executable(test_${area} "${area}" "${libs}" ${fast_sources})
  endif()
  if(slow_sources)
    # One label only: gtest_discover_tests forwards PROPERTIES into a generated
    # set_tests_properties call that splits a list ("area;slow") into separate
    # property names, which left these tests without the `slow` label.
    _flowgrpo_test_executable(test_${area}_slow "slow" "${libs}" ${slow_sources})
  endif()
  if(reference_sources)
    _flowgrpo_test_executable(test_${area}_reference "reference" "${libs}" ${reference_sources})
  endif()
endfunction()

function(_flowgrpo_test_executable target labels libs)
  add_executable(${target} ${ARGN})
  target_link_libraries(${target} PRIVATE ${libs} flowgrpo_test_support GTest::gtest GTest::gtest_main)
  flowgrpo_set_warnings(${target})
  flowgrpo_use_torch_pch(${target})
  gtest_discover_tests(${target}
    WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}"
    PROPERTIES LABELS "${labels}" ENVIRONMENT "OMP_WAIT_POLICY=passive"
    DISCOVERY_TIMEOUT 120)
endfunction()
