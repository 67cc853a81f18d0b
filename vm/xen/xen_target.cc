// vm/xen/xen_target.cc: a live domU's run control, registers and memory.
#include "vm/xen/xen_target.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

#include "vm/xen/pt_bts.h"
#include "vm/xen/vmtrace.h"
#include "vm/xen/xen_c.h"
#include "vm/xen/xen_registers.h"
#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"

namespace xentt::xen {

namespace {
constexpr std::uint64_t kPage = XC_PAGE_SIZE;
constexpr std::size_t kBatch = 64;       // frames mapped per call: one hypercall
constexpr std::size_t kMaxHeld = 4096;   // 16 MiB of mappings, then all are dropped
constexpr std::uint64_t kNoFrame = ~0ull;  // a p2m entry naming no frame (after widening a 32-bit guest's)

// Calls each(address, offset into out, bytes) for the piece of [addr,
// addr + n) in each page, in order.
template <class Each>
void by_page(std::uint64_t addr, std::size_t n, Each&& each) {
  for (std::size_t done = 0; done < n;) {
    std::uint64_t a = addr + done;
    std::size_t in_page = std::min<std::size_t>(n - done, kPage - a % kPage);
    each(a, done, in_page);
    done += in_page;
  }
}

// Appends the page at `a` to ascending ranges, joining it to the last one
// when adjacent.
void add_page(std::vector<PhysicalRange>& out, std::uint64_t a) {
  if (!out.empty() && out.back().guest + out.back().size == a) out.back().size += kPage;
  else out.push_back({a, kPage, 0});
}
}  // namespace

void XenDomainTarget::check_vcpu(unsigned vcpu) const {
  if (vcpu >= info_.vcpus)
    throw bad_input(fmt::format("engine xen: domain '{}' has {} vCPU(s); there is no vCPU {}", info_.name,
                                info_.vcpus, vcpu));
}

XenDomainTarget::XenDomainTarget(const std::string& name_or_id) : xc_(std::make_unique<XenControl>()) {
  info_ = xc_->find(name_or_id);
  if (info_.domid == 0)
    throw bad_input("engine xen: domain 0 is the one we run in; name a domU (tt_vmi --xen NAME, xl list shows them)");
  if (!info_.hvm) {
    unsigned width = 0;
    if (xc_domain_get_guest_width(xc_->xc(), info_.domid, &width) == 0 && width != 8)
      throw bad_input(fmt::format("engine xen: domain '{}' is a {}-bit PV guest; only 64-bit guests are supported",
                                  info_.name, width * 8));
  }
}

XenDomainTarget::~XenDomainTarget() {
  unmap_all();
  if (paused_by_us_) xc_domain_unpause(xc_->xc(), info_.domid);
}

void XenDomainTarget::gone_or(const std::string& what, int e) {
  if (e == ESRCH || !xc_->info(info_.domid))
    throw runtime_error(fmt::format("engine xen: domain '{}' ({}) is gone: it was destroyed while {}", info_.name,
                                    info_.domid, what));
  throw runtime_error(fmt::format("engine xen: {} of domain '{}' ({}) failed: {}", what, info_.name, info_.domid,
                                  domain_errno_text(e)));
}

void XenDomainTarget::pause() {
  if (paused_by_us_) return;
  if (xc_domain_pause(xc_->xc(), info_.domid) != 0) gone_or("pausing it", errno);
  paused_by_us_ = true;
}

void XenDomainTarget::resume() {
  unmap_all();  // the guest may change what its frames hold, or give them back
  if (!paused_by_us_) return;
  if (xc_domain_unpause(xc_->xc(), info_.domid) != 0) gone_or("unpausing it", errno);
  paused_by_us_ = false;
}

Registers XenDomainTarget::registers(unsigned vcpu) {
  check_vcpu(vcpu);
  if (info_.hvm) {
    hvm_hw_cpu c{};
    if (xc_domain_hvm_getcontext_partial(xc_->xc(), info_.domid, HVM_SAVE_CODE(CPU), static_cast<std::uint16_t>(vcpu),
                                         &c, sizeof c) != 0)
      gone_or(fmt::format("reading vCPU {}'s registers", vcpu), errno);
    return from_hvm(c);
  }
  vcpu_guest_context_any_t c{};
  if (xc_vcpu_getcontext(xc_->xc(), info_.domid, vcpu, &c) != 0)
    gone_or(fmt::format("reading vCPU {}'s registers", vcpu), errno);
  return from_pv(c.x64);
}

void XenDomainTarget::set_register(unsigned, Reg r, std::uint64_t) {
  throw bad_input(fmt::format("engine xen: writing registers ({}) of a live domain is not supported", reg_name(r)));
}

void XenDomainTarget::unmap_all() {
  for (const auto& b : batches_) xenforeignmemory_unmap(xc_->fmem(), b.base, b.count);
  batches_.clear();
  pages_.clear();
}

const std::byte* XenDomainTarget::page(std::uint64_t gfn, std::uint64_t for_addr) {
  if (auto it = pages_.find(gfn); it != pages_.end()) {
    if (it->second) return it->second;
  } else {
    if (pages_.size() + kBatch > kMaxHeld) unmap_all();
    // Map this frame and the ones after it that are not held yet: reads
    // go forward (a vmcore, a long buffer), and a frame the domain lacks
    // costs nothing more than its error slot.
    std::vector<xen_pfn_t> arr;
    for (std::uint64_t f = gfn; arr.size() < kBatch && !pages_.count(f); ++f) arr.push_back(f);
    std::vector<int> err(arr.size());
    void* base = xenforeignmemory_map(xc_->fmem(), info_.domid, PROT_READ, arr.size(), arr.data(), err.data());
    if (!base) {
      int e = errno;
      if (e == ESRCH || !xc_->info(info_.domid)) gone_or(fmt::format("reading {:#x}", for_addr), ESRCH);
      // A batch fails whole on some kernels when its first frame is bad:
      // note the one asked for as absent.
      pages_[gfn] = nullptr;
    } else {
      // A frame refused because the domain is going away is not a hole
      // in its memory: say it is gone.
      if (std::any_of(err.begin(), err.end(), [](int e) { return e != 0; })) {
        auto now = xc_->info(info_.domid);
        if (!now || now->dying || now->shutdown) {
          xenforeignmemory_unmap(xc_->fmem(), base, arr.size());
          gone_or(fmt::format("reading {:#x}", for_addr), ESRCH);
        }
      }
      batches_.push_back({base, arr.size()});
      for (std::size_t k = 0; k < arr.size(); ++k)
        pages_[arr[k]] = err[k] ? nullptr : static_cast<const std::byte*>(base) + k * kPage;
    }
  }
  const std::byte* p = pages_[gfn];
  if (!p)
    throw bad_input(fmt::format("guest-physical address {:#x}: frame {:#x} is not memory of domain '{}'", for_addr, gfn,
                                info_.name));
  return p;
}

void XenDomainTarget::read_physical(std::uint64_t paddr, std::span<std::byte> out) {
  by_page(paddr, out.size(), [&](std::uint64_t a, std::size_t at, std::size_t n) {
    std::memcpy(out.data() + at, page(a / kPage, a) + a % kPage, n);
  });
}

void XenDomainTarget::load_p2m() {
  if (!p2m_.empty()) return;
  xc_domain_meminfo mi{};
  if (xc_map_domain_meminfo(xc_->xc(), info_.domid, &mi) != 0) gone_or("reading its p2m list", errno);
  p2m_.resize(mi.p2m_size);
  table_level_.assign(mi.p2m_size, 0);
  for (unsigned long k = 0; k < mi.p2m_size; ++k) {
    if (mi.pfn_type) {
      std::uint64_t type = mi.pfn_type[k] & XEN_DOMCTL_PFINFO_LTABTYPE_MASK;
      if (type >= XEN_DOMCTL_PFINFO_L1TAB && type <= XEN_DOMCTL_PFINFO_L4TAB)
        table_level_[k] = static_cast<std::uint8_t>(type >> XEN_DOMCTL_PFINFO_LTAB_SHIFT);
    }
    // The guest writes its p2m list: a 64-bit guest's entries are 8 bytes.
    std::uint64_t m = mi.guest_width == 8 ? reinterpret_cast<const std::uint64_t*>(mi.p2m_table)[k]
                                          : reinterpret_cast<const std::uint32_t*>(mi.p2m_table)[k];
    if (m == 0xffffffffull) m = kNoFrame;
    p2m_[k] = m;
    if (m != kNoFrame) m2p_.emplace(m, k);
  }
  xc_unmap_domain_meminfo(xc_->xc(), &mi);
  if (p2m_.empty()) throw runtime_error(fmt::format("engine xen: domain '{}' has an empty p2m list", info_.name));
}

void XenDomainTarget::read_ram(std::uint64_t addr, std::span<std::byte> out) {
  if (info_.hvm) return read_physical(addr, out);
  load_p2m();
  by_page(addr, out.size(), [&](std::uint64_t a, std::size_t done, std::size_t in_page) {
    std::uint64_t pfn = a / kPage;
    if (pfn >= p2m_.size() || p2m_[pfn] == kNoFrame)
      throw bad_input(fmt::format("guest RAM address {:#x}: pseudo-physical frame {:#x} of domain '{}' has no machine "
                                  "frame",
                                  a, pfn, info_.name));
    if (!table_level_[pfn]) {
      read_physical(p2m_[pfn] * kPage + a % kPage, out.subspan(done, in_page));
    } else {
      // A page table: its entries name machine frames; give the
      // pseudo-physical ones (an entry naming no frame of the domain is
      // left as it is).
      std::array<std::uint64_t, kPage / 8> e;
      read_physical(p2m_[pfn] * kPage, std::as_writable_bytes(std::span(e)));
      constexpr std::uint64_t kFrame = 0x000ffffffffff000ull;
      for (auto& x : e) {
        if (!(x & 1)) continue;
        auto it = m2p_.find((x & kFrame) >> 12);
        if (it != m2p_.end()) x = (x & ~kFrame) | (it->second << 12);
      }
      std::memcpy(out.data() + done, reinterpret_cast<const std::byte*>(e.data()) + a % kPage, in_page);
    }
  });
}

std::optional<std::uint64_t> XenDomainTarget::ram_address_of(std::uint64_t paddr) {
  if (info_.hvm) return paddr;
  load_p2m();
  auto it = m2p_.find(paddr / kPage);
  if (it == m2p_.end()) return std::nullopt;
  return it->second * kPage + paddr % kPage;
}

Target::LiveTrace XenDomainTarget::trace_live(unsigned vcpu, std::chrono::milliseconds run_for,
                                              const std::filesystem::path& bts) {
  check_vcpu(vcpu);
  if (!info_.hvm)  // what Xen would answer (EOPNOTSUPP), said before any hypercall
    throw bad_input(fmt::format("engine xen: vmtrace needs an HVM or PVH domain: '{}' ({}) is PV, and Intel PT "
                                "cannot trace PV guests",
                                info_.name, info_.domid));
  pause();
  Vmtrace vt(xc_->xc(), xc_->fmem(), info_.domid, vcpu);
  vt.set_ctl(rtit_ctl::kOs | rtit_ctl::kUsr | rtit_ctl::kBranchEn | rtit_ctl::kDisRetc);
  vt.reset_and_enable();
  resume();
  std::this_thread::sleep_for(run_for);
  pause();
  VmtraceSnapshot snap = vt.snapshot();
  vt.disable();
  CodeReader code = [&](std::uint64_t vaddr, std::span<std::uint8_t> out) -> std::size_t {
    auto bytes = read_virtual(vaddr, out.size(), vcpu);
    if (!bytes) return 0;
    std::memcpy(out.data(), bytes->data(), out.size());
    return out.size();
  };
  PtDecodeStats st = write_pt_bts(snap.buffer(), code, bts.string());
  return LiveTrace{st.records, st.gaps, st.first_error};
}

void XenDomainTarget::write_native_core(const std::filesystem::path& path) {
  write_then_rename(path, [&](const std::filesystem::path& tmp) {
    if (xc_domain_dumpcore(xc_->xc(), info_.domid, tmp.c_str()) == 0) return;
    int e = errno;
    if (e == ESRCH || !xc_->info(info_.domid)) gone_or("writing its core", ESRCH);
    throw runtime_error(fmt::format("engine xen: writing {} (xc_domain_dumpcore of '{}') failed: {}", path.string(),
                                    info_.name, std::strerror(e)));
  });
}

std::vector<PhysicalRange> XenDomainTarget::ram_ranges() {
  if (!info_.hvm) {
    load_p2m();
    std::vector<PhysicalRange> out;
    for (std::uint64_t pfn = 0; pfn < p2m_.size(); ++pfn)
      if (p2m_[pfn] != kNoFrame) add_page(out, pfn * kPage);
    return out;
  }
  xen_pfn_t max = 0;
  if (xc_domain_maximum_gpfn(xc_->xc(), info_.domid, &max) < 0) gone_or("asking its memory size", errno);
  std::vector<PhysicalRange> out;
  constexpr std::size_t kProbe = 1024;
  std::vector<xen_pfn_t> arr(kProbe);
  std::vector<int> err(kProbe);
  for (std::uint64_t first = 0; first <= max; first += kProbe) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kProbe, max + 1 - first));
    for (std::size_t k = 0; k < n; ++k) arr[k] = first + k;
    void* base = xenforeignmemory_map(xc_->fmem(), info_.domid, PROT_READ, n, arr.data(), err.data());
    if (!base) {
      if (errno == ESRCH || !xc_->info(info_.domid)) gone_or("finding its RAM", ESRCH);
      continue;  // the whole batch is not memory
    }
    xenforeignmemory_unmap(xc_->fmem(), base, n);
    for (std::size_t k = 0; k < n; ++k)
      if (!err[k]) add_page(out, (first + k) * kPage);
  }
  return out;
}

std::optional<std::uint64_t> XenDomainTarget::xen_translate(std::uint64_t vaddr, unsigned vcpu) {
  unsigned long f = xc_translate_foreign_address(xc_->xc(), info_.domid, static_cast<int>(vcpu), vaddr);
  if (f == 0) return std::nullopt;
  return static_cast<std::uint64_t>(f) * kPage + vaddr % kPage;
}

std::optional<std::string> XenDomainTarget::read_virtual(std::uint64_t vaddr, std::size_t len, unsigned vcpu) {
  std::string out(len, '\0');
  bool mapped = true;
  by_page(vaddr, len, [&](std::uint64_t a, std::size_t done, std::size_t in_page) {
    auto pa = mapped ? xen_translate(a, vcpu) : std::nullopt;
    if (!pa) mapped = false;
    else read_physical(*pa, std::as_writable_bytes(std::span(out.data() + done, in_page)));
  });
  if (!mapped) return std::nullopt;
  return out;
}

}  // namespace xentt::xen
