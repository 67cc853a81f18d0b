// xentt/tracefmt/bts_file.h: reading and writing .bts files (docs/bts-format.md).
//
// Reader and writer live together (one format, one place). What to do with
// the records (print, symbolize, filter) lives elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "xentt/tracefmt/bts_record.h"

namespace xentt::bts {

enum class Format {
  Raw,       // plain array of records; `format` holds hardware flags
  Extended,  // first record is kExtendedMarker; `format` holds each brctr
};

const char* format_name(Format f) noexcept;

// A whole .bts file, read-only. Regular files are mmap()ed (MAP_PRIVATE,
// MADV_SEQUENTIAL): opening costs one system call and no copy, and records()
// pages in as it is walked. Pipes and other non-seekable inputs are read
// into memory with large reads. Throws xentt::Error: bad_input for a size
// that is not a multiple of 24 (naming the offset of the trailing bytes),
// system_error for an unreadable file.
class BtsFile {
 public:
  explicit BtsFile(const std::string& path);
  // Parses an in-memory image (no copy: `bytes` must outlive the object).
  // `name` is used in error messages.
  BtsFile(std::span<const std::byte> bytes, std::string name);
  ~BtsFile();
  BtsFile(const BtsFile&) = delete;
  BtsFile& operator=(const BtsFile&) = delete;

  const std::string& path() const noexcept { return path_; }
  Format format() const noexcept { return format_; }
  // The branch records, without the extended marker.
  std::span<const Record> records() const noexcept { return records_; }
  std::size_t size() const noexcept { return records_.size(); }
  // The branch counter of record i when the file is extended.
  std::optional<std::uint64_t> brctr(std::size_t i) const noexcept {
    if (format_ != Format::Extended) return std::nullopt;
    return records_[i].format;
  }
  // Tells the kernel that records before `end` will not be read again, so
  // their pages leave memory (mapped files only; a no-op otherwise). Lets a
  // reader stream a file larger than RAM without growing its resident set.
  void release_before(std::size_t end) noexcept;
  // Byte offset of record i in the file (for error messages).
  std::uint64_t offset_of(std::size_t i) const noexcept {
    return (i + (format_ == Format::Extended ? 1 : 0)) * sizeof(Record);
  }

 private:
  void parse(std::span<const std::byte> bytes);

  std::string path_;
  Format format_ = Format::Raw;
  std::span<const Record> records_;
  void* map_ = nullptr;
  std::size_t map_len_ = 0;
  std::vector<Record> owned_;  // for inputs that cannot be mapped
};

// A streaming .bts writer. The extended marker is written at open, before
// any record, so a crash leaves a well-formed prefix rather than a file that
// looks like the other format. Records are buffered (1 MiB) and written with
// large write() calls. close() flushes and reports errors; the destructor
// closes too but swallows errors (call close() to see them).
class BtsWriter {
 public:
  BtsWriter(const std::string& path, Format format);
  // Writes to an already open descriptor (e.g. 1 for stdout); not closed.
  BtsWriter(int fd, std::string name, Format format);
  ~BtsWriter();
  BtsWriter(const BtsWriter&) = delete;
  BtsWriter& operator=(const BtsWriter&) = delete;

  // For Format::Extended, pass the record's brctr in r.format.
  void write(const Record& r) {
    if (fill_ == buf_.size()) flush();
    buf_[fill_++] = r;
  }
  void write(std::span<const Record> rs);
  void flush();
  void close();
  std::uint64_t records_written() const noexcept { return written_ + fill_; }

 private:
  void write_bytes(const void* p, std::size_t n);

  std::string name_;
  int fd_ = -1;
  bool owns_fd_ = false;
  std::vector<Record> buf_;
  std::size_t fill_ = 0;
  std::uint64_t written_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace xentt::bts
