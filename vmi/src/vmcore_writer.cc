#include "xentt/vmi/vmcore_writer.h"

#include <elf.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/procfs.h>
#include <sys/reg.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"

namespace xentt::vmi {

namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::size_t kChunk = 1 << 20;

std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

// One ELF note: header, name and descriptor, each padded to 4 bytes.
void append_note(std::string& out, const std::string& name, std::uint32_t type, const void* desc, std::size_t size) {
  Elf64_Nhdr h{static_cast<Elf64_Word>(name.size() + 1), static_cast<Elf64_Word>(size), type};
  out.append(reinterpret_cast<const char*>(&h), sizeof h);
  out.append(name);
  out.append(align_up(name.size() + 1, 4) - name.size(), '\0');
  out.append(static_cast<const char*>(desc), size);
  out.append(align_up(size, 4) - size, '\0');
}

// The registers as the kernel's NT_PRSTATUS holds them (struct
// user_regs_struct order, <sys/reg.h>); registers the engine could not read
// are 0 there, as in a kdump core of a CPU that did not save them.
elf_prstatus prstatus_of(const Registers& r, int pid) {
  elf_prstatus p;
  std::memset(&p, 0, sizeof p);
  p.pr_pid = pid;
  auto set = [&](int slot, Reg reg) { p.pr_reg[slot] = r.get(reg).value_or(0); };
  set(R15, Reg::r15), set(R14, Reg::r14), set(R13, Reg::r13), set(R12, Reg::r12), set(RBP, Reg::rbp);
  set(RBX, Reg::rbx), set(R11, Reg::r11), set(R10, Reg::r10), set(R9, Reg::r9), set(R8, Reg::r8);
  set(RAX, Reg::rax), set(RCX, Reg::rcx), set(RDX, Reg::rdx), set(RSI, Reg::rsi), set(RDI, Reg::rdi);
  p.pr_reg[ORIG_RAX] = ~0ull;  // not in a system call
  set(RIP, Reg::rip), set(CS, Reg::cs), set(EFLAGS, Reg::rflags), set(RSP, Reg::rsp), set(SS, Reg::ss);
  set(FS_BASE, Reg::fs_base), set(GS_BASE, Reg::gs_base), set(DS, Reg::ds), set(ES, Reg::es);
  set(FS, Reg::fs), set(GS, Reg::gs);
  return p;
}

class OutFile {
 public:
  explicit OutFile(std::filesystem::path p) : path_(std::move(p)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw system_error("cannot create " + path_.string(), errno);
  }
  ~OutFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  void write_at(std::uint64_t off, const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n) {
      ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(off));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw system_error(fmt::format("cannot write {} at offset {}", path_.string(), off), errno);
      p += w, off += static_cast<std::uint64_t>(w), n -= static_cast<std::size_t>(w);
    }
  }
  void close() {
    if (::close(fd_) != 0) {
      fd_ = -1;
      throw system_error("cannot write " + path_.string(), errno);
    }
    fd_ = -1;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace

void write_vmcore(const std::filesystem::path& path, const VmcoreSpec& spec, const GuestMemory& phys,
                  const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  // Notes first: their size places everything after them.
  std::string notes;
  int pid = 1;
  for (const auto& r : spec.vcpus) {
    elf_prstatus p = prstatus_of(r, pid++);
    append_note(notes, "CORE", NT_PRSTATUS, &p, sizeof p);
  }
  if (!spec.vmcoreinfo.empty()) append_note(notes, "VMCOREINFO", 0, spec.vmcoreinfo.data(), spec.vmcoreinfo.size());

  const std::size_t nphdr = 1 + spec.ram.size() + spec.views.size();
  std::vector<Elf64_Phdr> ph(nphdr);
  std::uint64_t off = sizeof(Elf64_Ehdr) + nphdr * sizeof(Elf64_Phdr);
  ph[0] = Elf64_Phdr{PT_NOTE, 0, off, 0, 0, notes.size(), notes.size(), 0};
  off = align_up(off + notes.size(), kPage);
  std::uint64_t total = 0;
  std::vector<std::uint64_t> ram_off(spec.ram.size());
  for (std::size_t i = 0; i < spec.ram.size(); ++i) {
    const PhysicalRange& r = spec.ram[i];
    ram_off[i] = off;
    ph[1 + i] = Elf64_Phdr{PT_LOAD, PF_R | PF_W | PF_X, off, spec.direct_map_base ? *spec.direct_map_base + r.guest : 0,
                           r.guest, r.size, r.size, kPage};
    off += r.size;
    total += r.size;
  }
  for (std::size_t i = 0; i < spec.views.size(); ++i) {
    const auto& v = spec.views[i];
    std::optional<std::uint64_t> at;
    for (std::size_t k = 0; k < spec.ram.size(); ++k) {
      const PhysicalRange& r = spec.ram[k];
      if (v.paddr >= r.guest && v.paddr - r.guest <= r.size && v.size <= r.size - (v.paddr - r.guest))
        at = ram_off[k] + (v.paddr - r.guest);
    }
    if (!at)
      throw bad_input(fmt::format("vmcore: the view of {:#x} bytes at guest-physical {:#x} is not inside the RAM written",
                                  v.size, v.paddr));
    ph[1 + spec.ram.size() + i] = Elf64_Phdr{PT_LOAD, PF_R | PF_W | PF_X, *at, v.vaddr, v.paddr, v.size, v.size, kPage};
  }

  Elf64_Ehdr eh;
  std::memset(&eh, 0, sizeof eh);
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
  eh.e_type = ET_CORE;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof(Elf64_Ehdr);
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = static_cast<Elf64_Half>(nphdr);

  // Written under a temporary name, renamed when whole.
  write_then_rename(path, [&](const std::filesystem::path& tmp) {
    OutFile f(tmp);
    f.write_at(0, &eh, sizeof eh);
    f.write_at(sizeof eh, ph.data(), ph.size() * sizeof(Elf64_Phdr));
    f.write_at(ph[0].p_offset, notes.data(), notes.size());
    std::vector<std::byte> buf(kChunk);
    std::uint64_t done = 0;
    for (std::size_t i = 0; i < spec.ram.size(); ++i) {
      const PhysicalRange& r = spec.ram[i];
      for (std::uint64_t at = 0; at < r.size; at += kChunk) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, r.size - at));
        phys.read(r.guest + at, std::span(buf.data(), n));
        f.write_at(ram_off[i] + at, buf.data(), n);
        done += n;
        if (progress) progress(done, total);
      }
    }
    f.close();
  });
}

}  // namespace xentt::vmi
