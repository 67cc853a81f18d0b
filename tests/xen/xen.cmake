# Programs the Xen lab runs in dom0 (scripts/xen-lab copies them in with
# their libraries): our page walk against Xen's, and the read benchmark.
foreach(prog xen_walk_check xen_read_bench)
  add_executable(${prog} ${CMAKE_CURRENT_LIST_DIR}/${prog}.cc)
  target_link_libraries(${prog} PRIVATE xentt_xen xentt_vmi xentt_warnings fmt::fmt PkgConfig::XEN)
  target_include_directories(${prog} PRIVATE ${PROJECT_SOURCE_DIR})
  set_target_properties(${prog} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests/xen
                                           CXX_EXTENSIONS ON)
endforeach()
