#include "xentt/vmi/process_images.h"

#include <fmt/format.h>

#include <cstring>
#include <map>

#include "xentt/base/error.h"

namespace xentt::vmi {

namespace {

constexpr std::size_t kHeaderSpan = 4096;  // ELF header, program headers and notes: the first page, in practice

template <class T>
T get(std::string_view b, std::size_t off) {
  T v{};
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

// The first `kHeaderSpan` bytes at `addr`, or as many as the page holds
// readable; empty (and `why` set) when not even the header can be read.
std::string read_head(const EvalContext& cx, std::uint64_t addr, std::uint64_t limit, std::string& why) {
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kHeaderSpan, limit));
  std::string b(n, '\0');
  try {
    cx.memory.read(addr, std::as_writable_bytes(std::span(b.data(), b.size())));
    return b;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    why = e.what();
    return {};
  }
}

}  // namespace

std::string elf_build_id_in(std::string_view b) {
  if (b.size() < 64 || b.substr(0, 4) != "\x7f" "ELF" || b[4] != 2 /*ELFCLASS64*/ || b[5] != 1 /*LSB*/) return {};
  auto phoff = get<std::uint64_t>(b, 0x20);
  auto phentsize = get<std::uint16_t>(b, 0x36), phnum = get<std::uint16_t>(b, 0x38);
  if (phentsize < 56 || phoff > b.size() || phnum > (b.size() - phoff) / phentsize) return {};
  for (std::size_t i = 0; i < phnum; ++i) {
    std::size_t ph = phoff + i * phentsize;
    if (get<std::uint32_t>(b, ph) != 4 /*PT_NOTE*/) continue;
    auto off = get<std::uint64_t>(b, ph + 8), size = get<std::uint64_t>(b, ph + 32);
    if (off > b.size() || size > b.size() - off) continue;  // not within what was read
    std::string_view notes = b.substr(off, size);
    for (std::size_t p = 0; p + 12 <= notes.size();) {
      auto namesz = get<std::uint32_t>(notes, p), descsz = get<std::uint32_t>(notes, p + 4);
      auto type = get<std::uint32_t>(notes, p + 8);
      std::size_t name_at = p + 12, desc_at = name_at + ((namesz + 3ull) & ~3ull);
      std::size_t next = desc_at + ((descsz + 3ull) & ~3ull);
      if (next > notes.size() || next <= p) break;
      if (type == 3 /*NT_GNU_BUILD_ID*/ && namesz == 4 && notes.substr(name_at, 4) == std::string_view("GNU\0", 4))
        return std::string(notes.substr(desc_at, descsz));
      p = next;
    }
  }
  return {};
}

std::vector<ProcessImage> process_images(const EvalContext& cx, std::uint64_t mm, const std::vector<LinuxVma>& vmas) {
  std::vector<ProcessImage> out;
  std::map<std::uint64_t, std::size_t> by_inode;  // a file mapped several times is one image
  for (const LinuxVma& v : vmas) {
    if (!v.executable() || (!v.file && v.path != "[vdso]")) continue;
    std::size_t k;
    if (v.file) {
      auto [it, fresh] = by_inode.try_emplace(v.inode, out.size());
      if (fresh) out.push_back({v.path, v.inode, {}, {}, {}});
      k = it->second;
    } else {
      k = out.size();
      out.push_back({v.path, 0, {}, {}, {}});
    }
    out[k].code.push_back({v.start, v.end, v.pgoff * 4096});
  }
  for (ProcessImage& img : out) {
    std::string why = "no mapping of its first page";
    std::string head;
    if (!img.inode) {  // the vDSO: mapped whole at its start
      head = read_head(cx, img.code.front().start, img.code.front().end - img.code.front().start, why);
      if (head.empty()) {  // its page not touched yet: the kernel's copy of the image
        try {
          std::uint64_t image = read_scalar(cx, evaluate(cx, fmt::format("((struct mm_struct *){:#x})->context.vdso_image", mm)));
          std::uint64_t data = read_scalar(cx, evaluate(cx, fmt::format("((struct vdso_image *){:#x})->data", image)));
          head = read_head(cx, data, kHeaderSpan, why);
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::BadInput) throw;
          why = e.what();
        }
      }
    } else {
      for (const LinuxVma& v : vmas)
        if (v.file && v.inode == img.inode && v.pgoff == 0) {
          head = read_head(cx, v.start, v.end - v.start, why);
          break;
        }
    }
    if (!head.empty()) {
      img.build_id = elf_build_id_in(head);
      if (img.build_id.empty()) why = "no build-id note in its first page";
    }
    if (img.build_id.empty()) img.why = why;
  }
  return out;
}

}  // namespace xentt::vmi
