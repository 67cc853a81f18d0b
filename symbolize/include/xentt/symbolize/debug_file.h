// xentt/symbolize/debug_file.h: finding an ELF file's separate debug file the
// way distributions ship them, and dwz's supplementary ("alt") files.
//
// Distributions strip their binaries and ship the DWARF apart (Debian's
// -dbg/-dbgsym packages, Fedora's -debuginfo): the stripped file keeps a
// build-id note and usually a .gnu_debuglink (file name + CRC-32); the
// debug file lives under a debug-file directory (/usr/lib/debug), by
// build-id (.build-id/xx/rest.debug) or beside the file's own path; dwz
// moves what many debug files share into one supplementary file named by
// .gnu_debugaltlink (or DWARF 5's .debug_sup). debuginfod servers
// ($DEBUGINFOD_URLS) serve both by build-id.
//
// The policy (where to look) is a DebugFileFinder that SymbolFile::open is
// handed, as libdwfl is handed its find_debuginfo callback. A finder
// remembers what it reported, so each problem is said once, and a
// debuginfod server that failed (down, slow past $DEBUGINFOD_TIMEOUT) is not
// asked again in the same run. Not thread-safe: files are loaded on one
// thread (SymbolFileCache).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace xentt::sym {

struct DebugFileOptions {
  // Debug-file directories, searched in order (gdb's debug-file-directory):
  // DIR/.build-id/xx/rest.debug, then DIR/<the file's directory>/<debuglink>.
  // Empty: default_debug_file_dirs().
  std::vector<std::string> dirs;
  // When nothing is found on disk, ask the servers of $DEBUGINFOD_URLS
  // (through elfutils' libdebuginfod, loaded when first needed; its
  // $DEBUGINFOD_TIMEOUT, $DEBUGINFOD_CACHE_PATH... apply).
  bool debuginfod = true;
};

// $XENTT_DEBUG_FILE_DIRECTORY split at ':' when set and not empty, else
// {"/usr/lib/debug"}.
std::vector<std::string> default_debug_file_dirs();

// What an ELF file says about where its debug information is.
struct DebugLinks {
  std::string build_id;            // NT_GNU_BUILD_ID's bytes; empty: none
  std::string debuglink;           // .gnu_debuglink's file name; empty: none
  std::uint32_t debuglink_crc = 0;  // its CRC-32 of the debug file
  std::string altlink;             // .gnu_debugaltlink's (or .debug_sup's) file name; empty: none
  std::string alt_build_id;        // the supplementary file's build-id bytes (.debug_sup: its checksum)
  bool alt_is_debug_sup = false;   // altlink came from DWARF 5's .debug_sup
  std::string sup_checksum;        // this file is a .debug_sup supplementary file: its checksum
};

// The links of the ELF file at `path` (all empty: none, or not an ELF
// file). Reads the section headers, notes and link sections only.
DebugLinks read_debug_links(const std::string& path);
// Its build-id (empty: none).
inline std::string read_build_id(const std::string& path) { return read_debug_links(path).build_id; }

namespace detail {
class ModuleFileIndex;
}

class DebugFileFinder {
 public:
  using Warn = std::function<void(const std::string&)>;
  // `warn` receives each problem once (nullptr: silent).
  DebugFileFinder(DebugFileOptions opt, Warn warn);
  ~DebugFileFinder();
  DebugFileFinder(const DebugFileFinder&) = delete;
  DebugFileFinder& operator=(const DebugFileFinder&) = delete;

  const DebugFileOptions& options() const noexcept { return opt_; }

  // The separate debug file of `path` (an ELF without DWARF whose links are
  // `links`), or nullopt. Looks, in order: by build-id under each
  // directory; by .gnu_debuglink in the file's directory, its .debug/
  // subdirectory, and DIR/<the file's directory> for each directory; then
  // debuginfod by build-id. A file found by build-id must carry that
  // build-id; one found by debuglink must have the link's CRC-32 (and the
  // build-id, when both files have one). A file that does not match is
  // refused and reported (naming it, the expected and the found ids); when
  // nothing is found the report names the build-id and every place looked.
  // Costs a few stat()s, a CRC-32 of each debuglink candidate (~1 GB/s),
  // and possibly a download. With `missing`, the "nothing found" report
  // is not made but its reason ("no debug file for build-id X (looked for
  // ...)") goes there, for the caller to say (or to fail with).
  std::optional<std::string> find_debug_file(const std::string& path, const DebugLinks& links,
                                             std::string* missing = nullptr);

  // dwz's supplementary file named by `links` (of `path`, the file holding
  // the DWARF): the link's path (relative to `path`'s directory), then by
  // build-id under each directory, then debuginfod. It must carry the
  // link's build-id (for DWARF 5's .debug_sup: the link's checksum in its
  // own .debug_sup). Not found or refused: reported, nullopt.
  std::optional<std::string> find_alt_file(const std::string& path, const DebugLinks& links);

  // The host file of a Linux kernel module loaded with build-id
  // `build_id` (bytes) and called `name` ("virtio_net"; or the vDSO,
  // "vdso64"): by build-id under each directory's .build-id/ (as Fedora
  // ships modules), then among the .ko files under each DIR/lib/modules/*/
  // (Debian's -dbg packages have no .build-id/ links for modules): those
  // named after the module first, then all; then debuginfod. Only a file
  // carrying the build-id is taken. nullopt when none is found: `missing`
  // then says the build-id and every place looked, for the caller to say
  // once per module. Cost: a few stat()s and the build-ids of the files
  // named after the module; once per finder, when those do not match, the
  // build-ids of every module file (about a thousand for a distribution
  // kernel: their ELF headers and notes).
  std::optional<std::string> find_module_file(std::string_view name, const std::string& build_id,
                                              std::string& missing);

  // Reports `msg` through warn unless it was reported before.
  void warn_once(const std::string& msg);

 private:
  struct Debuginfod;
  // debuginfod's answer for a build-id: a path in its cache, or nullopt
  // (not found: `looked` says so; the server failing: reported once, and
  // no server is asked again).
  std::optional<std::string> ask_debuginfod(const std::string& build_id, std::string& looked);

  DebugFileOptions opt_;
  Warn warn_;
  std::set<std::string> said_;
  std::unique_ptr<Debuginfod> dfd_;
  std::unique_ptr<detail::ModuleFileIndex> modules_;  // made on first use
  bool dfd_failed_ = false;
};

}  // namespace xentt::sym
