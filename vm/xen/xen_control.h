// vm/xen/xen_control.h: the handles dom0 holds on its hypervisor
// (libxenctrl), on xenstore (libxenstore) and on other domains' memory
// (libxenforeignmemory), and the domains they show, by name.
//
// Private to engine xen: the session and tools reach a live domain through
// the engine registry (Engine::open_live).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct xc_interface_core;
struct xs_handle;
struct xenforeignmemory_handle;
struct xentoollog_logger_stdiostream;

namespace xentt::xen {

// One domain as the hypervisor reports it.
struct DomainInfo {
  std::uint32_t domid = 0;
  std::string name;  // xenstore's /local/domain/<id>/name ("" when it has none)
  bool hvm = false;  // HVM or PVH (auto-translated): guest-physical frames; else PV
  bool paused = false, running = false, blocked = false, dying = false, crashed = false, shutdown = false;
  unsigned vcpus = 0;  // online vCPUs
  std::uint64_t max_memkb = 0;
  std::uint64_t pages = 0;
  // "running", "blocked", "paused", "shutdown", "crashed", "dying": what
  // xl list's state letters say, in words (the first that applies, in the
  // order dying, crashed, shutdown, paused, running, blocked).
  std::string state() const;
};

class XenControl {
 public:
  // Opens the three handles. Throws Runtime "not on a Xen host: ... (run
  // in dom0)" when there is no privcmd device, "... needs root" when it
  // cannot be opened for lack of rights, and naming the library call
  // otherwise.
  XenControl();
  ~XenControl();
  XenControl(const XenControl&) = delete;
  XenControl& operator=(const XenControl&) = delete;

  // Every domain, dom0 included, with names from xenstore. Cost: one
  // hypercall and a xenstore read per domain.
  std::vector<DomainInfo> domains();
  // The domain named `name_or_id` (its xenstore name, else a number taken
  // as a domid). Throws BadInput naming the domains there are when none is.
  DomainInfo find(const std::string& name_or_id);
  // One domain's information now; nullopt when it no longer exists.
  std::optional<DomainInfo> info(std::uint32_t domid);

  xc_interface_core* xc() const { return xc_; }
  xs_handle* xs() const { return xs_; }
  xenforeignmemory_handle* fmem() const { return fmem_; }

 private:
  std::string name_of(std::uint32_t domid);
  void close_all();
  xc_interface_core* xc_ = nullptr;
  xs_handle* xs_ = nullptr;
  xenforeignmemory_handle* fmem_ = nullptr;
  xentoollog_logger_stdiostream* logger_ = nullptr;  // passes on only critical messages
};

// The text of errno `e` for messages about a domain: ESRCH "the domain no
// longer exists", EPERM/EACCES "permission denied (run as root in dom0)",
// otherwise strerror.
std::string domain_errno_text(int e);

}  // namespace xentt::xen
