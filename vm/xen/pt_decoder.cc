// vm/xen/pt_decoder.cc: libipt's block decoder driven over a vmtrace ring,
// its blocks and events turned into branch records (pt_decoder.h).
//
// How a record is made. With end_on_call and end_on_jump set, libipt ends a
// block at every branch: direct calls and jumps by our request, conditional
// and indirect branches, returns and far transfers because they need trace.
// A block's last instruction (end_ip, its class iclass) is therefore either a
// branch or the place where something else stopped the block (an event, a
// full block). Where the branch went is the next address the decoder
// reports: the next block's first instruction, or the source of the
// asynchronous branch or disable that comes first. A conditional branch is
// taken when that address is not the instruction right after it; every
// other branch class always transfers.
#include "pt_decoder.h"

#include <intel-pt.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <exception>
#include <memory>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "xentt/base/error.h"

namespace xentt::xen {
namespace {

constexpr std::uint64_t kPageSize = 4096;

// Guest code as libipt reads it: through the caller's reader, a page at a
// time, kept (up to PtDecodeOptions::code_cache_pages pages, then dropped
// all at once). libipt (without image sections, as here) reads up to 15
// bytes for every instruction it walks, so the cache is what makes a reader
// that costs a hypercall affordable. The guest is paused: its code does not
// change under the cache.
class CodeCache {
 public:
  CodeCache(const CodeReader& reader, std::size_t max_pages) : reader_(reader), max_pages_(std::max<std::size_t>(max_pages, 1)) {}

  // Up to out.size() bytes at `vaddr`; how many could be read (0: none).
  std::size_t read(std::uint64_t vaddr, std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t at = vaddr + done;
      const std::uint64_t base = at & ~(kPageSize - 1);
      const Page& page = page_at(base);
      const std::size_t off = at - base;
      if (off >= page.valid) {
        // The page does not start mapped (an ELF segment starting inside a
        // page, say): ask for the exact bytes instead.
        return done + std::min(reader_(at, out.subspan(done)), out.size() - done);
      }
      const std::size_t n = std::min(out.size() - done, page.valid - off);
      std::memcpy(out.data() + done, page.bytes.data() + off, n);
      done += n;
      if (page.valid < kPageSize) break;  // the mapping ends inside this page
    }
    return done;
  }

  // libipt's read_memory_callback_t. C code is on the stack: nothing may be
  // thrown through it, so an exception of the reader is kept for decode_pt
  // to rethrow once libipt has returned.
  static int callback(std::uint8_t* buffer, std::size_t size, const pt_asid*, std::uint64_t ip, void* context) {
    auto* self = static_cast<CodeCache*>(context);
    try {
      const std::size_t n = self->read(ip, {buffer, size});
      if (n == 0) {
        self->unreadable_ = ip;
        return -pte_nomap;
      }
      return static_cast<int>(n);
    } catch (...) {
      self->exception_ = std::current_exception();
      return -pte_nomap;
    }
  }

  void rethrow_reader_exception() {
    if (exception_) std::rethrow_exception(std::exchange(exception_, nullptr));
  }
  // The address of the last read that found nothing (take: and forget it).
  std::optional<std::uint64_t> unreadable() const { return unreadable_; }
  std::optional<std::uint64_t> take_unreadable() { return std::exchange(unreadable_, std::nullopt); }

 private:
  struct Page {
    std::array<std::uint8_t, kPageSize> bytes;
    std::size_t valid = 0;  // bytes readable from the page's start
  };

  const Page& page_at(std::uint64_t base) {
    auto it = pages_.find(base);
    if (it != pages_.end()) return *it->second;
    if (pages_.size() >= max_pages_) pages_.clear();  // code changed address space or is huge: start over
    auto page = std::make_unique<Page>();
    page->valid = std::min<std::size_t>(reader_(base, page->bytes), kPageSize);
    return *pages_.emplace(base, std::move(page)).first->second;
  }

