// xentt/tracefmt/trace_log.h: the trace log, what a traced replay writes.
//
// A signature, a header frame (JSON), then framed records: branch batches
// (per vCPU, exact brctr/icount base, delta-encoded and zstd-compressed),
// markers (arm/disarm and other events, JSON), and on a clean close an index
// frame plus a fixed-size trailer pointing at it. Every frame carries its
// type, length and a CRC, so a reader rejects a damaged file with the byte
// offset and the reason, and a crash leaves everything up to the last whole
// frame readable. The byte layout is docs/trace-log.md; the writer and the
// reader live side by side in src/trace_log_{writer,reader}.cc.
//
// The writer is used inside QEMU by the branch-trace plugin (on its writer
// thread), so it must not print, exit or depend on anything but libc,
// libstdc++, zstd and zlib.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace xentt::xtl {

// What kind of control transfer a branch record is. Values are on disk.
enum class BranchKind : std::uint8_t {
  CondJump = 1,      // taken jcc/loop/jcxz
  Jump = 2,          // direct jmp (near or far)
  Call = 3,          // direct call
  Return = 4,        // ret/retf
  IndirectJump = 5,  // jmp through register or memory
  IndirectCall = 6,  // call through register or memory
  Interrupt = 7,     // asynchronous event delivered between instructions
  Exception = 8,     // fault/trap raised by the instruction at `from`
  SoftInterrupt = 9, // int n/int3/into/syscall/sysenter
  EventReturn = 10,  // iret/sysret/sysexit
  Other = 11,
};
const char* kind_name(BranchKind k) noexcept;  // "cond", "jump", ... "other"

// One taken control transfer. brctr counts it (the first branch of a
// recording has brctr 1); icount is the instruction count at which the
// guest is about to execute `to`.
struct Branch {
  std::uint64_t from;
  std::uint64_t to;
  std::uint64_t brctr;
  std::uint64_t icount;
  BranchKind kind;
};

// Frame types. Values are on disk.
enum class FrameType : std::uint8_t {
  Header = 1,    // JSON: format_version, engine, guest_arch, vcpus, symfiles, ...
  Branches = 2,  // one batch of consecutive branches of one vCPU
  Marker = 3,    // JSON object: {"what": "arm"|"disarm"|..., "brctr", "icount", "eip", ...}
  Index = 4,     // written by close(): where each Branches frame starts
  End = 5,       // fixed-size trailer: offset of the Index frame
};

inline constexpr std::uint32_t kFormatVersion = 1;

// How a Branches frame's records are stored. Values are on disk.
enum class Encoding : std::uint8_t {
  Delta = 1,      // column-wise delta/varint streams, uncompressed
  DeltaZstd = 2,  // the same streams, zstd-compressed (the default)
};

