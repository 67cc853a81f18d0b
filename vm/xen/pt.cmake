# Engine xen's branch tracing: vmtrace (Intel PT on HVM/PVH vCPUs) driven
# through libxenctrl and libxenforeignmemory, its packets decoded with
# libipt into .bts records (docs/xen.md). A library of its own so that it can
# be tested, and used, without the rest of the engine; the engine links it.
#
# libipt ships no pkg-config file (Debian's libipt-dev): found by header and
# library. The Xen libraries do (libxen-dev).
find_path(IPT_INCLUDE_DIR intel-pt.h REQUIRED)
find_library(IPT_LIBRARY ipt REQUIRED)
pkg_check_modules(XEN_PT REQUIRED IMPORTED_TARGET xencontrol xenforeignmemory)

xentt_add_library(xentt_xen_pt OUTPUT_NAME xentt-xen-pt SOURCES
  pt_decoder.cc
  pt_bts.cc
  vmtrace.cc
)
# Xen's public headers (xenctrl.h and what it includes) are GNU C: anonymous
# structs, __attribute__ only outside strict ANSI mode. -std=gnu++20 for this
# library; only vmtrace.cc includes them.
set_target_properties(xentt_xen_pt PROPERTIES CXX_EXTENSIONS ON)
# Private headers are named by their path from the top ("vm/xen/...").
target_include_directories(xentt_xen_pt PRIVATE ${PROJECT_SOURCE_DIR} ${IPT_INCLUDE_DIR})
target_link_libraries(xentt_xen_pt PUBLIC xentt_tracefmt xentt_base
                      PRIVATE ${IPT_LIBRARY} PkgConfig::XEN_PT fmt::fmt)
