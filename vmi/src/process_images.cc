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

// The first page of the file `file` (a struct file *) from the kernel's
// page cache, where a file's first page stays after exec or ld.so read
// its header, even when no process has touched its mapping: the file's
// i_pages xarray at index 0 (slot 0 down from the head), the struct page
// there turned into its guest-physical frame (vmemmap_base) and read
// through the direct map (page_offset_base). Empty (and `why` set) when a
// step fails: not cached (or evicted: a value entry), or a kernel without
// those variables. Cost: 3-6 small reads and one of 4 KiB.
std::string read_head_from_page_cache(const EvalContext& cx, std::uint64_t file, std::string& why) {
  try {
    if (!cx.types.find_variable("vmemmap_base") || !cx.types.find_variable("page_offset_base")) {
      why += "; the kernel's page cache is not readable here (no vmemmap_base/page_offset_base)";
      return {};
    }
    std::uint64_t mapping = evaluate_scalar(cx, fmt::format("((struct file *){:#x})->f_mapping", file));
    std::uint64_t entry = evaluate_scalar(cx, fmt::format("((struct address_space *){:#x})->i_pages.xa_head", mapping));
    // An xarray node is an internal entry ((v & 3) == 2, above 4096);
    // index 0 is slot 0 at every level down to shift 0.
    for (int depth = 0; (entry & 3) == 2 && entry > 4096; ++depth) {
      if (depth > 12) throw bad_input(fmt::format("the page cache of struct file {:#x} is deeper than 12 levels", file));
      entry = evaluate_scalar(cx, fmt::format("((struct xa_node *){:#x})->slots[0]", entry - 2));
    }
    if (entry == 0 || (entry & 1)) {  // empty, or a value (a shadow of an evicted page)
      why += "; its first page is not in the page cache either";
      return {};
    }
    std::uint64_t vmemmap = evaluate_scalar(cx, "vmemmap_base"), direct = evaluate_scalar(cx, "page_offset_base");
    std::uint64_t page_size = size_of(cx, &cx.types.type("struct page"));
    if (entry < vmemmap || page_size == 0) throw bad_input(fmt::format("page-cache entry {:#x} is not a struct page", entry));
    std::uint64_t phys = (entry - vmemmap) / page_size * 4096;
    std::string b(kHeaderSpan, '\0');
    read_for(cx, fmt::format("the first page of struct file {:#x} (guest-physical {:#x})", file, phys), direct + phys,
             std::as_writable_bytes(std::span(b.data(), b.size())));
    return b;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    why += std::string("; from the page cache: ") + e.what();
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
          std::uint64_t image = evaluate_scalar(cx, fmt::format("((struct mm_struct *){:#x})->context.vdso_image", mm));
          std::uint64_t data = evaluate_scalar(cx, fmt::format("((struct vdso_image *){:#x})->data", image));
          head = read_head(cx, data, kHeaderSpan, why);
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::BadInput) throw;
          why = e.what();
        }
      }
    } else {
      std::uint64_t file = 0;
      for (const LinuxVma& v : vmas)
        if (v.file && v.inode == img.inode) {
          file = v.file;
          if (v.pgoff != 0) continue;
          head = read_head(cx, v.start, v.end - v.start, why);
          break;
        }
      if (head.empty() && file) head = read_head_from_page_cache(cx, file, why);
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