  const CodeReader& reader_;
  std::size_t max_pages_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Page>> pages_;
  std::optional<std::uint64_t> unreadable_;
  std::exception_ptr exception_;
};

// The length of a conditional branch (the instructions libipt classes as
// ptic_cond_jump: Jcc rel8, Jcc rel32, JrCXZ, LOOPcc) at `code`, or 0 when
// the bytes are not one. Legacy and REX prefixes count; the operand size
// sets the rel32 form's displacement outside 64-bit mode (in 64-bit mode it
// is always 4 bytes, as libipt's own decoder has it).
std::size_t cond_jump_length(std::span<const std::uint8_t> code, pt_exec_mode mode) {
  std::size_t i = 0;
  bool osz = false;
  for (; i < code.size(); i++) {
    const std::uint8_t b = code[i];
    if (b == 0x66) {
      osz = true;
    } else if (b == 0x67 || b == 0xf2 || b == 0xf3 || b == 0xf0 || b == 0x2e || b == 0x3e || b == 0x26 ||
               b == 0x36 || b == 0x64 || b == 0x65) {
    } else if (mode == ptem_64bit && (b & 0xf0) == 0x40) {
    } else {
      break;
    }
  }
  if (i >= code.size()) return 0;
  const std::uint8_t op = code[i];
  std::size_t len = 0;
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) {
    len = i + 2;
  } else if (op == 0x0f && i + 1 < code.size() && (code[i + 1] & 0xf0) == 0x80) {
    const std::size_t disp = mode == ptem_64bit ? 4 : mode == ptem_16bit ? (osz ? 4 : 2) : (osz ? 2 : 4);
    len = i + 2 + disp;
  }
  return len <= code.size() ? len : 0;
}

bool is_branch(pt_insn_class c) {
  switch (c) {
    case ptic_call:
    case ptic_return:
    case ptic_jump:
    case ptic_cond_jump:
    case ptic_far_call:
    case ptic_far_return:
    case ptic_far_jump:
      return true;
    case ptic_error:
      // libipt leaves the class unknown only at indirect jumps and far
      // transfers (its block cache, which needs image sections we do not
      // use); treat it as the branch it then is.
      return true;
    case ptic_other:
    case ptic_ptwrite:
      return false;
  }
  return false;
}

// Blocks and events in, records out (see the top of this file).
class RecordBuilder {
 public:
  RecordBuilder(CodeCache& code, const RecordSink& sink, PtDecodeStats& stats) : code_(code), sink_(sink), stats_(stats) {
    batch_.reserve(kBatch);
  }

  // A block of instructions that ran: it settles the pending branch, and
  // its own last instruction may be the next one.
  void on_block(const pt_block& b) {
    if (b.ninsn == 0) return;  // no instruction: b.ip means nothing
    arrive(b.ip);
    if (is_branch(b.iclass)) pending_ = Pending{b.end_ip, b.iclass, b.mode};
  }

  void on_event(const pt_event& ev) {
    switch (ev.type) {
      case ptev_enabled:
        // Tracing resumes; whatever was pending was settled when it stopped.
        forget();
        break;
      case ptev_disabled:
        // A branch left the traced region (or the trace was switched off at
        // it): its target is the disable's address, when PT gives it.
        if (ev.ip_suppressed) {
          forget();
        } else {
          arrive(ev.variant.disabled.ip);
        }
        break;
      case ptev_async_disabled:
        arrive(ev.variant.async_disabled.at);  // a VM exit, say: nothing branched
        break;
      case ptev_async_branch:
        arrive(ev.variant.async_branch.from);
        if (ev.ip_suppressed) {
          stats_.unresolved++;  // into a region not traced
        } else {
          emit(ev.variant.async_branch.from, ev.variant.async_branch.to);
        }
        break;
      default:
        // Paging, exec mode, TSX, timing, power events: no control
        // transfer of their own (an abort's transfer comes as an async
        // branch); overflows are counted by the caller.
        break;
    }
  }

  // Execution went on at `ip` without a branch record of its own: settles
  // the pending branch.
  void arrive(std::uint64_t ip) {
    if (!pending_) return;
    const Pending p = *pending_;
    pending_.reset();
    if (p.iclass == ptic_cond_jump) {
      std::array<std::uint8_t, pt_max_insn_size> bytes{};
      const std::size_t n = code_.read(p.from, bytes);
      const std::size_t len = cond_jump_length(std::span(bytes).first(n), p.mode);
      const bool fell_through = len != 0 ? ip == p.from + len : ip > p.from && ip <= p.from + pt_max_insn_size;
      if (fell_through) return;
    }
    emit(p.from, ip);
  }

  bool has_pending() const noexcept { return pending_.has_value(); }

  // The pending branch's target will never be known.
  void forget() {
    if (pending_) stats_.unresolved++;
    pending_.reset();
  }
  // A decode error or overflow lost the trace after it: not counted as
  // unresolved, it is part of the gap. Every resync follows a gap, so
  // nothing pending crosses a PSB we resynchronise at.
  void drop() { pending_.reset(); }

  void flush() {
    if (batch_.empty()) return;
    sink_(batch_);
    batch_.clear();
  }

