# SPDX-License-Identifier: Apache-2.0
# Corpus replay for CI: fuzz_<x>_replay is the fuzz target linked with
# replay_main.c instead of libFuzzer, so it builds with any compiler in the
# normal build.  ctest fuzz_regression_<x> (label "fuzz") replays
# tests/fuzz/corpus/<x>/: the seeds and every crash input ever fixed.  In a
# sanitizer build (-DQRDESK_SANITIZE=ON) any memory error fails the test; a
# broken property (FUZZ_CHECK) fails it in every build.
# Included from tests/CMakeLists.txt:
#   include(${PROJECT_SOURCE_DIR}/tests/fuzz/replay.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)

foreach(t IN LISTS QRDESK_FUZZ_TARGETS)
  add_executable(fuzz_${t}_replay ${CMAKE_CURRENT_LIST_DIR}/fuzz_${t}.c
                 ${CMAKE_CURRENT_LIST_DIR}/replay_main.c)
  target_include_directories(fuzz_${t}_replay PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(fuzz_${t}_replay PRIVATE ${QRDESK_FUZZ_DEPS_${t}} qrdesk_internal)
  add_test(NAME fuzz_regression_${t}
           COMMAND fuzz_${t}_replay ${CMAKE_CURRENT_LIST_DIR}/corpus/${t})
  set_tests_properties(fuzz_regression_${t} PROPERTIES LABELS fuzz TIMEOUT 300)
endforeach()

# The public vectors (../shared/vectors, read in place, never copied in) as
# seeds for the targets that parse their formats: made at test time, replayed.
add_test(NAME fuzz_regression_vectors
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/vector-seeds.sh ${QRDESK_VECTORS_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/fuzz-vector-seeds $<TARGET_FILE_DIR:fuzz_base45_replay>)
set_tests_properties(fuzz_regression_vectors PROPERTIES LABELS fuzz TIMEOUT 300)
