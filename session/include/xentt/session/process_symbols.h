// xentt/session/process_symbols.h: symbol maps for a guest process's code,
// from host-side files matched to what the guest mapped by build-id.
//
// The guest names its files by its own paths ("/lib/libc.so.6"); the
// host holds them under a sysroot (the tree the guest's disk or initramfs
// was made from), or their debug files by build-id (/usr/lib/debug/
// .build-id, debuginfod: Debian's libc6-dbg, the kernel's vdso64.so).
// A file is used only when its build-id is the one read from guest memory.
#pragma once

#include <elf.h>

#include <map>
#include <string>
#include <vector>

#include "xentt/symbolize/debug_file.h"
#include "xentt/symbolize/symbolizer.h"
#include "xentt/vmi/inspector.h"
#include "xentt/vmi/linux_vmas.h"
#include "xentt/vmi/process_images.h"

namespace xentt {

class ProcessSymbols {
 public:
  using Warn = std::function<void(const std::string&)>;
  // `sysroots`: host directories holding the guest's files (SYSROOT + the
  // guest's path), tried in order; "/" is tried last, so a guest running
  // the host's own files needs none. `debug`: where debug files are found
  // by build-id. Each problem goes through `warn` once.
  ProcessSymbols(std::vector<std::string> sysroots, sym::DebugFileOptions debug, Warn warn);
  ~ProcessSymbols();

  // One map per executable mapping of each image whose host file was
  // found, with the bias that puts the file's addresses where the guest
  // mapped them (from the file's program headers). An image without a
  // match is reported once (its guest path, build-id and where we looked)
  // and gets no map. Cost: per new (path, build-id) a few stat()s and
  // build-id reads, per new host file two pread()s; then table lookups.
  std::vector<sym::SymbolMapSpec> maps(const std::vector<vmi::ProcessImage>& images);

  // The host file for an image (empty: none), remembered.
  std::string host_file(const vmi::ProcessImage& image);

 private:
  std::vector<std::string> sysroots_;
  sym::DebugFileFinder finder_;
  Warn warn_;
  std::map<std::pair<std::string, std::string>, std::string> found_;  // (guest path, build-id) -> host file
  std::map<std::string, std::vector<Elf64_Phdr>> segments_;          // host file -> its PT_LOAD headers
};

// The process current on vCPU 0 at an Inspector's instant, and its code.
struct GuestProcess {
  std::int64_t pid = -1;  // its tgid (what ps calls its pid)
  std::string comm;
  std::vector<vmi::LinuxVma> vmas;
  std::vector<sym::SymbolMapSpec> maps;  // its code's maps (processes.maps() of its images)
};

// Reads it: current_task(), its mm's VMAs, the build-ids of its mapped
// files from guest memory (the instant must be one where it is current, so
// that its user memory is what vCPU 0's page tables map). Throws BadInput
// for a kernel thread (no mm), a kernel that is not Linux's, and what
// linux_vmas() throws for a garbage VMA tree. Cost: the walks (a few
// hundred small reads) and the host-file matching.
GuestProcess current_process(vmi::Inspector& insp, ProcessSymbols& processes);

}  // namespace xentt
