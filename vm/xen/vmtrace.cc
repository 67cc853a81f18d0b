// vm/xen/vmtrace.cc: the vmtrace domctls and the trace buffer's mapping
// (vmtrace.h), with errno answers turned into what cannot work and why.
#include "vmtrace.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

// The Xen headers are C; xenctrl.h needs the interface version it was
// built for, which its own build defines.
extern "C" {
#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xen/memory.h>
}

#include "xentt/base/error.h"

namespace xentt::xen {

namespace {
constexpr const char* kRequirements =
    "vmtrace needs Intel PT hardware, an HVM or PVH domain created with vmtrace_buf_kb, Xen >= 4.15";
}

const char* vmtrace_op_name(VmtraceOp op) noexcept {
  switch (op) {
    case VmtraceOp::Enable: return "enabling vmtrace";
    case VmtraceOp::Disable: return "disabling vmtrace";
    case VmtraceOp::ResetAndEnable: return "resetting and enabling vmtrace";
    case VmtraceOp::OutputPosition: return "reading the vmtrace output position";
    case VmtraceOp::GetOption: return "reading a vmtrace option";
    case VmtraceOp::SetOption: return "setting a vmtrace option";
    case VmtraceOp::MapBuffer: return "mapping the vmtrace buffer";
  }
  return "vmtrace";
}

std::string explain_vmtrace_failure(VmtraceOp op, int err, std::uint32_t domid, std::uint32_t vcpu,
                                    const VmtraceFacts& f) {
  const std::string head = fmt::format("{} for domain {} vCPU {} failed ({})", vmtrace_op_name(op), domid, vcpu,
                                       std::system_category().message(err));
  auto say = [&](const std::string& why) { return head + ": " + why; };

  if (err == EPERM || err == EACCES) {
    return say("not allowed: run as root in dom0 (the toolstack's domain); a Xen older than 4.15 also answers "
               "this, since it does not know this libxenctrl's domctl interface");
  }
  if (err == ESRCH || f.domain_exists == false) return say(fmt::format("there is no domain {}", domid));
  if (f.host_has_vmtrace == false) {
    return say("this CPU has no Intel PT that Xen can use (AMD, or nested under an emulator or hypervisor that "
               "does not pass Intel PT through), or Xen was built without CONFIG_VMTRACE; " +
               std::string(kRequirements));
  }
  if (f.domain_is_hvm == false) return say(fmt::format("{}; domain {} is PV", kRequirements, domid));
  if (err == ENOENT || (f.max_vcpu_id && vcpu > *f.max_vcpu_id)) {
    return say(f.max_vcpu_id ? fmt::format("domain {} has no vCPU {} (its vCPUs are 0 to {})", domid, vcpu, *f.max_vcpu_id)
                             : fmt::format("domain {} has no vCPU {}", domid, vcpu));
  }
  if (f.buffer_bytes == std::size_t{0}) {
    return say(fmt::format("domain {} has no trace buffer: it was created without vmtrace_buf_kb (add "
                           "vmtrace_buf_kb=KB, a power of two from 4 to 65536, to its xl.cfg and create it again)",
                           domid));
  }
  if (err == EOPNOTSUPP || err == ENODEV || err == ENOSYS || err == ENXIO) {
    return say(std::string(kRequirements) + " (this Xen does not offer vmtrace for this domain)");
  }
  if (err == EINVAL) {
    switch (op) {
      case VmtraceOp::Enable:
      case VmtraceOp::ResetAndEnable:
        return say("Xen refuses to enable tracing that is already on (disable it first)");
      case VmtraceOp::Disable:
        return say("Xen refuses to disable tracing that is not on");
      case VmtraceOp::SetOption:
        return say(fmt::format("Xen refused the value {}; only the MSR_RTIT_CTL bits TraceEn, OS, USR, TSCEn, "
                               "DisRETC and BranchEn (mask {:#x}) and a few MSR_RTIT_STATUS bits may be set",
                               f.option_value ? fmt::format("{:#x}", *f.option_value) : std::string("given"),
                               rtit_ctl::kAllowed));
      case VmtraceOp::GetOption:
        return say("Xen knows only the option keys MSR_RTIT_CTL (0x570) and MSR_RTIT_STATUS (0x571)");
      case VmtraceOp::MapBuffer:
      case VmtraceOp::OutputPosition:
        break;
    }
    return say(kRequirements);
  }
  return head;
}

Vmtrace::Vmtrace(xc_interface* xch, xenforeignmemory_handle* fmem, std::uint32_t domid, std::uint32_t vcpu)
    : xch_(xch), fmem_(fmem), domid_(domid), vcpu_(vcpu) {
  if (!xch || !fmem) throw runtime_error("vmtrace: no libxenctrl or libxenforeignmemory handle given");
  std::size_t size = 0;
  if (xenforeignmemory_resource_size(fmem_, static_cast<domid_t>(domid_), XENMEM_resource_vmtrace_buf, vcpu_, &size) != 0) {
    fail(VmtraceOp::MapBuffer, errno);
  }
  if (size == 0) fail(VmtraceOp::MapBuffer, EINVAL);  // explained by the facts: no vmtrace_buf_kb
  void* addr = nullptr;
  res_ = xenforeignmemory_map_resource(fmem_, static_cast<domid_t>(domid_), XENMEM_resource_vmtrace_buf, vcpu_, 0,
                                       size >> XC_PAGE_SHIFT, &addr, PROT_READ, 0);
  if (!res_) fail(VmtraceOp::MapBuffer, errno);
  buf_ = static_cast<const std::uint8_t*>(addr);
  size_ = size;
}

Vmtrace::~Vmtrace() {
  if (res_) xenforeignmemory_unmap_resource(fmem_, res_);
}

VmtraceFacts Vmtrace::gather_facts() const {
  VmtraceFacts f;
  xc_physinfo_t phys{};
  if (xc_physinfo(xch_, &phys) == 0) f.host_has_vmtrace = (phys.capabilities & XEN_SYSCTL_PHYSCAP_vmtrace) != 0;
  xc_dominfo_t info{};
  const int n = xc_domain_getinfo(xch_, domid_, 1, &info);
  if (n >= 0) {
    f.domain_exists = n == 1 && info.domid == domid_;
    if (*f.domain_exists) {
      f.domain_is_hvm = info.hvm != 0;
      f.max_vcpu_id = info.max_vcpu_id;
    }
  }
  std::size_t size = 0;
  if (f.domain_exists != false &&
      xenforeignmemory_resource_size(fmem_, static_cast<domid_t>(domid_), XENMEM_resource_vmtrace_buf, vcpu_, &size) == 0) {
    f.buffer_bytes = size;
  }
  return f;
}

void Vmtrace::fail(VmtraceOp op, int err, std::optional<std::uint64_t> value) const {
  VmtraceFacts f = gather_facts();
  f.option_value = value;
  throw runtime_error(explain_vmtrace_failure(op, err, domid_, vcpu_, f));
}

void Vmtrace::enable() {
  if (xc_vmtrace_enable(xch_, domid_, vcpu_) != 0) fail(VmtraceOp::Enable, errno);
}

void Vmtrace::disable() {
  if (xc_vmtrace_disable(xch_, domid_, vcpu_) != 0) fail(VmtraceOp::Disable, errno);
}

void Vmtrace::reset_and_enable() {
  if (xc_vmtrace_reset_and_enable(xch_, domid_, vcpu_) != 0) fail(VmtraceOp::ResetAndEnable, errno);
  last_pos_ = 0;
  wrapped_ = false;
}

std::uint64_t Vmtrace::get_option(std::uint64_t key) {
  std::uint64_t value = 0;
  if (xc_vmtrace_get_option(xch_, domid_, vcpu_, key, &value) != 0) fail(VmtraceOp::GetOption, errno);
  return value;
}

void Vmtrace::set_option(std::uint64_t key, std::uint64_t value) {
  if (xc_vmtrace_set_option(xch_, domid_, vcpu_, key, value) != 0) fail(VmtraceOp::SetOption, errno, value);
}

std::uint64_t Vmtrace::ctl() { return get_option(kMsrRtitCtl); }

void Vmtrace::set_ctl(std::uint64_t bits) {
  if (bits & ~rtit_ctl::kAllowed) {
    throw bad_input(fmt::format("vmtrace: MSR_RTIT_CTL value {:#x} has bits Xen refuses ({:#x}); allowed: {:#x} "
                                "(TraceEn, OS, USR, TSCEn, DisRETC, BranchEn)",
                                bits, bits & ~rtit_ctl::kAllowed, rtit_ctl::kAllowed));
  }
  set_option(kMsrRtitCtl, bits);
}

std::uint64_t Vmtrace::output_position() {
  std::uint64_t pos = 0;
  if (xc_vmtrace_output_position(xch_, domid_, vcpu_, &pos) != 0) fail(VmtraceOp::OutputPosition, errno);
  if (pos > size_) {
    throw runtime_error(fmt::format("vmtrace: Xen reports write position {:#x} in the {:#x}-byte buffer of domain {} vCPU {}",
                                    pos, size_, domid_, vcpu_));
  }
  if (last_pos_ && pos < *last_pos_) wrapped_ = true;
  last_pos_ = pos;
  return pos;
}

VmtraceSnapshot Vmtrace::snapshot() {
  VmtraceSnapshot s;
  s.write_pos = output_position();
  s.ring.assign(buf_, buf_ + size_);
  s.wrapped = wrapped_;
  return s;
}

}  // namespace xentt::xen
