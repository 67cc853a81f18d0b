# bench/trace_bench: traced against untraced replay, for bench/trace.sh.
if(NOT XENTT_FUZZ)
  add_executable(trace_bench ${CMAKE_CURRENT_LIST_DIR}/trace_bench.cc)
  target_link_libraries(trace_bench PRIVATE xentt_session xentt_engines xentt_tracefmt xentt_warnings)
  set_target_properties(trace_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
endif()
