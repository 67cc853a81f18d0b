// vmcore_writer: the ELF core read back with elfutils' libelf (not our
// code): program headers, notes and RAM bytes where ELF says they are.
#include <fcntl.h>
#include <gelf.h>
#include <sys/procfs.h>
#include <sys/reg.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>
#include <cstring>
#include <filesystem>

#include "unit_util.h"
#include "vmi_fake_ram.h"
#include "xentt/base/fs_util.h"
#include "xentt/vmi/vmcore_writer.h"

using namespace xentt;
using namespace xentt::test;

namespace {

struct ElfFile {
  int fd = -1;
  Elf* elf = nullptr;
  explicit ElfFile(const std::filesystem::path& p) {
    elf_version(EV_CURRENT);
    fd = ::open(p.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    elf = elf_begin(fd, ELF_C_READ, nullptr);
    REQUIRE(elf != nullptr);
  }
  ~ElfFile() {
    elf_end(elf);
    ::close(fd);
  }
  std::vector<GElf_Phdr> phdrs() const {
    std::size_t n = 0;
    REQUIRE(elf_getphdrnum(elf, &n) == 0);
    std::vector<GElf_Phdr> out(n);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(gelf_getphdr(elf, static_cast<int>(i), &out[i]) != nullptr);
    return out;
  }
};

}  // namespace

TEST_CASE("vmcore: an ELF core libelf reads: notes, RAM at its physical and direct-map addresses, a shared view",
          "[vmi]") {
  FakeRam ram(3 * 4096 + 100);
  for (std::size_t i = 0; i < ram.mem.size(); ++i) ram.mem[i] = static_cast<std::byte>(i * 7 + 3);
  vmi::VmcoreSpec spec;
  spec.ram = {{0, 2 * 4096, 0}, {2 * 4096, 4096 + 100, 0}};
  spec.direct_map_base = 0xffff888000000000ull;
  spec.views.push_back({0xffffffff81000000ull, 4096 + 16, 64});
  Registers r;
  r.set(Reg::rip, 0xffffffff81001234ull);
  r.set(Reg::rsp, 0xffffc90000003f00ull);
  r.set(Reg::rax, 42);
  r.set(Reg::rflags, 0x246);
  spec.vcpus = {r};
  spec.vmcoreinfo = "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n";
  TempDir t;
  auto file = t.path / "vmcore";
  vmi::write_vmcore(file, spec, ram);

  ElfFile f(file);
  GElf_Ehdr eh;
  REQUIRE(gelf_getehdr(f.elf, &eh) != nullptr);
  CHECK(eh.e_type == ET_CORE);
  CHECK(eh.e_machine == EM_X86_64);
  auto ph = f.phdrs();
  REQUIRE(ph.size() == 4);
  CHECK(ph[0].p_type == PT_NOTE);
  std::string bytes = read_file(file);
  for (int i = 1; i <= 2; ++i) {
    const auto& p = ph[static_cast<std::size_t>(i)];
    const auto& want = spec.ram[static_cast<std::size_t>(i - 1)];
    CHECK(p.p_type == PT_LOAD);
    CHECK(p.p_paddr == want.guest);
    CHECK(p.p_vaddr == 0xffff888000000000ull + want.guest);
    CHECK(p.p_filesz == want.size);
    CHECK(p.p_offset % 4096 == 0);
    CHECK(std::memcmp(bytes.data() + p.p_offset, ram.mem.data() + want.guest, want.size) == 0);
  }
  // The kernel-image view shares the RAM segment's bytes.
  CHECK(ph[3].p_vaddr == 0xffffffff81000000ull);
  CHECK(ph[3].p_paddr == 4096 + 16);
  CHECK(ph[3].p_offset == ph[1].p_offset + 4096 + 16);
  CHECK(ph[3].p_filesz == 64);

  // Notes, walked with libelf's note parser.
  Elf_Data* d = elf_getdata_rawchunk(f.elf, static_cast<int64_t>(ph[0].p_offset), ph[0].p_filesz, ELF_T_NHDR);
  REQUIRE(d != nullptr);
  std::size_t off = 0, name_off = 0, desc_off = 0;
  GElf_Nhdr nh;
  std::vector<std::pair<std::string, std::string>> notes;  // (name, desc)
  while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0)
    notes.emplace_back(std::string(static_cast<const char*>(d->d_buf) + name_off, nh.n_namesz ? nh.n_namesz - 1 : 0),
                       std::string(static_cast<const char*>(d->d_buf) + desc_off, nh.n_descsz));
  REQUIRE(notes.size() == 2);
  CHECK(notes[0].first == "CORE");
  REQUIRE(notes[0].second.size() == sizeof(elf_prstatus));
  elf_prstatus pr;
  std::memcpy(&pr, notes[0].second.data(), sizeof pr);
  CHECK(pr.pr_reg[RIP] == 0xffffffff81001234ull);
  CHECK(pr.pr_reg[RSP] == 0xffffc90000003f00ull);
  CHECK(pr.pr_reg[RAX] == 42);
  CHECK(pr.pr_reg[EFLAGS] == 0x246);
  CHECK(pr.pr_reg[RBX] == 0);  // not read: 0, as a kdump core of a CPU that did not save it
  CHECK(notes[1].first == "VMCOREINFO");
  CHECK(notes[1].second == spec.vmcoreinfo);
}

TEST_CASE("vmcore: a view outside the RAM written, or RAM that cannot be read, leaves no file", "[vmi]") {
  FakeRam ram(8192);
  vmi::VmcoreSpec spec;
  spec.ram = {{0, 8192, 0}};
  spec.views.push_back({0xffffffff81000000ull, 8000, 4096});
  TempDir t;
  auto file = t.path / "vmcore";
  CHECK(status_of([&] { vmi::write_vmcore(file, spec, ram); }) == 2);
  spec.views.clear();
  spec.ram = {{0, 16384, 0}};  // more than the fake holds
  CHECK(status_of([&] { vmi::write_vmcore(file, spec, ram); }) == 2);
  CHECK(std::distance(std::filesystem::directory_iterator(t.path), std::filesystem::directory_iterator()) == 0);
}
