// xentt/export/code_image.h: the guest's code bytes, from the ELF files of
// the symbol maps, for decoding the instructions between branch records.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "xentt/symbolize/symbolizer.h"

namespace xentt::exports {

// A module: one symbol map's file as loaded in the guest (the extent of
// its loadable segments, moved by the map's bias and cut to its range).
struct Module {
  std::uint64_t base = 0;  // first guest address
  std::uint64_t end = 0;   // one past the last
  std::string path;        // the symbol file
  std::string prefix;      // the map's prefix ("" for none)
  bool has_code = false;   // an ELF file whose segments hold the bytes
};

// Maps each symbol map's ELF file (mmap, read-only) and answers "the bytes
// at this guest address". Maps whose file is not an ELF (System.map) give
// a module without code. Cost: opening maps the files and reads their
// program headers; lookups are a search over a handful of segments.
class CodeImage {
 public:
  CodeImage();
  ~CodeImage();
  CodeImage(const CodeImage&) = delete;
  CodeImage& operator=(const CodeImage&) = delete;

  // Throws xentt::Error (bad_input naming the file) for a file that cannot
  // be read or is a damaged ELF file; with `warn`, reports it through warn
  // instead and the map's module has no code (for maps a state directory
  // lists, as the Symbolizer does).
  static std::unique_ptr<CodeImage> from_maps(const std::vector<sym::SymbolMapSpec>& maps,
                                              const std::function<void(const std::string&)>& warn = {});
  // Adds code bytes at `addr` (not copied: they must outlive the image)
  // and a module around them; for tests.
  void add(std::uint64_t addr, std::span<const std::uint8_t> bytes, const std::string& path);

  // The bytes from `addr` to the end of its segment (empty: no code there).
  std::span<const std::uint8_t> at(std::uint64_t addr) const noexcept;
  const std::vector<Module>& modules() const noexcept { return modules_; }
  // The first module containing `addr` (with `with_code`, the first whose
  // file holds code), or -1.
  int module_of(std::uint64_t addr, bool with_code = false) const noexcept;

 private:
  struct Segment {
    std::uint64_t lo, hi;
    const std::uint8_t* bytes;
  };
  struct Mapping;
  std::vector<Segment> segments_;  // sorted by lo
  std::vector<Module> modules_;
  std::vector<std::unique_ptr<Mapping>> mappings_;
  void add_segment(Segment s);
  void add_map(const sym::SymbolMapSpec& m);
};

}  // namespace xentt::exports
