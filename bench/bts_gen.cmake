# bench/bts_gen: writes large .bts files for bench/symbolize.sh.
if(NOT XENTT_FUZZ)
  add_executable(bts_gen ${CMAKE_CURRENT_LIST_DIR}/bts_gen.cc)
  target_link_libraries(bts_gen PRIVATE xentt_tracefmt xentt_warnings)
  set_target_properties(bts_gen PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
endif()
