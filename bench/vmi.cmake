# bench/vmi_read_bench: guest memory read bandwidth in one process, for bench/vmi.sh.
if(NOT XENTT_FUZZ)
  add_executable(vmi_read_bench ${CMAKE_CURRENT_LIST_DIR}/vmi_read_bench.cc)
  target_link_libraries(vmi_read_bench PRIVATE xentt_vmi xentt_warnings fmt::fmt)
  set_target_properties(vmi_read_bench PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bench)
endif()