// Writes a log; every call appends whole frames. Throws xentt::Error on I/O
// failure (the message names the file).
class LogWriter {
 public:
  // Creates (truncates) `path` and writes the signature and the header frame.
  // `header_json` is a JSON object; the writer adds "format_version".
  LogWriter(const std::string& path, const std::string& header_json);
  struct Options {
    Encoding encoding = Encoding::DeltaZstd;
    int zstd_level = 3;               // 1 is ~5% larger and no faster here (bench/trace_log.sh)
    std::uint32_t max_batch = 65536;  // records per frame: seek granularity vs. compression
  };
  LogWriter(const std::string& path, const std::string& header_json, const Options& opt);
  ~LogWriter();  // closes (with index) if close() was not called; never throws
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Appends one Branches frame (or several when `b` is large). Records must be
  // consecutive for one vCPU: b[i].brctr == b[0].brctr + i. Cost: encoding
  // plus zstd, a few ns per record.
  void add_branches(std::uint16_t vcpu, std::span<const Branch> b);
  // Appends a Marker frame; `json` is a JSON object.
  void add_marker(std::uint16_t vcpu, const std::string& json);
  // Makes everything appended so far durable to a reader (write(2) done).
  void flush();
  // Writes the Index frame and the End trailer and closes the file.
  void close();
  // Bytes in the file so far (all frames appended).
  std::uint64_t bytes_written() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Summary of one frame, as the dumper prints it.
struct FrameInfo {
  std::uint64_t offset;  // byte offset of the frame in the file
  FrameType type;
  std::uint16_t vcpu;
  std::uint32_t stored_bytes;   // payload bytes on disk
  std::uint64_t first_brctr;    // Branches only
  std::uint64_t first_icount;   // Branches only
  std::uint32_t count;          // Branches: records in the batch
  std::uint8_t encoding;        // Branches: an Encoding value; 0 otherwise
};

// What a reader does with a damaged frame it finds while opening a log.
enum class OnDamage {
  Throw,     // the first damage is an Error (readers that extract: bts_extract, trace windows)
  Continue,  // damaged frames are noted and skipped, the rest read (dump tools): check() and
             // damage_between_frames() say where and what
};

// Reads a log (mmap). The constructor checks the signature, the header
// frame, the frame list (the index, or a walk of the frame headers), every
// frame but the Branches frames entirely (few and small: markers) and the
// brctr order of the batches; Branches frames are checked (header, CRC,
// streams) when they are decoded or check()ed. Every error is a
// xentt::Error of kind BadInput whose message names the file, the byte
// offset and the reason. A log without a trailer (the tracer crashed)
// reads up to its last whole frame; `complete()` says whether the trailer
// was there.
class LogReader {
 public:
  explicit LogReader(const std::string& path, OnDamage on_damage = OnDamage::Throw);
  ~LogReader();
  LogReader(const LogReader&) = delete;
  LogReader& operator=(const LogReader&) = delete;

  const std::string& path() const;
  const std::string& header_json() const;
  bool complete() const;
  // Size of the file in bytes.
  std::uint64_t file_size() const;
  // Offset just past the last whole frame: file_size() for a complete log,
  // less when the tracer died in the middle of a frame.
  std::uint64_t end_of_frames() const;

  // All frames in file order (headers only: no decompression). With an index
  // this reads the index; without one it walks the frame headers.
  const std::vector<FrameInfo>& frames() const;

  // Decodes one Branches frame (by its position in frames()).
  std::vector<Branch> branches(std::size_t frame) const;
  // The same into `out` (replaced), reusing its capacity: the hot loop's form.
  void branches(std::size_t frame, std::vector<Branch>& out) const;
  // The JSON payload of a Header or Marker frame.
  std::string json(std::size_t frame) const;

  // Checks frame `frame` entirely, as any reader of it would: its header
  // (CRC, agrees with the index), its payload (CRC; Branches: every record
  // decodes, the batch follows its vCPU's brctr order; Header and Marker: a
  // JSON object). Throws the BadInput that reading it would. Cost: a
  // Branches frame is decoded (~10 ns a record); other frames were checked
  // when the log was opened and cost nothing.
  void check(std::size_t frame) const;
  // With OnDamage::Continue, damage found while opening that is in no
  // frame: bytes skipped to resynchronise at the next intact frame header
  // in a log without an index. One message each (file, offset, reason), in
  // file order. Empty with OnDamage::Throw (such damage throws).
  const std::vector<std::string>& damage_between_frames() const;

  // Calls `fn` for every branch of `vcpu` with lo <= brctr <= hi, in brctr
  // order, decoding only the frames that overlap (binary search over
  // frames()). Returns the number of branches passed to fn.
  template <class Fn>
  std::uint64_t for_each_branch(std::uint16_t vcpu, std::uint64_t lo, std::uint64_t hi, Fn&& fn) const {
    std::uint64_t n = 0;
    std::vector<Branch> buf;  // one allocation for all frames
    for (std::size_t f : frames_overlapping(vcpu, lo, hi)) {
      branches(f, buf);
      for (const Branch& b : buf)
        if (b.brctr >= lo && b.brctr <= hi) { fn(b); ++n; }
    }
    return n;
  }
  // The Branches frames of `vcpu` holding a brctr in [lo, hi], in brctr
  // order. Cost: a binary search over the vCPU's frames, no decoding.
  std::vector<std::size_t> frames_overlapping(std::uint16_t vcpu, std::uint64_t lo, std::uint64_t hi) const;
  // The vCPUs that have Branches frames, ascending.
  std::vector<std::uint16_t> vcpus() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xentt::xtl