 private:
  static constexpr std::size_t kBatch = 4096;
  struct Pending {
    std::uint64_t from;
    pt_insn_class iclass;
    pt_exec_mode mode;
  };

  void emit(std::uint64_t from, std::uint64_t to) {
    batch_.push_back(bts::Record{from, to, 0});
    stats_.records++;
    if (batch_.size() == kBatch) flush();
  }

  CodeCache& code_;
  const RecordSink& sink_;
  PtDecodeStats& stats_;
  std::optional<Pending> pending_;
  std::vector<bts::Record> batch_;
};

struct BlockDecoderDeleter {
  void operator()(pt_block_decoder* d) const { pt_blk_free_decoder(d); }
};

// The trace as one linear stream from its oldest byte, and the way back
// from a stream offset to a ring offset (what messages name).
class Linear {
 public:
  explicit Linear(const PtBuffer& buf) : size_(buf.ring.size()) {
    if (buf.write_pos > size_ || (buf.wrapped && buf.write_pos == size_ && size_ == 0)) {
      throw bad_input(fmt::format("vmtrace write position {:#x} is outside the {:#x}-byte trace buffer", buf.write_pos,
                                  size_));
    }
    if (!buf.wrapped) {
      bytes_ = buf.ring.first(buf.write_pos);
      return;
    }
    start_ = buf.write_pos % size_;
    copy_.reserve(size_);
    copy_.insert(copy_.end(), buf.ring.begin() + static_cast<std::ptrdiff_t>(start_), buf.ring.end());
    copy_.insert(copy_.end(), buf.ring.begin(), buf.ring.begin() + static_cast<std::ptrdiff_t>(start_));
    bytes_ = copy_;
  }
  std::span<const std::uint8_t> bytes() const noexcept { return bytes_; }
  std::uint64_t ring_offset(std::uint64_t linear) const noexcept {
    return size_ == 0 ? linear : (start_ + linear) % size_;
  }

 private:
  std::uint64_t size_;
  std::uint64_t start_ = 0;
  std::vector<std::uint8_t> copy_;
  std::span<const std::uint8_t> bytes_;
};

class Run {
 public:
  Run(const PtBuffer& buf, const CodeReader& read_code, const RecordSink& sink, const PtDecodeOptions& options)
      : linear_(buf), code_(read_code, options.code_cache_pages), builder_(code_, sink, stats_) {
    stats_.bytes = linear_.bytes().size();
    if (linear_.bytes().empty()) return;
    pt_config config;
    pt_config_init(&config);
    // libipt takes a mutable pointer but never writes through a decoder's.
    config.begin = const_cast<std::uint8_t*>(linear_.bytes().data());
    config.end = config.begin + linear_.bytes().size();
    config.flags.variant.block.end_on_call = 1;
    config.flags.variant.block.end_on_jump = 1;
    if (options.cpu) {
      config.cpu.vendor = pcv_intel;
      config.cpu.family = options.cpu->family;
      config.cpu.model = options.cpu->model;
      config.cpu.stepping = options.cpu->stepping;
      if (int err = pt_cpu_errata(&config.errata, &config.cpu); err < 0) {
        throw bad_input(fmt::format("libipt knows no errata for CPU family {} model {} stepping {}: {}",
                                    options.cpu->family, options.cpu->model, options.cpu->stepping,
                                    pt_errstr(pt_errcode(err))));
      }
    }
    dec_.reset(pt_blk_alloc_decoder(&config));
    if (!dec_) throw runtime_error("libipt could not make a block decoder (out of memory, or a libipt older than 2.0)");
    if (int err = pt_image_set_callback(pt_blk_get_image(dec_.get()), &CodeCache::callback, &code_); err < 0) {
      throw runtime_error(std::string("libipt refused the code reader: ") + pt_errstr(pt_errcode(err)));
    }
  }

  PtDecodeStats run() {
    if (!dec_) return stats_;
    std::optional<std::uint64_t> last_sync;
    for (;;) {
      int status = pt_blk_sync_forward(dec_.get());
      code_.rethrow_reader_exception();
      if (status == -pte_eos) break;
      std::uint64_t sync = 0;
      pt_blk_get_sync_offset(dec_.get(), &sync);
      if (last_sync && sync <= *last_sync) break;  // libipt made no progress: never loop
      last_sync = sync;
      if (status < 0) {
        gap(status);  // a damaged PSB+ header: on to the next PSB
        continue;
      }
      stats_.syncs++;
      if (!stats_.first_psb_offset) stats_.first_psb_offset = linear_.ring_offset(sync);
      status = decode_from_sync(status);
      if (status == -pte_eos) break;
      gap(status);
    }
    builder_.flush();
    if (!stats_.synced() && !linear_.bytes().empty() && stats_.first_error.empty()) {
      stats_.first_error_offset = linear_.ring_offset(0);
      stats_.first_error = fmt::format("offset {:#x}: no PSB in the {} bytes of trace, nothing to decode from",
                                       *stats_.first_error_offset, linear_.bytes().size());
    }
    return std::move(stats_);
  }

