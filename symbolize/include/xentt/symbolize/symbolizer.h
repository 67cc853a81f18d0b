// xentt/symbolize/symbolizer.h: guest addresses -> symbol files -> symbol+offset,
// file:line, inline frames.
//
// A guest address space is covered by symbol maps (user space, kernel,
// hypervisor...), each a symbol file for an address range with an optional
// printed prefix and a load bias. Maps come from the command line
// (--symmap, -e) or a state directory's `symfiles` list, never from code.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xentt/symbolize/debug_file.h"
#include "xentt/symbolize/symbol_file.h"

namespace xentt::sym {

// FILE[@lo-hi[+bias]][{SECTION=ADDR,...}][:prefix]: addresses in [lo, hi)
// (hex, `0x` optional; hi = ffffffffffffffff includes the last address) are
// looked up in FILE at (address - bias). The braces give the load address
// (hex) of each section of a relocatable FILE (a kernel module's .ko:
// "virtio_net.ko@ffffffffc0200000-ffffffffc020c000{.text=ffffffffc0200000,
// .data=ffffffffc0208000}:virtio_net"); section names are made of
// letters, digits and "._-$" (valid_section_name()). The prefix is printed
// before symbol names; a ':' is appended when it does not end with one
// ("Xen" prints "Xen:").
struct SymbolMapSpec {
  std::string path;
  std::uint64_t lo = 0;
  std::uint64_t hi = ~0ull;
  std::uint64_t bias = 0;
  SectionAddresses sections;  // a relocatable file's section load addresses; empty: none given
  std::string prefix;

  bool contains(std::uint64_t a) const noexcept { return a >= lo && (a < hi || hi == ~0ull); }
};

// Parses the --symmap syntax above. Relative paths are made relative to
// `base_dir` when it is not empty. Throws bad_input naming `where` (e.g.
// "--symmap" or "DIR/symfiles:3") on a malformed spec.
SymbolMapSpec parse_symmap(std::string_view spec, const std::string& base_dir = {},
                           const std::string& where = "--symmap");

// The spec parse_symmap() reads back as `m` (a symbol-map list's line).
// Throws bad_input for a section name that the syntax cannot carry.
std::string format_symmap(const SymbolMapSpec& m);

// Whether `name` can be a section name in a symbol map: not empty, letters,
// digits and "._-$" only (every section name of a Linux module).
bool valid_section_name(std::string_view name) noexcept;

// Reads a list of symbol maps (a state directory's `symfiles`): one spec
// per line, '#' comments and blank lines ignored, relative paths relative to
// the list's directory. `what` says what the list is in the error when it
// cannot be read. Throws bad_input naming the file and line of a bad spec.
std::vector<SymbolMapSpec> read_symbol_map_list(const std::string& path, const std::string& what = "the symbol-map list");

// How a Symbolizer loads its files and names what it finds.
struct SymbolizerOptions {
  // Symbol and function names printed demangled (C++, Rust), as c++filt
  // prints them; off: as the symbol table and DWARF spell them.
  bool demangle = true;
  // Read the DWARF of each file at load (LoadOptions::dwarf): off for
  // callers that never ask for lines or inline frames (symbol+offset only);
  // a lookup with lines then answers from the symbol table alone.
  bool dwarf = true;
  // Where separate debug files and dwz supplementary files are looked for
  // (default: $XENTT_DEBUG_FILE_DIRECTORY or /usr/lib/debug, then
  // $DEBUGINFOD_URLS when set).
  DebugFileOptions debug;
};

// Loads each symbol file once and remembers failures, so that a missing or
// broken file is reported once (through `warn`), not once per address; the
// same for debug files (one search per file: found, refused or missing is
// said once).
class SymbolFileCache {
 public:
  using Warn = std::function<void(const std::string&)>;
  explicit SymbolFileCache(Warn warn, SymbolizerOptions opt = {});
  // nullptr when the file could not be loaded (already reported).
  // `sections`: a relocatable file's section addresses (SymbolMapSpec):
  // files are kept by path and sections, since a module's file loaded at
  // other addresses is another symbol table.
  SymbolFile* get(const std::string& path, const SectionAddresses& sections = {});
  // Like get() but throws the load error instead of reporting it.
  SymbolFile* get_or_throw(const std::string& path, const SectionAddresses& sections = {});

