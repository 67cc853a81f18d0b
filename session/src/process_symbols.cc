#include "xentt/session/process_symbols.h"

#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "xentt/base/error.h"
#include "xentt/base/hex.h"
#include "xentt/vmi/linux_tasks.h"

namespace xentt {

namespace {

// The PT_LOAD headers of the ELF file at `path` (empty: not a 64-bit ELF
// file, or unreadable). Cost: two pread()s.
std::vector<Elf64_Phdr> load_segments(const std::string& path) {
  std::vector<Elf64_Phdr> out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  Elf64_Ehdr eh;
  if (::pread(fd, &eh, sizeof eh, 0) == static_cast<ssize_t>(sizeof eh) && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 4096) {
    std::vector<Elf64_Phdr> ph(eh.e_phnum);
    ssize_t want = static_cast<ssize_t>(ph.size() * sizeof(Elf64_Phdr));
    if (::pread(fd, ph.data(), static_cast<std::size_t>(want), static_cast<off_t>(eh.e_phoff)) == want)
      for (const auto& p : ph)
        if (p.p_type == PT_LOAD) out.push_back(p);
  }
  ::close(fd);
  return out;
}

bool is_file(const std::string& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

}  // namespace

ProcessSymbols::ProcessSymbols(std::vector<std::string> sysroots, sym::DebugFileOptions debug, Warn warn)
    : sysroots_(std::move(sysroots)), finder_(std::move(debug), warn), warn_(std::move(warn)) {
  sysroots_.push_back("/");
}

ProcessSymbols::~ProcessSymbols() = default;

std::string ProcessSymbols::host_file(const vmi::ProcessImage& img) {
  auto [it, fresh] = found_.try_emplace({img.guest_path, img.build_id});
  if (!fresh) return it->second;
  const std::string id = hex_encode(img.build_id);
  std::vector<std::string> looked;
  // The guest's path under each sysroot, its build-id checked. Without a
  // build-id from the guest only a sysroot the user named is trusted.
  if (!img.guest_path.empty() && img.guest_path[0] == '/') {
    for (std::size_t i = 0; i < sysroots_.size(); ++i) {
      std::string cand = (sysroots_[i] == "/" ? "" : sysroots_[i]) + img.guest_path;
      looked.push_back(cand);
      if (!is_file(cand)) continue;
      std::string found = sym::read_build_id(cand);
      if (!img.build_id.empty() && found == img.build_id) { it->second = cand; return it->second; }
      if (img.build_id.empty() && i + 1 < sysroots_.size()) {
        warn_(fmt::format("guest file {}: its build-id could not be read from the guest ({}); using {} unchecked",
                          img.guest_path, img.why, cand));
        { it->second = cand; return it->second; }
      }
      if (!img.build_id.empty() && i + 1 < sysroots_.size())
        warn_(fmt::format("{} is not the guest's {}: build-id {}, the guest's {}: not used", cand, img.guest_path,
                          found.empty() ? "none" : hex_encode(found), id));
    }
  }
  // The debug file (or the file itself) by build-id: the debug-file
  // directories, then debuginfod.
  if (!img.build_id.empty()) {
    sym::DebugLinks links;
    links.build_id = img.build_id;
    std::string missing;
    if (auto f = finder_.find_debug_file("", links, &missing)) { it->second = *f; return it->second; }
    looked.push_back(missing);
  }
  std::string where;
  for (const auto& l : looked) where += (where.empty() ? "" : ", ") + l;
  warn_(fmt::format("no host file for the guest's {} (build-id {}): looked at {}; give the tree the guest's files came "
                    "from with --sysroot DIR",
                    img.guest_path, img.build_id.empty() ? "unknown: " + img.why : id, where.empty() ? "nothing" : where));
  return it->second;
}

std::vector<sym::SymbolMapSpec> ProcessSymbols::maps(const std::vector<vmi::ProcessImage>& images) {
  std::vector<sym::SymbolMapSpec> out;
  for (const auto& img : images) {
    std::string file = host_file(img);
    if (file.empty()) continue;
    auto seg_it = segments_.find(file);
    if (seg_it == segments_.end()) seg_it = segments_.emplace(file, load_segments(file)).first;
    const std::vector<Elf64_Phdr>& segs = seg_it->second;
    for (const auto& c : img.code) {
      // The segment holding the mapping's first file byte gives the file's
      // address of that byte: p_vaddr + (offset - p_offset).
      const Elf64_Phdr* seg = nullptr;
      for (const auto& p : segs)
        if ((p.p_offset & ~0xfffull) <= c.file_offset && c.file_offset < p.p_offset + std::max(p.p_filesz, 1ul)) {
          seg = &p;
          break;
        }
      if (!seg) {
        warn_(fmt::format("{}: no loadable segment holds file offset {:#x}, which the guest's {} maps at {:#x}", file,
                          c.file_offset, img.guest_path, c.start));
        continue;
      }
      sym::SymbolMapSpec m;
      m.path = file;
      m.lo = c.start;
      m.hi = c.end;
      m.bias = c.start - (seg->p_vaddr + (c.file_offset - seg->p_offset));
      out.push_back(std::move(m));
    }
  }
  return out;
}

GuestProcess current_process(vmi::Inspector& insp, ProcessSymbols& processes) {
  vmi::EvalContext cx = insp.kernel_context();
  std::uint64_t task = vmi::current_task(cx);
  auto field = [&](const char* f) {
    return vmi::evaluate_scalar(cx, fmt::format("((struct task_struct *){:#x})->{}", task, f));
  };
  GuestProcess p;
  p.pid = static_cast<std::int64_t>(field("tgid"));
  sym::Member comm = cx.types.member(&cx.types.type("struct task_struct"), "comm");
  p.comm = vmi::read_c_string(cx, fmt::format("task_struct at {:#x}: its comm", task), task + comm.offset, 16);
  std::uint64_t mm = field("mm");
  if (mm == 0) throw bad_input(fmt::format("the current task, {} ({}), is a kernel thread: no user space", p.pid, p.comm));
  p.vmas = vmi::linux_vmas(cx, mm);
  p.maps = processes.maps(vmi::process_images(cx, mm, p.vmas));
  return p;
}

}  // namespace xentt
