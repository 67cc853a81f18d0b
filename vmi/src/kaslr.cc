#include "xentt/vmi/kaslr.h"

#include <fmt/format.h>

#include <cstring>

#include "xentt/base/error.h"

namespace xentt::vmi {

namespace {

constexpr std::uint64_t kImageLo = 0xffffffff80000000ull;  // __START_KERNEL_map
constexpr std::uint64_t kImageHi = 0xffffffffc0000000ull;  // + KERNEL_IMAGE_SIZE (1 GiB)
constexpr std::uint64_t kAlign = 2ull << 20;

// Whether the `n` bytes at `addr` start with `text` (and, with `nul_at_end`,
// hold one string of exactly n - 1 characters).
bool reads(const GuestMemory& m, std::uint64_t addr, const char* text, std::size_t n = 0, bool nul_at_end = false) {
  if (n == 0) n = std::strlen(text);
  std::string got;
  try {
    got = m.read_bytes(addr, n);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;  // not mapped: not this candidate
    return false;
  }
  if (got.compare(0, std::strlen(text), text) != 0) return false;
  return !nul_at_end || got.find('\0') == n - 1;
}

}  // namespace

std::uint64_t find_kaslr_slide(const sym::DebugTypes& types, const GuestMemory& kernel) {
  auto banner = types.find_variable("linux_banner");
  if (!banner || banner->address < kImageLo || banner->address >= kImageHi)
    throw bad_input(fmt::format("{} is not an x86-64 Linux kernel's debug file (no linux_banner in the kernel "
                                "image range): cannot find the KASLR slide; give --kaslr-offset",
                                types.path()));
  auto uts = types.find_variable("init_uts_ns");
  // The debug file's banner is one string of its array's length (less the
  // NUL): another build's (another date, version or compiler) rarely is.
  const sym::Type* bt = sym::strip(banner->type);
  std::uint64_t banner_len = bt->kind == sym::TypeKind::Array && !bt->dims.empty() ? bt->dims[0] : 0;
  if (banner_len > 4096 || banner_len < 15) banner_len = 0;
  auto matches = [&](std::uint64_t slide) {
    if (!reads(kernel, banner->address + slide, "Linux version ", banner_len, banner_len != 0)) return false;
    // init_uts_ns.name.sysname is its first bytes (struct uts_namespace
    // starts with struct new_utsname name): "Linux".
    if (uts) {
      std::uint64_t off = types.member(types.member(uts->type, "name").type, "sysname").offset +
                          types.member(uts->type, "name").offset;
      return reads(kernel, uts->address + slide + off, "Linux");
    }
    return true;
  };
  if (matches(0)) return 0;
  // Every 2 MiB-aligned slide that keeps linux_banner inside the range.
  std::uint64_t first = kImageLo + (banner->address - kImageLo) % kAlign;
  for (std::uint64_t at = first; at < kImageHi; at += kAlign) {
    std::uint64_t slide = at - banner->address;  // wraps for a negative slide, as addresses do
    if (slide != 0 && matches(slide)) return slide;
  }
  throw bad_input(fmt::format("no \"Linux version\" banner at linux_banner ({:#x}) plus any 2 MiB-aligned slide: "
                              "the guest's kernel is not {}'s, or it is not running yet",
                              banner->address, types.path()));
}

}  // namespace xentt::vmi
