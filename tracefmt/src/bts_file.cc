// .bts reading (mmap or large reads) and streaming writing.
#include "xentt/tracefmt/bts_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "xentt/base/error.h"
#include "xentt/base/input_file.h"

namespace xentt::bts {

const char* format_name(Format f) noexcept { return f == Format::Extended ? "extended" : "raw"; }

BtsFile::BtsFile(const std::string& path) : path_(path) {
  // Opening never waits (a FIFO without a writer opens at once); a wrong
  // or unreadable path is the user's input: exit 2, not 1.
  InputFile f = InputFile::open(path, "a .bts file");
  if (S_ISDIR(f.mode())) throw xentt::bad_input(path + ": is a directory, not a .bts file");
  if (f.regular()) {
    std::size_t len = static_cast<std::size_t>(f.size());
    if (len > 0) {
      void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, f.fd(), 0);
      if (p == MAP_FAILED) throw xentt::system_error(path + ": cannot map", errno);
      ::madvise(p, len, MADV_SEQUENTIAL);
      map_ = p;
      map_len_ = len;
    }
    f.close();
    parse({static_cast<const std::byte*>(map_), map_len_});
    return;
  }
  // A pipe or character device: read it all with large reads (a named
  // FIFO that no writer opens is refused after a few seconds).
  std::vector<std::byte> bytes;
  std::size_t got = 0;
  for (;;) {
    if (bytes.size() - got < (1u << 20)) bytes.resize(got + (4u << 20));
    std::size_t n = f.read_some(bytes.data() + got, bytes.size() - got);
    if (n == 0) break;
    got += n;
  }
  f.close();
  if (got % sizeof(Record) != 0) {
    parse({bytes.data(), got});  // throws with the offset
  }
  owned_.resize(got / sizeof(Record));
  if (got) std::memcpy(owned_.data(), bytes.data(), got);
  parse({reinterpret_cast<const std::byte*>(owned_.data()), got});
}

BtsFile::BtsFile(std::span<const std::byte> bytes, std::string name) : path_(std::move(name)) {
  parse(bytes);
}

BtsFile::~BtsFile() {
  if (map_) ::munmap(map_, map_len_);
}

void BtsFile::release_before(std::size_t end) noexcept {
  if (!map_ || end > records_.size()) return;
  auto* base = static_cast<char*>(map_);
  std::size_t upto = static_cast<std::size_t>(reinterpret_cast<const char*>(records_.data() + end) - base);
  upto &= ~static_cast<std::size_t>(4095);
  if (upto) ::madvise(map_, upto, MADV_DONTNEED);
}

void BtsFile::parse(std::span<const std::byte> bytes) {
  if (bytes.size() % sizeof(Record) != 0) {
    std::size_t whole = bytes.size() / sizeof(Record);
    throw xentt::bad_input(path_ + ": size " + std::to_string(bytes.size()) +
                           " is not a multiple of 24 (a truncated record of " +
                           std::to_string(bytes.size() % sizeof(Record)) + " bytes at offset " +
                           std::to_string(whole * sizeof(Record)) + ")");
  }
  // mmap'ed memory is page aligned and owned_ is a vector<Record>; an
  // in-memory image may be unaligned, so copy it then.
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(Record) != 0) {
    owned_.resize(bytes.size() / sizeof(Record));
    if (!bytes.empty()) std::memcpy(owned_.data(), bytes.data(), bytes.size());
    bytes = {reinterpret_cast<const std::byte*>(owned_.data()), bytes.size()};
  }
  const Record* r = reinterpret_cast<const Record*>(bytes.data());
  std::size_t n = bytes.size() / sizeof(Record);
  if (n > 0 && is_extended_marker(r[0])) {
    format_ = Format::Extended;
    records_ = {r + 1, n - 1};
  } else {
    format_ = Format::Raw;
    records_ = {r, n};
  }
}

BtsWriter::BtsWriter(const std::string& path, Format format) : name_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw xentt::system_error(path + ": cannot create", errno);
  owns_fd_ = true;
  buf_.resize((1u << 20) / sizeof(Record));
  if (format == Format::Extended) write_bytes(&kExtendedMarker, sizeof(Record));
}

BtsWriter::BtsWriter(int fd, std::string name, Format format) : name_(std::move(name)), fd_(fd) {
  buf_.resize((1u << 20) / sizeof(Record));
  if (format == Format::Extended) write_bytes(&kExtendedMarker, sizeof(Record));
}

BtsWriter::~BtsWriter() {
  try {
    close();
  } catch (...) {
  }
}

void BtsWriter::write(std::span<const Record> rs) {
  for (const Record& r : rs) write(r);
}

void BtsWriter::write_bytes(const void* p, std::size_t n) {
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = ::write(fd_, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw xentt::system_error(name_ + ": write failed at offset " + std::to_string(bytes_), errno);
    c += w;
    n -= static_cast<std::size_t>(w);
    bytes_ += static_cast<std::uint64_t>(w);
  }
}

void BtsWriter::flush() {
  if (fd_ < 0) throw xentt::runtime_error(name_ + ": write after close");
  write_bytes(buf_.data(), fill_ * sizeof(Record));
  written_ += fill_;
  fill_ = 0;
}

void BtsWriter::close() {
  if (fd_ < 0) return;
  flush();
  int fd = fd_;
  fd_ = -1;
  if (owns_fd_ && ::close(fd) != 0) throw xentt::system_error(name_ + ": close failed", errno);
}

}  // namespace xentt::bts
