// Finding separate debug files: build-id and debuglink paths under the
// debug-file directories, dwz's supplementary files, debuginfod.
#include "xentt/symbolize/debug_file.h"

#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>
#include <fmt/format.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "debug_links.h"
#include "module_index.h"
#include "xentt/base/hex.h"
#include "xentt/base/le_bytes.h"

namespace xentt::sym {

namespace fs = std::filesystem;

std::vector<std::string> default_debug_file_dirs() {
  std::vector<std::string> dirs;
  if (const char* e = std::getenv("XENTT_DEBUG_FILE_DIRECTORY"); e && *e) {
    std::string_view v = e;
    while (!v.empty()) {
      std::size_t c = v.find(':');
      std::string_view d = v.substr(0, c);
      if (!d.empty()) dirs.emplace_back(d);
      if (c == std::string_view::npos) break;
      v.remove_prefix(c + 1);
    }
  }
  if (dirs.empty()) dirs.emplace_back("/usr/lib/debug");
  return dirs;
}

namespace detail {

namespace {

// A section's bytes as stored, or an empty view.
std::string_view section_bytes(Elf_Scn* scn, const GElf_Shdr& sh) {
  if (sh.sh_type == SHT_NOBITS) return {};
  Elf_Data* d = elf_rawdata(scn, nullptr);
  if (!d || !d->d_buf) return {};
  return {static_cast<const char*>(d->d_buf), d->d_size};
}

void read_notes(Elf_Data* d, DebugLinks& out) {
  GElf_Nhdr nh;
  size_t off = 0, name_off, desc_off;
  while (out.build_id.empty() && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
        std::memcmp(static_cast<const char*>(d->d_buf) + name_off, "GNU", 4) == 0 && nh.n_descsz > 0)
      out.build_id.assign(static_cast<const char*>(d->d_buf) + desc_off, nh.n_descsz);
  }
}

}  // namespace

DebugLinks read_debug_links(Elf* elf) {
  DebugLinks out;
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf, &eh)) return out;
  bool big = eh.e_ident[EI_DATA] == ELFDATA2MSB;
  size_t shstrndx = 0;
  bool have_names = elf_getshdrstrndx(elf, &shstrndx) == 0;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    if (sh.sh_type == SHT_NOTE && out.build_id.empty()) {
      if (Elf_Data* d = elf_getdata(scn, nullptr)) read_notes(d, out);
      continue;
    }
    const char* cname = have_names ? elf_strptr(elf, shstrndx, sh.sh_name) : nullptr;
    if (!cname) continue;
    std::string_view name = cname;
    if (name == ".gnu_debuglink") {
      // The file name, NUL, padding to 4 bytes, the CRC-32 in the file's byte order.
      std::string_view b = section_bytes(scn, sh);
      std::size_t z = b.find('\0');
      if (z == std::string_view::npos || z == 0) continue;
      std::size_t crc_at = (z + 4) & ~std::size_t{3};
      if (crc_at + 4 > b.size()) continue;
      auto p = reinterpret_cast<const unsigned char*>(b.data() + crc_at);
      out.debuglink = std::string(b.substr(0, z));
      out.debuglink_crc = big ? (std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3])
                              : le::get_u32(p);
    } else if (name == ".gnu_debugaltlink") {
      // The file name, NUL, the supplementary file's build-id.
      std::string_view b = section_bytes(scn, sh);
      std::size_t z = b.find('\0');
      if (z == std::string_view::npos || z == 0 || z + 1 >= b.size()) continue;
      out.altlink = std::string(b.substr(0, z));
      out.alt_build_id = std::string(b.substr(z + 1));
    } else if (name == ".debug_sup" && out.altlink.empty()) {
      // DWARF 5: version (2), is_supplementary (1), file name, checksum
      // length (ULEB128) and bytes (dwz -5 puts the build-id there).
      // A supplementary file has is_supplementary 1 and its own checksum.
      std::string_view b = section_bytes(scn, sh);
      if (b.size() < 4 || (b[2] != 0 && b[2] != 1)) continue;
      std::size_t z = b.find('\0', 3);
      if (z == std::string_view::npos) continue;
      std::uint64_t len = 0;
      unsigned shift = 0;
      std::size_t i = z + 1;
      for (; i < b.size() && shift < 64; ++i, shift += 7) {
        len |= std::uint64_t(static_cast<unsigned char>(b[i]) & 0x7f) << shift;
        if (!(static_cast<unsigned char>(b[i]) & 0x80)) break;
      }
      if (i >= b.size() || len > b.size() - i - 1) continue;
      if (b[2] == 1) {
        out.sup_checksum = std::string(b.substr(i + 1, len));
      } else if (z > 3) {
        out.altlink = std::string(b.substr(3, z - 3));
        out.alt_build_id = std::string(b.substr(i + 1, len));
        out.alt_is_debug_sup = true;
      }
    }
  }
  if (out.build_id.empty()) {
    // No note section (section headers stripped): the PT_NOTE segments.
    size_t phnum = 0;
    if (elf_getphdrnum(elf, &phnum) == 0) {
      for (size_t i = 0; i < phnum && out.build_id.empty(); ++i) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, static_cast<int>(i), &ph) || ph.p_type != PT_NOTE) continue;
        if (Elf_Data* d = elf_getdata_rawchunk(elf, static_cast<int64_t>(ph.p_offset), ph.p_filesz, ELF_T_NHDR))
          read_notes(d, out);
      }
    }
  }
  return out;
}

