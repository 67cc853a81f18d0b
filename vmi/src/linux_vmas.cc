#include "xentt/vmi/linux_vmas.h"

#include <fmt/format.h>

#include <map>

#include "xentt/base/error.h"
#include "xentt/vmi/maple_tree.h"

namespace xentt::vmi {

namespace {

std::optional<sym::Member> find_member(const EvalContext& cx, const sym::Type* t, const std::string& name) {
  try {
    return cx.types.member(t, name);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    return std::nullopt;
  }
}

std::uint64_t offset_of(const EvalContext& cx, const char* type, const char* member) {
  return cx.types.member(&cx.types.type(type), member).offset;
}

// vm_area_struct's fields read here, from the DWARF once.
struct VmaLayout {
  std::uint64_t start, end, flags, pgoff, file, next = 0;
  bool has_next = false;  // before 6.1: the mm->mmap list through vm_next
  std::uint64_t f_inode;
};

VmaLayout vma_layout(const EvalContext& cx) {
  const sym::Type* t = &cx.types.type("struct vm_area_struct");
  VmaLayout l;
  l.start = cx.types.member(t, "vm_start").offset;
  l.end = cx.types.member(t, "vm_end").offset;
  l.flags = cx.types.member(t, "vm_flags").offset;
  l.pgoff = cx.types.member(t, "vm_pgoff").offset;
  l.file = cx.types.member(t, "vm_file").offset;
  if (auto n = find_member(cx, t, "vm_next")) l.next = n->offset, l.has_next = true;
  l.f_inode = offset_of(cx, "struct file", "f_inode");
  return l;
}

}  // namespace

std::string linux_file_path(const EvalContext& cx, std::uint64_t file) {
  std::string what = fmt::format("struct file at {:#x}", file);
  std::uint64_t f_path = offset_of(cx, "struct file", "f_path");
  std::uint64_t p_mnt = offset_of(cx, "struct path", "mnt"), p_dentry = offset_of(cx, "struct path", "dentry");
  std::uint64_t d_parent = offset_of(cx, "struct dentry", "d_parent");
  std::uint64_t d_name = offset_of(cx, "struct dentry", "d_name");
  std::uint64_t q_name = offset_of(cx, "struct qstr", "name");
  std::uint64_t mnt_root = offset_of(cx, "struct vfsmount", "mnt_root");
  std::uint64_t m_mnt = offset_of(cx, "struct mount", "mnt");  // struct mount embeds the vfsmount
  std::uint64_t m_parent = offset_of(cx, "struct mount", "mnt_parent");
  std::uint64_t m_mountpoint = offset_of(cx, "struct mount", "mnt_mountpoint");
  std::uint64_t mnt = read_u64_for(cx, what + ": its f_path.mnt", file + f_path + p_mnt);
  std::uint64_t dentry = read_u64_for(cx, what + ": its f_path.dentry", file + f_path + p_dentry);
  std::vector<std::string> names;
  for (int steps = 0;; ++steps) {
    if (steps > 256) throw bad_input(fmt::format("{}: its path has more than 256 names (a loop?)", what));
    std::string at = fmt::format("{}: dentry {:#x}", what, dentry);
    std::uint64_t parent = read_u64_for(cx, at + ": its d_parent", dentry + d_parent);
    std::uint64_t root = mnt ? read_u64_for(cx, at + ": its mount's mnt_root", mnt + mnt_root) : 0;
    if (dentry == root || dentry == parent) {
      if (!mnt) break;
      std::uint64_t mount = mnt - m_mnt;
      std::uint64_t up = read_u64_for(cx, at + ": its mount's mnt_parent", mount + m_parent);
      if (up == mount || up == 0) break;  // the root of the namespace
      dentry = read_u64_for(cx, at + ": its mount's mnt_mountpoint", mount + m_mountpoint);
      mnt = up + m_mnt;
      continue;
    }
    std::uint64_t name = read_u64_for(cx, at + ": its d_name.name", dentry + d_name + q_name);
    names.push_back(read_c_string(cx, at + ": its name", name, 256));
    dentry = parent;
  }
  std::string path;
  for (auto it = names.rbegin(); it != names.rend(); ++it) path += "/" + *it;
  return path.empty() ? "/" : path;
}

std::vector<LinuxVma> linux_vmas(const EvalContext& cx, std::uint64_t mm, std::size_t max_vmas) {
  std::string what = fmt::format("mm_struct at {:#x}", mm);
  VmaLayout l = vma_layout(cx);
  const sym::Type* mm_type = &cx.types.type("struct mm_struct");
  std::vector<LinuxVma> vmas;  // address, start and end first: the rest below
  auto bounds = [](std::uint64_t address, std::uint64_t start, std::uint64_t end) {
    LinuxVma x;
    x.address = address, x.start = start, x.end = end;
    return x;
  };
  if (auto mt = find_member(cx, mm_type, "mm_mt")) {
    for (const MapleEntry& e : maple_tree_entries(cx, mm + mt->offset)) {
      const std::string at = fmt::format("{}: VMA {:#x}", what, e.value);
      std::uint64_t start = read_u64_for(cx, at + ": its vm_start", e.value + l.start);
      std::uint64_t end = read_u64_for(cx, at + ": its vm_end", e.value + l.end);
      if (start != e.first || end - 1 != e.last)
        throw bad_input(fmt::format("{}: VMA {:#x} says {:#x}-{:#x}, its tree entry {:#x}-{:#x}", what, e.value, start,
                                    end, e.first, e.last + 1));
      vmas.push_back(bounds(e.value, start, end));
      if (vmas.size() > max_vmas) throw bad_input(fmt::format("{}: more than {} VMAs", what, max_vmas));
    }
  } else if (auto head = find_member(cx, mm_type, "mmap"); head && l.has_next) {
    std::uint64_t prev_end = 0;
    for (std::uint64_t v = read_u64_for(cx, what + ": its mmap", mm + head->offset); v != 0;
         v = read_u64_for(cx, fmt::format("{}: VMA {:#x}: its vm_next", what, v), v + l.next)) {
      std::uint64_t start = read_u64_for(cx, fmt::format("{}: VMA {:#x}: its vm_start", what, v), v + l.start);
      if (start < prev_end) throw bad_input(fmt::format("{}: VMA {:#x} starts below the one before it", what, v));
      prev_end = read_u64_for(cx, fmt::format("{}: VMA {:#x}: its vm_end", what, v), v + l.end);
      vmas.push_back(bounds(v, start, prev_end));
      if (vmas.size() > max_vmas) throw bad_input(fmt::format("{}: more than {} VMAs (a loop?)", what, max_vmas));
    }
  } else {
    throw bad_input(fmt::format("{}: struct mm_struct has neither mm_mt nor mmap", cx.types.path()));
  }
  std::uint64_t vdso = 0;
  if (auto ctx = find_member(cx, mm_type, "context"))
    if (auto v = find_member(cx, ctx->type, "vdso"))
      vdso = read_u64_for(cx, what + ": its context.vdso", mm + ctx->offset + v->offset);
  std::map<std::uint64_t, std::string> paths;  // by struct file: ld.so maps each library 4-5 times
  for (LinuxVma& x : vmas) {
    const std::uint64_t v = x.address;
    std::string at = fmt::format("{}: VMA {:#x}", what, v);
    x.flags = read_u64_for(cx, at + ": its vm_flags", v + l.flags);
    x.pgoff = read_u64_for(cx, at + ": its vm_pgoff", v + l.pgoff);
    x.file = read_u64_for(cx, at + ": its vm_file", v + l.file);
    if (x.file) {
      x.inode = read_u64_for(cx, at + ": its file's f_inode", x.file + l.f_inode);
      auto [it, fresh] = paths.try_emplace(x.file);
      if (fresh) {
        try {
          it->second = linux_file_path(cx, x.file);
        } catch (const Error& e) {
          if (e.kind() != ErrorKind::BadInput) throw;
          it->second = "?";
        }
      }
      x.path = it->second;
    } else if (vdso && x.start == vdso) {
      x.path = "[vdso]";
    }
  }
  return vmas;
}

}  // namespace xentt::vmi