 private:
  // Decodes until an error or the end; returns the error (or -pte_eos).
  int decode_from_sync(int status) {
    for (;;) {
      while (status & pts_event_pending) {
        pt_event ev;
        status = pt_blk_event(dec_.get(), &ev, sizeof ev);
        code_.rethrow_reader_exception();
        if (status < 0) return status;
        if (ev.type == ptev_overflow) {
          builder_.drop();
          stats_.overflows++;
          note_gap("the CPU's trace buffer overflowed, packets were lost");
        }
        builder_.on_event(ev);
      }
      if (status & pts_eos) {
        finish_at_end();
        return -pte_eos;
      }
      pt_block block;
      status = pt_blk_next(dec_.get(), &block, sizeof block);
      code_.rethrow_reader_exception();
      // An error applies after the block's last instruction: the block ran
      // (and gap() drops the branch it may end with, its target unknown).
      builder_.on_block(block);
      // No code at the address the trace sent execution to: the branch
      // there happened (the record says where to), the decode cannot go on.
      if (pt_errcode(status) == pte_nomap && block.ninsn == 0 && code_.unreadable() == block.ip) {
        builder_.arrive(block.ip);
      }
      if (status < 0) return status;
    }
  }

  // The packets are used up. A branch whose target the last packets gave
  // (a taken conditional, a direct call) is still pending: libipt knows
  // where it went and says so as the start of one more block, decoded
  // without trace; we take that address and nothing of the block, since the
  // guest need not have run it.
  void finish_at_end() {
    if (!builder_.has_pending()) return;
    pt_block block;
    pt_blk_next(dec_.get(), &block, sizeof block);
    code_.rethrow_reader_exception();
    if (block.ninsn > 0) {
      builder_.arrive(block.ip);
    } else {
      builder_.forget();
    }
  }

  void gap(int status) {
    builder_.drop();
    std::string what = pt_errstr(pt_errcode(status));
    if (auto at = code_.take_unreadable(); at && pt_errcode(status) == pte_nomap) {
      what = fmt::format("cannot read guest code at {:#x} ({})", *at, what);
    }
    note_gap(what);
  }

  void note_gap(const std::string& what) {
    stats_.gaps++;
    if (!stats_.first_error.empty()) return;
    std::uint64_t offset = 0;
    pt_blk_get_offset(dec_.get(), &offset);
    stats_.first_error_offset = linear_.ring_offset(offset);
    stats_.first_error = fmt::format("offset {:#x}: {}", *stats_.first_error_offset, what);
  }

  Linear linear_;
  CodeCache code_;
  PtDecodeStats stats_;
  RecordBuilder builder_;
  std::unique_ptr<pt_block_decoder, BlockDecoderDeleter> dec_;
};

}  // namespace

std::string PtDecodeStats::summary() const {
  std::string s = fmt::format("{} record{}", records, records == 1 ? "" : "s");
  if (gaps) s += fmt::format(", {} gap{}", gaps, gaps == 1 ? "" : "s");
  if (overflows) s += fmt::format(" ({} overflow{})", overflows, overflows == 1 ? "" : "s");
  if (unresolved) s += fmt::format(", {} branch{} without a target", unresolved, unresolved == 1 ? "" : "es");
  if (!first_error.empty()) s += " (" + first_error + ")";
  return s;
}

PtDecodeStats decode_pt(const PtBuffer& buf, const CodeReader& read_code, const RecordSink& sink,
                        const PtDecodeOptions& options) {
  if (!read_code) throw runtime_error("decode_pt: no code reader given");
  Run run(buf, read_code, sink, options);
  return run.run();
}

PtDecoded decode_pt(const PtBuffer& buf, const CodeReader& read_code, const PtDecodeOptions& options) {
  PtDecoded out;
  out.stats = decode_pt(
      buf, read_code, [&](std::span<const bts::Record> rs) { out.records.insert(out.records.end(), rs.begin(), rs.end()); },
      options);
  return out;
}

}  // namespace xentt::xen