bool has_debug_info(Elf* elf) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return false;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr sh;
    const char* n;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || sh.sh_size == 0 ||
        !(n = elf_strptr(elf, shstrndx, sh.sh_name)))
      continue;
    if (std::strcmp(n, ".debug_info") == 0 || std::strcmp(n, ".zdebug_info") == 0) return true;
  }
  return false;
}

}  // namespace detail

DebugLinks read_debug_links(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return {};
  struct stat st;
  DebugLinks links;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    elf_version(EV_CURRENT);
    if (Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr)) {
      if (elf_kind(elf) == ELF_K_ELF) links = detail::read_debug_links(elf);
      elf_end(elf);
    }
  }
  ::close(fd);
  return links;
}

namespace {

// The CRC-32 of a whole file (what .gnu_debuglink records); nullopt when unreadable.
std::optional<std::uint32_t> file_crc32(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return std::nullopt;
  }
  std::vector<char> buf(1 << 20);
  std::uint32_t crc = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    crc = le::crc32_of(crc, buf.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  return crc;
}

bool is_regular(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec);
}

std::string dir_of(const std::string& path) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(path, ec);
  if (ec) c = fs::absolute(path, ec);
  return c.parent_path().string();
}

std::string build_id_path(const std::string& dir, const std::string& hex) {
  return dir + "/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += ", ";
    s += x;
  }
  return s;
}

}  // namespace

struct DebugFileFinder::Debuginfod {
  void* lib = nullptr;
  debuginfod_client* client = nullptr;
  decltype(&debuginfod_begin) begin = nullptr;
  decltype(&debuginfod_end) end = nullptr;
  decltype(&debuginfod_find_debuginfo) find_debuginfo = nullptr;
  ~Debuginfod() {
    if (client) end(client);
    if (lib) ::dlclose(lib);
  }
};

DebugFileFinder::DebugFileFinder(DebugFileOptions opt, Warn warn) : opt_(std::move(opt)), warn_(std::move(warn)) {
  if (opt_.dirs.empty()) opt_.dirs = default_debug_file_dirs();
}

DebugFileFinder::~DebugFileFinder() = default;

void DebugFileFinder::warn_once(const std::string& msg) {
  if (said_.insert(msg).second && warn_) warn_(msg);
}

std::optional<std::string> DebugFileFinder::ask_debuginfod(const std::string& build_id, std::string& looked) {
  const char* urls = std::getenv("DEBUGINFOD_URLS");
  if (!opt_.debuginfod) {
    looked = "debuginfod: turned off";
    return std::nullopt;
  }
  if (!urls || !*urls) {
    looked = "debuginfod: DEBUGINFOD_URLS not set";
    return std::nullopt;
  }
  if (dfd_failed_) {
    looked = fmt::format("debuginfod {}: not asked (it failed earlier)", urls);
    return std::nullopt;
  }
  if (!dfd_) {
    // Loaded when first needed, as libdwfl does: a run that never asks
    // pays nothing for libcurl and its TLS libraries.
    auto d = std::make_unique<Debuginfod>();
    d->lib = ::dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
    if (d->lib) {
      d->begin = reinterpret_cast<decltype(d->begin)>(::dlsym(d->lib, "debuginfod_begin"));
      d->end = reinterpret_cast<decltype(d->end)>(::dlsym(d->lib, "debuginfod_end"));
      d->find_debuginfo = reinterpret_cast<decltype(d->find_debuginfo)>(::dlsym(d->lib, "debuginfod_find_debuginfo"));
    }
    const char* why = !d->lib ? ::dlerror() : nullptr;
    if (d->lib && d->begin && d->end && d->find_debuginfo) d->client = d->begin();
    if (!d->client) {
      warn_once(fmt::format("DEBUGINFOD_URLS is set but libdebuginfod cannot be used ({}): install libdebuginfod1; "
                            "going on without debuginfod",
                            why ? why : "debuginfod_begin failed"));
      dfd_failed_ = true;
      looked = "debuginfod: libdebuginfod unavailable";
      return std::nullopt;
    }
    dfd_ = std::move(d);
  }
  char* path = nullptr;
  int fd = dfd_->find_debuginfo(dfd_->client, reinterpret_cast<const unsigned char*>(build_id.data()),
                                static_cast<int>(build_id.size()), &path);
  if (fd >= 0) {
    ::close(fd);
    std::string p = path ? path : "";
    std::free(path);
    if (!p.empty()) return p;
    looked = fmt::format("debuginfod {}: no path returned", urls);
    return std::nullopt;
  }
  std::free(path);
  int err = -fd;
  if (err == ENOENT) {
    looked = fmt::format("debuginfod {}: not there", urls);
    return std::nullopt;
  }
  // Down, refusing, timed out ($DEBUGINFOD_TIMEOUT), or answering garbage:
  // said once, and not asked again in this run.
  warn_once(fmt::format("debuginfod {}: {} (asking for build-id {}); going on without debuginfod", urls,
                        std::system_category().message(err), hex_encode(build_id)));
  dfd_failed_ = true;
  looked = fmt::format("debuginfod {}: failed", urls);
  return std::nullopt;
}

