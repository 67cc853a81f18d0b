// vm/xen/vmtrace.h: Xen's vmtrace (Intel PT on an HVM or PVH vCPU), the
// control side: switch tracing on and off, set what is traced, find the
// write position, map and copy the vCPU's trace buffer for pt_decoder.h.
//
// It takes the raw libxenctrl and libxenforeignmemory handles, a domain and
// a vCPU, and depends on nothing else of engine xen: whoever opened the
// handles keeps them open for the object's lifetime.
//
// What Xen needs (docs/xen.md): Intel PT hardware that VMX may use (no AMD,
// no emulator or nested hypervisor that hides PT), Xen >= 4.15 built with
// CONFIG_VMTRACE, an HVM or PVH domain created with `vmtrace_buf_kb=` in its
// xl.cfg (a power of two, 4 KiB to 64 MiB per vCPU). A failing call is
// thrown as one line that says which of those is missing.
//
// Every vmtrace call is one domctl hypercall, during which Xen pauses the
// vCPU (microseconds; harmless, but do not poll in a tight loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pt_decoder.h"

// The C libraries' handle types, declared as their headers declare them, so
// that this header does not pull xenctrl.h into its includers.
struct xc_interface_core;
typedef struct xc_interface_core xc_interface;
struct xenforeignmemory_handle;
typedef struct xenforeignmemory_handle xenforeignmemory_handle;
struct xenforeignmemory_resource_handle;
typedef struct xenforeignmemory_resource_handle xenforeignmemory_resource_handle;

namespace xentt::xen {

// The option keys of xc_vmtrace_get_option/set_option are MSR indices
// (xen/domctl.h: "interpreted as MSR reads/writes to MSR_RTIT_*"); Xen 4.17
// accepts these two.
inline constexpr std::uint64_t kMsrRtitCtl = 0x570;
inline constexpr std::uint64_t kMsrRtitStatus = 0x571;

// The MSR_RTIT_CTL bits Xen lets a vmtrace agent set (RTIT_CTL_MASK in
// xen/arch/x86/hvm/vmx/vmx.c); any other bit is refused with EINVAL.
namespace rtit_ctl {
inline constexpr std::uint64_t kTraceEn = 1ull << 0;    // owned by enable()/disable()
inline constexpr std::uint64_t kOs = 1ull << 2;         // trace CPL 0 (the guest kernel)
inline constexpr std::uint64_t kUsr = 1ull << 3;        // trace CPL > 0 (guest user space)
inline constexpr std::uint64_t kTscEn = 1ull << 10;     // TSC packets
inline constexpr std::uint64_t kDisRetc = 1ull << 11;   // no return compression: every return a TIP
inline constexpr std::uint64_t kBranchEn = 1ull << 13;  // branch packets (without it: no control flow)
inline constexpr std::uint64_t kAllowed = kTraceEn | kOs | kUsr | kTscEn | kDisRetc | kBranchEn;
}  // namespace rtit_ctl

// What a failing vmtrace call is explained with (explain_vmtrace_failure).
enum class VmtraceOp { Enable, Disable, ResetAndEnable, OutputPosition, GetOption, SetOption, MapBuffer };
const char* vmtrace_op_name(VmtraceOp op) noexcept;

// Facts gathered after a failure; unset where they could not be learned.
struct VmtraceFacts {
  std::optional<bool> host_has_vmtrace;      // XEN_SYSCTL_PHYSCAP_vmtrace in xc_physinfo
  std::optional<bool> domain_exists;
  std::optional<bool> domain_is_hvm;         // HVM or PVH (both are "hvm" to Xen)
  std::optional<unsigned> max_vcpu_id;
  std::optional<std::size_t> buffer_bytes;   // per-vCPU buffer, 0: created without vmtrace_buf_kb
  std::optional<std::uint64_t> option_value; // SetOption: the value refused
};

// The one-line message for a vmtrace call `op` on domid/vcpu that failed
// with errno `err`, given what is known. Pure: no hypercall, testable
// without Xen. Names the first missing requirement it can prove.
std::string explain_vmtrace_failure(VmtraceOp op, int err, std::uint32_t domid, std::uint32_t vcpu,
                                    const VmtraceFacts& facts);

// A copy of one vCPU's trace buffer at an instant.
struct VmtraceSnapshot {
  std::vector<std::uint8_t> ring;
  std::uint64_t write_pos = 0;
  bool wrapped = false;
  // The view pt_decoder.h reads (valid while this snapshot lives).
  PtBuffer buffer() const { return PtBuffer{ring, write_pos, wrapped}; }
};

class Vmtrace {
 public:
  // Maps the vCPU's trace buffer read-only (learning its size with
  // xenforeignmemory_resource_size). Does not change whether tracing is on.
  // Cost: two hypercalls and an mmap of the buffer. Throws xentt::Error
  // (explain_vmtrace_failure) when the buffer cannot be mapped.
  Vmtrace(xc_interface* xch, xenforeignmemory_handle* fmem, std::uint32_t domid, std::uint32_t vcpu);
  ~Vmtrace();  // unmaps; leaves tracing as it is (disable() first to stop it)
  Vmtrace(const Vmtrace&) = delete;
  Vmtrace& operator=(const Vmtrace&) = delete;

  std::uint32_t domid() const noexcept { return domid_; }
  std::uint32_t vcpu() const noexcept { return vcpu_; }
  std::size_t buffer_size() const noexcept { return size_; }

  // Tracing on and off (TraceEn). Xen refuses (EINVAL) to enable what is on
  // or disable what is off. reset_and_enable() also sets the write position
  // and status back to 0, and starts our wrap tracking afresh.
  void enable();
  void disable();
  void reset_and_enable();

  // MSR_RTIT_CTL: which bits of rtit_ctl are set. set_ctl() takes only
  // rtit_ctl::kAllowed bits (others: bad_input before any hypercall).
  std::uint64_t ctl();
  void set_ctl(std::uint64_t bits);
  // Any option key (an MSR index, see kMsrRtitCtl).
  std::uint64_t get_option(std::uint64_t key);
  void set_option(std::uint64_t key, std::uint64_t value);

  // The offset the CPU writes next. Each call also updates wrapped(): Xen
  // does not say when the ring wrapped, so we infer it from a position
  // lower than the last one seen since the object was made or reset. A wrap
  // that brings the position past the last one seen is invisible: look more
  // often than the buffer fills (a snapshot per pause does).
  std::uint64_t output_position();
  bool wrapped() const noexcept { return wrapped_; }

  // The live mapped buffer (the CPU writes it while the vCPU runs).
  std::span<const std::uint8_t> mapped() const noexcept { return {buf_, size_}; }

  // Copies the buffer with its write position and wrapped flag. Take it with
  // the domain paused: while the vCPU runs, bytes near the position are
  // being overwritten (the decoder then counts a gap). Cost: one hypercall
  // and a copy of buffer_size() bytes.
  VmtraceSnapshot snapshot();

 private:
  [[noreturn]] void fail(VmtraceOp op, int err, std::optional<std::uint64_t> value = std::nullopt) const;
  VmtraceFacts gather_facts() const;

  xc_interface* xch_;
  xenforeignmemory_handle* fmem_;
  std::uint32_t domid_;
  std::uint32_t vcpu_;
  xenforeignmemory_resource_handle* res_ = nullptr;
  const std::uint8_t* buf_ = nullptr;
  std::size_t size_ = 0;
  std::optional<std::uint64_t> last_pos_;
  bool wrapped_ = false;
};

}  // namespace xentt::xen