 private:
  Warn warn_;
  DebugFileFinder finder_;
  LoadOptions load_;
  std::map<std::string, std::unique_ptr<SymbolFile>> files_;  // by key(): path, then sections
  std::map<std::string, std::string> failed_;
};

// What an address resolves to. Reused across lookups to avoid allocation.
struct Resolved {
  std::uint64_t address = 0;
  bool mapped = false;       // some symbol map covers the address (and loaded)
  std::string_view prefix;   // the map's prefix
  std::string_view symbol;   // empty: no symbol contains the address
  std::uint64_t offset = 0;  // address - symbol start
  std::vector<Frame> frames; // innermost first (only when lines/inlines asked)
};

struct LookupOptions {
  bool lines = false;    // file:line of the innermost frame
  bool inlines = false;  // every inline frame
};

// Recent results of one thread's lookups. Branch traces revisit the same
// addresses (loops, hot functions): a direct-mapped table of 64k results
// turns a repeat into one copy. Entries are valid for one LookupOptions
// combination; the first lookup allocates the table (~6 MB).
class ResolveCache {
 private:
  friend class Symbolizer;
  struct Entry {
    std::uint64_t addr = ~0ull;
    bool valid = false;
    Resolved r;
  };
  std::vector<Entry> entries_;
  int opt_ = -1;
  std::size_t last_map_ = 0;  // the last segment (Symbolizer::segs_): traces stay in one for long runs
};

class Symbolizer {
 public:
  using Warn = SymbolFileCache::Warn;
  // Loads every map's file now (so load errors appear before any output).
  // Maps are tried in order; the first containing an address wins. A file
  // that fails to load is reported once through `warn` and its range then
  // prints raw addresses; with `strict`, the load error is thrown instead
  // (for files the user named on the command line).
  // `opt`: demangling and where debug files are found.
  Symbolizer(std::vector<SymbolMapSpec> maps, Warn warn, bool strict = false, SymbolizerOptions opt = {});
  // The same over files loaded through `files` (kept alive by this
  // Symbolizer): symbolizers of several address spaces of one guest (the
  // kernel and each process) share what they have loaded.
  Symbolizer(std::vector<SymbolMapSpec> maps, std::shared_ptr<SymbolFileCache> files, Warn warn, bool strict = false);

  // Fills `out` for `addr`. Never throws for a bad address: an address
  // outside every map comes back unmapped (and is reported once through
  // warn). Cost: O(log n) for symbols; plus, when lines/inlines are asked,
  // a CU parse on first touch and a function body's on first touch.
  void resolve(std::uint64_t addr, const LookupOptions& opt, Resolved& out);

  // resolve() for batches on several threads, each with its own `cache`:
  // reads only, parses nothing, so call prefetch() for the batch first
  // (with the same options); an address whose DWARF unit is not parsed
  // gets the symbol table's answer without file:line (and one whose
  // function body is not, no inline frames). Any number of
  // threads may call it at once while no resolve() or prefetch() runs.
  void resolve_parsed(std::uint64_t addr, const LookupOptions& opt, Resolved& out, ResolveCache& cache) const;
  // The same without a cache, for callers that look each address up once
  // (AddressLines keeps results itself): a symbol search, plus with lines
  // a unit search, a line-row search and a scope search.
  void resolve_parsed(std::uint64_t addr, const LookupOptions& opt, Resolved& out) const;

  // Prepares a batch: parses ahead, on up to `threads` threads, the DWARF
  // units and function bodies that resolve() will need for `addrs` with
  // `opt` (nothing to do without lines/inlines). Optional; for batch tools
  // on multi-core hosts.
  void prefetch(std::span<const std::uint64_t> addrs, const LookupOptions& opt, unsigned threads);

  // Name -> guest address range, searched in map order; the name may carry
  // a map's prefix ("Xen:do_domctl") to pick that map.
  std::optional<SymbolRange> find_symbol(std::string_view name);

  const std::vector<SymbolMapSpec>& maps() const noexcept { return maps_; }

 private:
  std::vector<SymbolMapSpec> maps_;
  std::vector<std::string> prefixes_;  // normalized (with ':')
  std::vector<SymbolFile*> files_;
  bool demangles_ = false;  // some file's symbol names need shown_name()
  std::shared_ptr<SymbolFileCache> files_cache_;
  Warn warn_;
  mutable std::atomic<bool> warned_unmapped_{false};
  ResolveCache cache_;  // resolve()'s
  // The address space cut where maps begin and end: each segment [lo, last]
  // has one map, the first in order containing it (so a module's map listed
  // before a whole-space kernel map cuts a hole in it). Sorted, disjoint;
  // built once (O(maps^2), a few hundred maps at most).
  struct Segment {
    std::uint64_t lo, last;
    std::size_t map;
  };
  std::vector<Segment> segs_;
  void build_segments();
  // The map of `addr` (maps_.size() if none), trying the segment `seg`
  // first (two compares: a trace's next address is nearly always there),
  // then a binary search; `seg` becomes the address's segment.
  std::size_t map_index(std::uint64_t addr, std::size_t& seg) const noexcept;
  // Looks `addr` up in the cache, else calls miss(out) and caches the result.
  template <class Miss>
  void cached(std::uint64_t addr, const LookupOptions& opt, Resolved& out, ResolveCache& cache, Miss&& miss) const;
  // Fills the symbol part of `out`; returns the map's file (nullptr: unmapped
  // or not loaded) and its index in `mi`.
  SymbolFile* locate(std::uint64_t addr, Resolved& out, std::size_t& seg, std::size_t& mi) const;
  // resolve_parsed's lookup: the symbol, then the frames from parsed units.
  void lookup_parsed(std::uint64_t addr, const LookupOptions& opt, Resolved& out, std::size_t& seg) const;
};

}  // namespace xentt::sym