std::optional<std::string> DebugFileFinder::find_debug_file(const std::string& path, const DebugLinks& links,
                                                            std::string* missing) {
  std::vector<std::string> looked, refused;
  const std::string hex = hex_encode(links.build_id);
  auto refuse = [&](const std::string& cand, const std::string& why) {
    refused.push_back(fmt::format("{}: not the debug file of {} ({})", cand, path, why));
  };
  auto report_refused = [&](const std::string& outcome) {
    for (const auto& r : refused) warn_once(r + ": refused; " + outcome);
  };
  // By build-id: the file must carry it.
  if (links.build_id.size() >= 2) {
    for (const auto& dir : opt_.dirs) {
      std::string cand = build_id_path(dir, hex);
      looked.push_back(cand);
      if (!is_regular(cand) || same_file(cand, path)) continue;
      std::string found = read_build_id(cand);
      if (found == links.build_id) {
        report_refused("using " + cand);
        return cand;
      }
      refuse(cand, fmt::format("build-id {}, expected {}", found.empty() ? "none" : hex_encode(found), hex));
    }
  }
  // By .gnu_debuglink: the file's CRC-32 must be the link's.
  if (!links.debuglink.empty()) {
    std::string fdir = dir_of(path);
    std::vector<std::string> cands = {fdir + "/" + links.debuglink, fdir + "/.debug/" + links.debuglink};
    for (const auto& dir : opt_.dirs) cands.push_back(dir + fdir + "/" + links.debuglink);
    for (const auto& cand : cands) {
      looked.push_back(cand);
      if (!is_regular(cand) || same_file(cand, path)) continue;
      auto crc = file_crc32(cand);
      if (!crc) continue;
      if (*crc != links.debuglink_crc) {
        refuse(cand, fmt::format("CRC-32 {:#010x}, .gnu_debuglink expects {:#010x}", *crc, links.debuglink_crc));
        continue;
      }
      if (!links.build_id.empty()) {
        std::string found = read_build_id(cand);
        if (!found.empty() && found != links.build_id) {
          refuse(cand, fmt::format("build-id {}, expected {}", hex_encode(found), hex));
          continue;
        }
      }
      report_refused("using " + cand);
      return cand;
    }
  }
  // A kernel module (NAME.ko): Debian's -dbg has no .build-id/ links for
  // modules, but the files under DIR/lib/modules/*/ carry the build-id.
  if (links.build_id.size() >= 2 && path.ends_with(".ko")) {
    if (!modules_) modules_ = std::make_unique<detail::ModuleFileIndex>(opt_.dirs);
    if (auto p = modules_->find(detail::module_key(path), links.build_id); p && !same_file(*p, path)) {
      report_refused("using " + *p);
      return p;
    }
    looked.push_back(modules_->where());
  }
  // debuginfod, by build-id.
  std::string dlooked;
  if (!links.build_id.empty()) {
    if (auto p = ask_debuginfod(links.build_id, dlooked)) {
      std::string found = read_build_id(*p);
      if (found == links.build_id) {
        report_refused("using " + *p);
        return p;
      }
      refuse(*p, fmt::format("build-id {}, expected {}", found.empty() ? "none" : hex_encode(found), hex));
    }
    looked.push_back(dlooked);
  }
  if (!refused.empty()) {
    report_refused(path + " is symbolized with its symbol table only");
    return std::nullopt;
  }
  std::string core = links.build_id.empty() && links.debuglink.empty()
                         ? std::string("no build-id or .gnu_debuglink to find a debug file by")
                         : fmt::format("no debug file {}(looked for {})",
                                       links.build_id.empty() ? "" : "for build-id " + hex + " ", join(looked));
  if (missing)
    *missing = std::move(core);
  else
    warn_once(path + ": no DWARF and " + core + ": symbol table only");
  return std::nullopt;
}

