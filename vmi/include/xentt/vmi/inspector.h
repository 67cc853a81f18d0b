// xentt/vmi/inspector.h: what `tt_vmi` asks of one instant of a guest,
// over any Target: its registers, guest-physical memory (the engine's RAM
// file mapped once, else the target's own reads), guest-virtual memory
// through our page walk of a CR3, addresses of symbols, and typed values
// by the DWARF of its kernel or program.
//
// One Inspector looks at one instant: make a new one after the guest ran
// (its registers and translations are cached).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "xentt/symbolize/debug_types.h"
#include "xentt/symbolize/symbolizer.h"
#include "xentt/vm/target.h"
#include "xentt/vmi/page_walk.h"
#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

struct InspectorOptions {
  // The guest's symbol files, in order: names resolve in them, and the
  // first that has DWARF gives the types (unless debug_file is set).
  std::vector<sym::SymbolMapSpec> maps;
  // The ELF with DWARF for types (--vmlinux), when not among the maps.
  std::optional<std::string> debug_file;
  // Added to every address of the debug file (KASLR). Unset: found from
  // the guest (kaslr.h) when the debug file is a Linux kernel's (has
  // init_task), else 0.
  std::optional<std::int64_t> kaslr_offset;
  // Where the host files of the guest's kernel modules are looked for
  // (relocated_maps(); default: /usr/lib/debug or
  // $XENTT_DEBUG_FILE_DIRECTORY, then debuginfod).
  sym::DebugFileOptions debug;
  // Types already open (shared_types() of an earlier Inspector of the same
  // guest): its name indexes, 0.5 s to build for a 6.1 vmlinux, are built
  // once. Unset: opened from debug_file or the maps on first use.
  std::shared_ptr<sym::DebugTypes> types;
};

// What `translate` found: the mapping, or where the walk stopped.
struct Translation {
  std::uint64_t vaddr = 0;
  Paging paging;
  std::optional<PageMapping> mapping;
  std::optional<WalkFault> fault;
  std::string to_text() const;
  nlohmann::json to_json() const;
};

class Inspector {
 public:
  // Nothing is read until asked. `target` must outlive the Inspector.
  Inspector(Target& target, InspectorOptions opts);
  ~Inspector();
  Inspector(const Inspector&) = delete;
  Inspector& operator=(const Inspector&) = delete;

  // vCPU `vcpu`'s registers (read once). Cost (engine qemu): a gdbstub round trip.
  const Registers& registers(unsigned vcpu = 0);

  // A number (0x.. hex or decimal: text starting with a digit,
  // parse_u64()), or a symbol of the guest's symbol files (with the KASLR
  // offset). Throws BadInput for a malformed number, and naming the symbol
  // and the files searched for an unknown one.
  std::uint64_t address_of(const std::string& text);

  // `len` bytes at guest-physical `paddr` / guest-virtual `vaddr` through
  // `cr3`'s tables (default: vCPU 0's). Throws BadInput naming the first
  // address that cannot be read.
  std::string read_physical(std::uint64_t paddr, std::size_t len);
  std::string read_virtual(std::uint64_t vaddr, std::size_t len, std::optional<std::uint64_t> cr3 = {});
  Translation translate(std::uint64_t vaddr, std::optional<std::uint64_t> cr3 = {});

  // A typed value of EXPR (typed_value.h), printed as gdb's `print` does
  // / as JSON. Throws BadInput for an unknown name or field, a failed read
  // (naming the part of the expression read), no DWARF.
  std::string print(const std::string& expr);
  nlohmann::json print_json(const std::string& expr);

  // The target looked at.
  Target& target();

  // Guest-physical memory; the kernel's (vCPU 0's) guest-virtual memory.
  const GuestMemory& physical();
  // Guest RAM as its kernel numbers it (TargetRam): what a vmcore holds.
  const GuestMemory& ram();
  const AddressSpace& kernel_space();
  // The DWARF types (opened on first use).
  const sym::DebugTypes& types();
  // The same, to hand to later Inspectors of this guest (options().types).
  std::shared_ptr<sym::DebugTypes> shared_types();

  // The KASLR slide: the option's, else (a Linux kernel's DWARF)
  // find_kaslr_slide() over kernel_space(), once, else 0. Throws what
  // find_kaslr_slide throws.
  std::uint64_t kaslr_slide();

  // The symbol maps as the guest has them: the kernel's (the map whose
  // file gives the types) moved by kaslr_slide(), the others as given;
  // before them, module_maps(warn). Throws what kaslr_slide() throws.
  std::vector<sym::SymbolMapSpec> relocated_maps(const std::function<void(const std::string&)>& warn = {});

  // A Linux guest's loaded modules as symbol maps: one per part of each
  // module's memory that stays after init (linux_module_maps.h), its .ko
  // found on the host by the build-id read from the guest
  // (DebugFileFinder::find_module_file, options().debug) and loaded at the
  // module's section addresses, prefixed with the module's name
  // ("virtio_net:", as crash and drgn tag module symbols "[virtio_net]").
  // A module whose sections, build-id or file are not found is said once
  // through `warn` and left out (its addresses stay unnamed); a guest
  // whose kernel DWARF has no module list (not Linux) has none, silently.
  // Throws only Runtime (the engine's memory failing). Cost:
  // linux_module_symbols()'s reads, then the file search (a few stat()s
  // and build-id reads per module).
  std::vector<sym::SymbolMapSpec> module_maps(const std::function<void(const std::string&)>& warn = {});

  // Typed reads of the kernel (vCPU 0's address space, the slide, CPU 0's
  // per-CPU offset), for the OS views (linux_tasks.h, linux_modules.h,
  // linux_dmesg.h). Valid while the Inspector lives. Throws what types()
  // and kaslr_slide() throw.
  EvalContext kernel_context();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xentt::vmi
