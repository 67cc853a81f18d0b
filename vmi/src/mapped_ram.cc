#include "xentt/vmi/mapped_ram.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "xentt/base/error.h"

namespace xentt::vmi {

namespace {

// The bytes of the file the ranges need (the end of the last one), after
// checking they are ascending, disjoint and do not wrap: the engine made
// them, so a bad layout is its failure (Runtime), named by the file.
std::uint64_t checked_extent(const PhysicalMemory& mem) {
  std::uint64_t extent = 0;
  const PhysicalRange* prev = nullptr;
  for (const auto& r : mem.ranges) {
    bool wraps = r.size > UINT64_MAX - r.guest || r.size > UINT64_MAX - r.file_offset;
    bool overlaps = prev && (r.guest < prev->guest + prev->size);
    if (wraps || overlaps)
      throw runtime_error(fmt::format("{}: guest RAM range {:#x}+{:#x} at file offset {:#x} {}", mem.file.string(), r.guest,
                                      r.size, r.file_offset, wraps ? "wraps around" : "starts before the one before it ends"));
    extent = std::max(extent, r.file_offset + r.size);
    prev = &r;
  }
  return extent;
}

}  // namespace

MappedRam::MappedRam(const PhysicalMemory& mem) : file_(mem.file), ranges_(mem.ranges) {
  std::uint64_t extent = checked_extent(mem);
  int fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw system_error("cannot open guest RAM file " + file_.string(), errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw system_error("cannot stat guest RAM file " + file_.string(), err);
  }
  if (static_cast<std::uint64_t>(st.st_size) < extent) {
    ::close(fd);
    throw runtime_error(fmt::format("{}: guest RAM file has {} bytes, its ranges need {} (is it the engine's RAM file?)",
                                    file_.string(), st.st_size, extent));
  }
  if (extent > 0) {
    void* p = ::mmap(nullptr, extent, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw system_error("cannot map guest RAM file " + file_.string(), err);
    }
    base_ = static_cast<const std::byte*>(p);
    length_ = extent;
  }
  ::close(fd);  // the mapping keeps the file
}

MappedRam::~MappedRam() {
  if (base_) ::munmap(const_cast<std::byte*>(base_), length_);
}

void MappedRam::read(std::uint64_t addr, std::span<std::byte> out) const {
  std::uint64_t at = addr;
  std::size_t done = 0;
  while (done < out.size()) {
    const PhysicalRange* r = nullptr;
    for (const auto& c : ranges_)
      if (at >= c.guest && at - c.guest < c.size) r = &c;
    if (!r)
      throw bad_input(fmt::format("guest-physical address {:#x}: outside the guest's RAM (reading {} bytes at {:#x})", at,
                                  out.size(), addr));
    std::uint64_t off = at - r->guest;
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size() - done, r->size - off));
    std::memcpy(out.data() + done, base_ + r->file_offset + off, n);
    done += n;
    at += n;  // cannot wrap: checked_extent refused ranges that end past 2^64
  }
}

}  // namespace xentt::vmi
