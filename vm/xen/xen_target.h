// vm/xen/xen_target.h: a live Xen domU as a Target: pause and unpause, its
// vCPUs' registers, its memory mapped through libxenforeignmemory.
//
// What "guest-physical" means here is what the domain's own page tables
// hold, so that our page walk and Xen's agree: guest frame numbers for an
// HVM or PVH domain, machine frame numbers for a PV one (a PV guest's
// tables name machine frames; xc_translate_foreign_address answers in the
// same). Mapping a frame the domain does not own fails, so a PV guest's
// hostile table entry cannot show another domain's memory.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "vm/xen/xen_control.h"
#include "xentt/vm/target.h"

namespace xentt::xen {

class XenDomainTarget final : public Target {
 public:
  // Looks up `name_or_id` (XenControl::find) and holds it; nothing is
  // paused. Throws what XenControl's constructor and find throw.
  explicit XenDomainTarget(const std::string& name_or_id);
  ~XenDomainTarget() override;

  std::string engine() const override { return "xen"; }
  unsigned vcpus() const override { return info_.vcpus; }
  // Pause: xc_domain_pause (Xen counts pauses: each is undone by one
  // unpause). Resume unmaps every cached page first. A domain that is
  // gone: Runtime naming it.
  void pause() override;
  void resume() override;
  // PV: xc_vcpu_getcontext; HVM/PVH: the CPU record of the HVM save
  // context. Cost: one hypercall.
  Registers registers(unsigned vcpu = 0) override;
  void set_register(unsigned vcpu, Reg r, std::uint64_t value) override;
  // Through Xen's own translation (xc_translate_foreign_address, one
  // hypercall per page), then read_physical.
  std::optional<std::string> read_virtual(std::uint64_t vaddr, std::size_t len, unsigned vcpu = 0) override;
  // Frames mapped in batches of up to 64 and kept until resume() or
  // 4096 are held. Throws BadInput naming the address for a frame the
  // domain does not have, Runtime naming the domain when it is gone.
  void read_physical(std::uint64_t paddr, std::span<std::byte> out) override;
  std::vector<Endpoint> endpoints() const override { return {}; }
  // RAM as the guest's kernel numbers it. HVM/PVH: guest frames, the runs
  // below xc_domain_maximum_gpfn that map (1024 frames probed per
  // hypercall). PV: pseudo-physical frames, through the guest's p2m list
  // (libxenguest's xc_map_domain_meminfo, read once; the m2p inverse of
  // it built once, 16 bytes per frame), with its page-table pages
  // canonicalised as Xen's own save does: each present entry's machine
  // frame replaced by its pseudo-physical one, so that crash and drgn walk
  // them as a native kernel's.
  std::vector<PhysicalRange> ram_ranges() override;
  bool ram_is_physical() const override { return info_.hvm; }
  void read_ram(std::uint64_t addr, std::span<std::byte> out) override;
  std::optional<std::uint64_t> ram_address_of(std::uint64_t paddr) override;

  // vmtrace: reset and enable Intel PT on `vcpu` (kernel and user, branch
  // packets, no return compression), unpause for `run_for`, pause, copy
  // the ring, disable, decode with code read through Xen's translation.
  // Throws BadInput with what is missing (PV domain, no Intel PT, no
  // vmtrace_buf_kb: vm/xen/vmtrace.h) before the domain ran.
  LiveTrace trace_live(unsigned vcpu, std::chrono::milliseconds run_for, const std::filesystem::path& bts) override;

  // Xen's xc_core format (libxenctrl's xc_domain_dumpcore: every page of
  // the domain with its p2m, the vCPU contexts, the shared info page).
  // Cost: one read of the domain's memory.
  void write_native_core(const std::filesystem::path& path) override;

  const DomainInfo& info() const { return info_; }
  XenControl& control() { return *xc_; }
  // Xen's own translation of `vaddr` for `vcpu` (the frame's address, for
  // comparison with our page walk); nullopt when Xen finds no mapping.
  std::optional<std::uint64_t> xen_translate(std::uint64_t vaddr, unsigned vcpu = 0);

 private:
  // The mapped page of frame `gfn`, mapping it (and up to 63 after it) when
  // not yet held.
  const std::byte* page(std::uint64_t gfn, std::uint64_t for_addr);
  void unmap_all();
  // Throws BadInput naming the domain's vCPU count unless `vcpu` is one.
  void check_vcpu(unsigned vcpu) const;
  // PV: the p2m list (pseudo-physical frame -> machine frame; kNoFrame,
  // ~0, where none) and its inverse, loaded on first use.
  void load_p2m();
  std::vector<std::uint64_t> p2m_;
  std::vector<std::uint8_t> table_level_;  // per pseudo-physical frame: 1-4 a page table of that level, else 0
  std::unordered_map<std::uint64_t, std::uint64_t> m2p_;
  [[noreturn]] void gone_or(const std::string& what, int e);

  std::unique_ptr<XenControl> xc_;
  DomainInfo info_;
  bool paused_by_us_ = false;
  // Mapped pages by frame number: mappings are batches; each batch's base
  // and page count are kept to unmap it.
  std::unordered_map<std::uint64_t, const std::byte*> pages_;
  struct Batch {
    void* base;
    std::size_t count;
  };
  std::vector<Batch> batches_;
};

}  // namespace xentt::xen
