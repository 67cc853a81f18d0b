// vm/xen/pt_decoder.h: Intel PT packets, as Xen's vmtrace buffer holds them,
// turned into branch records {from, to} with libipt's block decoder.
//
// Xen gives each traced vCPU one ring buffer that the CPU fills with Intel
// PT packets and a write position. When the ring has wrapped, its oldest
// byte is at the write position and the first bytes there are usually the
// tail of a packet whose head was overwritten: the decoder linearises the
// ring from the oldest byte and starts at the first PSB (the packet stream's
// synchronisation point) after it.
//
// A record is made for every taken control transfer PT lets us see: jumps,
// calls, returns, taken conditional branches, far transfers, and the
// asynchronous branches PT reports (interrupts, exceptions: from = the
// interrupted instruction, to = the handler). PT records carry no branch
// count, so `format` is 0 (a raw .bts record, docs/xen.md says what is not
// exact compared with engine qemu's brctr).
//
// Damage is not an exception: a decode error ends the current stretch, the
// decoder resynchronises at the next PSB and the stretch lost is counted as a
// gap; the first error's text and its offset in the ring are kept. Only what
// the caller must act on is thrown (xentt::Error): a write position outside
// the ring, a decoder libipt refuses to make, an exception of the code reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "xentt/tracefmt/bts_record.h"

namespace xentt::xen {

// Reads guest code: fills `out` from guest-virtual address `vaddr` and
// returns how many bytes it read from the start (0: nothing is mapped
// there; fewer than out.size(): the mapping ends). It may throw
// xentt::Error for a failure of the environment (a hypercall that fails);
// the decode then stops and the error reaches the caller. In the engine it
// reads the paused domain; in tests, an ELF file.
using CodeReader = std::function<std::size_t(std::uint64_t vaddr, std::span<std::uint8_t> out)>;

// Receives decoded records in execution order, in batches (a few thousand
// at a time; the span is valid only during the call).
using RecordSink = std::function<void(std::span<const bts::Record>)>;

// One vCPU's trace ring as the decoder reads it.
struct PtBuffer {
  std::span<const std::uint8_t> ring;  // the whole buffer Xen maps
  std::uint64_t write_pos = 0;         // where the CPU writes next (xc_vmtrace_output_position)
  bool wrapped = false;                // the CPU has gone past the end at least once
};

// The CPU that recorded the trace, for libipt's errata workarounds
// (pt_cpu_errata); unset: no workarounds.
struct PtCpu {
  std::uint16_t family = 0;
  std::uint8_t model = 0;
  std::uint8_t stepping = 0;
};

struct PtDecodeOptions {
  std::optional<PtCpu> cpu;
  // Pages of guest code kept between reads of the code reader (4 KiB each).
  // libipt asks for every instruction it walks; the cache turns that into
  // one reader call per page.
  std::size_t code_cache_pages = 1024;
};

// What a decode did. Offsets are byte offsets in the ring (PtBuffer::ring).
struct PtDecodeStats {
  std::uint64_t records = 0;     // branch records made
  std::uint64_t syncs = 0;       // times decoding started at a PSB
  std::uint64_t gaps = 0;        // stretches lost: decode errors (then a resync at the next PSB) and overflows
  std::uint64_t overflows = 0;   // of the gaps, those the CPU itself reported (its buffer overflowed)
  std::uint64_t unresolved = 0;  // branches whose target the trace did not give (tracing stopped right after them)
  std::uint64_t bytes = 0;       // bytes of trace data (the ring's used part)
  std::optional<std::uint64_t> first_psb_offset;  // where decoding began; unset: no PSB at all
  std::optional<std::uint64_t> first_error_offset;
  std::string first_error;       // "" when there was none, else one line naming the offset

  bool synced() const noexcept { return first_psb_offset.has_value(); }
  // One line for a log or a tool: "1200 records, 1 gap (offset 0x40: ...)".
  std::string summary() const;
};

// Decodes `buf` and passes its records to `sink`. Cost: linear in the
// trace, plus one reader call per code page first touched (see
// PtDecodeOptions); a wrapped ring is copied once to linearise it. Throws
// xentt::Error: bad_input when write_pos lies outside the ring, runtime
// when libipt cannot make a decoder, and whatever the reader throws.
PtDecodeStats decode_pt(const PtBuffer& buf, const CodeReader& read_code, const RecordSink& sink,
                        const PtDecodeOptions& options = {});

// The same, collecting the records in memory (24 bytes each: for a ring of
// a few MiB, not for streams of unbounded size).
struct PtDecoded {
  std::vector<bts::Record> records;
  PtDecodeStats stats;
};
PtDecoded decode_pt(const PtBuffer& buf, const CodeReader& read_code, const PtDecodeOptions& options = {});

}  // namespace xentt::xen
