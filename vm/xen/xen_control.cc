// vm/xen/xen_control.cc: opening libxenctrl, libxenstore and
// libxenforeignmemory, and the domain list.
#include "vm/xen/xen_control.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "vm/xen/xen_c.h"
#include "xentt/base/error.h"
#include "xentt/base/number.h"

namespace xentt::xen {

std::string DomainInfo::state() const {
  if (dying) return "dying";
  if (crashed) return "crashed";
  if (shutdown) return "shutdown";
  if (paused) return "paused";
  if (running) return "running";
  if (blocked) return "blocked";
  return "idle";
}

std::string domain_errno_text(int e) {
  if (e == ESRCH) return "the domain no longer exists";
  if (e == EPERM || e == EACCES) return "permission denied (run as root in dom0)";
  return std::strerror(e);
}

namespace {

// Where privcmd lives: /dev/xen/privcmd (xen-privcmd module), or the old
// /proc/xen/privcmd of xenfs.
bool have_privcmd() {
  return access("/dev/xen/privcmd", F_OK) == 0 || access("/proc/xen/privcmd", F_OK) == 0;
}

[[noreturn]] void open_failed(const char* what, int e) {
  if (e == EACCES || e == EPERM)
    throw runtime_error(fmt::format("engine xen: opening {} needs root in dom0 ({})", what, std::strerror(e)));
  throw runtime_error(fmt::format("engine xen: cannot open {}: {}", what, std::strerror(e)));
}

}  // namespace

XenControl::XenControl() {
  if (!have_privcmd())
    throw runtime_error(
        "engine xen: not on a Xen host: /dev/xen/privcmd is missing (run in dom0 of a Xen host, with the "
        "xen-privcmd module loaded)");
  // The libraries print their own errors to stderr unless given a logger;
  // ours say it once, so theirs are silenced (XTL_CRITICAL and above only).
  logger_ = xtl_createlogger_stdiostream(stderr, XTL_CRITICAL, 0);
  auto* log = reinterpret_cast<xentoollog_logger*>(logger_);
  const char* what = nullptr;
  if (!(xc_ = xc_interface_open(log, log, 0))) what = "the hypervisor (libxenctrl)";
  else if (!(xs_ = xs_open(0))) what = "xenstore (is xenstored running?)";
  else if (!(fmem_ = xenforeignmemory_open(log, 0))) what = "foreign memory (libxenforeignmemory)";
  if (what) {
    int e = errno;
    close_all();
    open_failed(what, e);
  }
}

void XenControl::close_all() {
  if (fmem_) xenforeignmemory_close(fmem_);
  if (xs_) xs_close(xs_);
  if (xc_) xc_interface_close(xc_);
  if (logger_) xtl_logger_destroy(reinterpret_cast<xentoollog_logger*>(logger_));
  fmem_ = nullptr, xs_ = nullptr, xc_ = nullptr, logger_ = nullptr;
}

XenControl::~XenControl() { close_all(); }

std::string XenControl::name_of(std::uint32_t domid) {
  unsigned len = 0;
  std::string path = fmt::format("/local/domain/{}/name", domid);
  void* v = xs_read(xs_, XBT_NULL, path.c_str(), &len);
  if (!v) return domid == 0 ? "Domain-0" : "";
  std::string name(static_cast<const char*>(v), len);
  std::free(v);
  return name;
}

namespace {

DomainInfo from_xc(const xc_domaininfo_t& d) {
  DomainInfo i;
  i.domid = d.domain;
  i.hvm = d.flags & XEN_DOMINF_hvm_guest;
  i.paused = d.flags & XEN_DOMINF_paused;
  i.running = d.flags & XEN_DOMINF_running;
  i.blocked = d.flags & XEN_DOMINF_blocked;
  i.dying = d.flags & XEN_DOMINF_dying;
  i.shutdown = d.flags & XEN_DOMINF_shutdown;
  i.crashed = i.shutdown && ((d.flags >> XEN_DOMINF_shutdownshift) & XEN_DOMINF_shutdownmask) == SHUTDOWN_crash;
  i.vcpus = d.max_vcpu_id + 1;
  i.max_memkb = d.max_pages * (XC_PAGE_SIZE / 1024);
  i.pages = d.tot_pages;
  return i;
}

}  // namespace

std::vector<DomainInfo> XenControl::domains() {
  std::vector<xc_domaininfo_t> buf(1024);
  int n = xc_domain_getinfolist(xc_, 0, static_cast<unsigned>(buf.size()), buf.data());
  if (n < 0) throw runtime_error(fmt::format("engine xen: listing domains failed: {}", domain_errno_text(errno)));
  std::vector<DomainInfo> out;
  for (int k = 0; k < n; ++k) {
    DomainInfo i = from_xc(buf[k]);
    i.name = name_of(i.domid);
    out.push_back(std::move(i));
  }
  return out;
}

std::optional<DomainInfo> XenControl::info(std::uint32_t domid) {
  xc_domaininfo_t d{};
  int n = xc_domain_getinfolist(xc_, domid, 1, &d);
  if (n != 1 || d.domain != domid) return std::nullopt;
  DomainInfo i = from_xc(d);
  i.name = name_of(domid);
  return i;
}

DomainInfo XenControl::find(const std::string& name_or_id) {
  auto all = domains();
  for (const auto& d : all)
    if (d.name == name_or_id) return d;
  if (looks_numeric(name_or_id)) {
    std::uint64_t id = parse_u64(name_or_id, "domain");
    for (const auto& d : all)
      if (d.domid == id) return d;
  }
  std::string names;
  for (const auto& d : all) names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", d.name, d.domid);
  throw bad_input(fmt::format("no Xen domain '{}' (domains here: {})", name_or_id, names));
}

}  // namespace xentt::xen