std::optional<std::string> DebugFileFinder::find_module_file(std::string_view name, const std::string& build_id,
                                                             std::string& missing) {
  const std::string hex = hex_encode(build_id);
  if (build_id.size() < 2) {
    missing = fmt::format("module {}: no build-id read from the guest to find its file by", name);
    return std::nullopt;
  }
  std::vector<std::string> looked;
  for (const auto& dir : opt_.dirs) {
    std::string cand = build_id_path(dir, hex);
    looked.push_back(cand);
    if (is_regular(cand) && read_build_id(cand) == build_id) return cand;
  }
  if (!modules_) modules_ = std::make_unique<detail::ModuleFileIndex>(opt_.dirs);
  if (auto p = modules_->find(name, build_id)) return p;
  looked.push_back(modules_->where() + " by build-id");
  std::string dlooked;
  if (auto p = ask_debuginfod(build_id, dlooked)) {
    if (read_build_id(*p) == build_id) return p;
    dlooked = *p + ": another build-id";
  }
  looked.push_back(dlooked);
  missing = fmt::format("module {}: no file with its build-id {} (looked for {}): its addresses stay unnamed; install "
                        "the kernel's -dbg package or give --debug-file-directory",
                        name, hex, join(looked));
  return std::nullopt;
}

std::optional<std::string> DebugFileFinder::find_alt_file(const std::string& path, const DebugLinks& links) {
  if (links.altlink.empty()) return std::nullopt;
  std::vector<std::string> looked, refused;
  const std::string hex = hex_encode(links.alt_build_id);
  std::vector<std::string> cands;
  if (links.altlink[0] == '/') {
    cands.push_back(links.altlink);
  } else {
    // Relative to the linking file's directory, as it was when dwz ran
    // (its real path), and as named.
    cands.push_back(dir_of(path) + "/" + links.altlink);
    std::string nominal = fs::path(path).parent_path().string();
    cands.push_back((nominal.empty() ? std::string(".") : nominal) + "/" + links.altlink);
  }
  if (links.alt_build_id.size() >= 2)
    for (const auto& dir : opt_.dirs) cands.push_back(build_id_path(dir, hex));
  // The id a candidate must carry: its build-id, or (.debug_sup) its own checksum.
  const char* id_name = links.alt_is_debug_sup ? ".debug_sup checksum" : "build-id";
  auto id_of = [&](const std::string& cand) {
    DebugLinks l = read_debug_links(cand);
    return links.alt_is_debug_sup ? l.sup_checksum : l.build_id;
  };
  std::vector<std::string> seen;
  for (const auto& cand : cands) {
    if (std::find(looked.begin(), looked.end(), cand) != looked.end()) continue;
    looked.push_back(cand);
    if (!is_regular(cand) ||
        std::any_of(seen.begin(), seen.end(), [&](const std::string& s) { return same_file(s, cand); }))
      continue;
    seen.push_back(cand);
    std::string found = id_of(cand);
    if (links.alt_build_id.empty() || found == links.alt_build_id) return cand;
    refused.push_back(
        fmt::format("{} ({} {}, expected {})", cand, id_name, found.empty() ? "none" : hex_encode(found), hex));
  }
  std::string dlooked;
  if (links.alt_build_id.size() >= 2 && !links.alt_is_debug_sup) {
    if (auto p = ask_debuginfod(links.alt_build_id, dlooked)) {
      std::string found = id_of(*p);
      if (found == links.alt_build_id) return p;
      refused.push_back(fmt::format("{} ({} {}, expected {})", *p, id_name, hex_encode(found), hex));
    }
    looked.push_back(dlooked);
  }
  std::string what = fmt::format("{}: its dwz supplementary file {} ({} {})", path, links.altlink,
                                 links.alt_is_debug_sup ? ".debug_sup checksum" : "build-id", hex);
  for (const auto& r : refused)
    warn_once(what + ": refused " + r + "; names kept there print as ?? or from the symbol table");
  if (refused.empty())
    warn_once(fmt::format("{} was not found (looked for {}); names kept there print as ?? or from the symbol table",
                          what, join(looked)));
  return std::nullopt;
}

}  // namespace xentt::sym
