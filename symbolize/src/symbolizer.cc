// Symbol maps (--symmap / STATEDIR/symfiles), the file cache and the
// address -> map -> file dispatch.
#include "xentt/symbolize/symbolizer.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <filesystem>
#include <sstream>

#include "xentt/base/error.h"
#include "xentt/base/input_file.h"

namespace xentt::sym {

namespace {

constexpr const char* kSyntax = "FILE[@lo-hi[+bias]][{SECTION=ADDR,...}][:prefix]";

std::uint64_t parse_hex(std::string_view s, const std::string& where, std::string_view spec) {
  if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    throw xentt::bad_input(fmt::format("{}: '{}' in '{}' is not a hex address; expected {}", where, s, spec, kSyntax));
  return v;
}

// "SECTION=ADDR,SECTION=ADDR" (the inside of the braces).
SectionAddresses parse_sections(std::string_view list, const std::string& where, std::string_view spec) {
  SectionAddresses out;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || !valid_section_name(item.substr(0, eq)))
      throw xentt::bad_input(fmt::format("{}: '{}' in '{}' is not SECTION=ADDR (a section name of letters, digits, "
                                         "'._-$', and a hex address); expected {}",
                                         where, item, spec, kSyntax));
    out.emplace_back(std::string(item.substr(0, eq)), parse_hex(item.substr(eq + 1), where, spec));
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

// The cache's key of a file loaded at `sections`.
std::string file_key(const std::string& path, const SectionAddresses& sections) {
  std::string k = path;
  for (const auto& [n, a] : sections) k += fmt::format("\n{}={:x}", n, a);
  return k;
}

}  // namespace

bool valid_section_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-' || c == '$'))
      return false;
  return true;
}

SymbolMapSpec parse_symmap(std::string_view spec, const std::string& base_dir, const std::string& where) {
  SymbolMapSpec m;
  std::string_view s = spec;
  // The prefix follows the first ':' after the last '/' (so directories
  // may contain ':'); the range follows the first '@' after the last '/'.
  std::size_t slash = s.rfind('/');
  std::size_t from = slash == std::string_view::npos ? 0 : slash + 1;
  std::size_t colon = s.find(':', from);
  if (colon != std::string_view::npos) {
    m.prefix = std::string(s.substr(colon + 1));
    if (!m.prefix.empty() && m.prefix.back() != ':') m.prefix += ':';
    s = s.substr(0, colon);
  }
  // The sections: the braces that end what is left.
  std::size_t brace = s.find('{', from);
  if (brace != std::string_view::npos) {
    if (s.back() != '}')
      throw xentt::bad_input(
          fmt::format("{}: the section list in '{}' does not end with '}}' before the prefix; expected {}", where,
                      spec, kSyntax));
    m.sections = parse_sections(s.substr(brace + 1, s.size() - brace - 2), where, spec);
    s = s.substr(0, brace);
  }
  std::size_t at = s.find('@', from);
  if (at != std::string_view::npos) {
    std::string_view range = s.substr(at + 1);
    s = s.substr(0, at);
    std::size_t plus = range.find('+');
    if (plus != std::string_view::npos) {
      m.bias = parse_hex(range.substr(plus + 1), where, spec);
      range = range.substr(0, plus);
    }
    std::size_t dash = range.find('-');
    if (dash == std::string_view::npos)
      throw xentt::bad_input(fmt::format("{}: range '{}' in '{}' has no '-'; expected FILE@lo-hi", where, range, spec));
    m.lo = parse_hex(range.substr(0, dash), where, spec);
    m.hi = parse_hex(range.substr(dash + 1), where, spec);
    if (m.hi <= m.lo)
      throw xentt::bad_input(fmt::format("{}: empty range in '{}' (hi must be above lo)", where, spec));
  }
  if (s.empty()) throw xentt::bad_input(fmt::format("{}: no file name in '{}'", where, spec));
  m.path = std::string(s);
  if (!base_dir.empty() && m.path[0] != '/') m.path = base_dir + "/" + m.path;
  return m;
}

std::string format_symmap(const SymbolMapSpec& m) {
  std::string s = m.path;
  if (m.lo != 0 || m.hi != ~0ull || m.bias != 0) {
    s += fmt::format("@{:x}-{:x}", m.lo, m.hi);
    if (m.bias) s += fmt::format("+{:x}", m.bias);
  }
  if (!m.sections.empty()) {
    s += '{';
    for (std::size_t i = 0; i < m.sections.size(); ++i) {
      const auto& [name, addr] = m.sections[i];
      if (!valid_section_name(name))
        throw xentt::bad_input(fmt::format("{}: section name '{}' cannot be written in a symbol map (letters, "
                                           "digits and '._-$' only)",
                                           m.path, name));
      s += fmt::format("{}{}={:x}", i ? "," : "", name, addr);
    }
    s += '}';
  }
  if (!m.prefix.empty()) s += ":" + m.prefix.substr(0, m.prefix.size() - 1);  // parse_symmap appends the ':'
  return s;
}

std::vector<SymbolMapSpec> read_symbol_map_list(const std::string& path, const std::string& what) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  // Through InputFile: a FIFO or directory in its place is refused at once.
  InputFile f = InputFile::open_regular(path, what);
  std::string text;
  char buf[4096];
  while (std::size_t n = f.read_some(buf, sizeof buf)) text.append(buf, n);
  std::istringstream in(text);
  std::vector<SymbolMapSpec> maps;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string_view v = line;
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    if (v.empty() || v[0] == '#') continue;
    maps.push_back(parse_symmap(v, dir, fmt::format("{}:{}", path, n)));
  }
  return maps;
}

SymbolFileCache::SymbolFileCache(Warn warn, SymbolizerOptions opt)
    : warn_(std::move(warn)), finder_(std::move(opt.debug), warn_) {
  load_.demangle = opt.demangle;
  load_.dwarf = opt.dwarf;
  load_.debug_files = &finder_;
}

SymbolFile* SymbolFileCache::get(const std::string& path, const SectionAddresses& sections) {
  std::string key = file_key(path, sections);
  if (auto it = files_.find(key); it != files_.end()) return it->second.get();
  // A file that failed once fails at any addresses: said once per path.
  if (failed_.count(path)) return nullptr;
  try {
    return get_or_throw(path, sections);
  } catch (const xentt::Error& e) {
    failed_[path] = e.what();
    if (warn_) warn_(std::string(e.what()) + " (addresses in its range print raw)");
    return nullptr;
  }
}

SymbolFile* SymbolFileCache::get_or_throw(const std::string& path, const SectionAddresses& sections) {
  std::string key = file_key(path, sections);
  if (auto it = files_.find(key); it != files_.end()) return it->second.get();
  load_.sections = sections;
  auto f = SymbolFile::open(path, load_);
  SymbolFile* raw = f.get();
  files_.emplace(std::move(key), std::move(f));
  return raw;
}

Symbolizer::Symbolizer(std::vector<SymbolMapSpec> maps, Warn warn, bool strict, SymbolizerOptions opt)
    : Symbolizer(std::move(maps), std::make_shared<SymbolFileCache>(warn, std::move(opt)), warn, strict) {}

Symbolizer::Symbolizer(std::vector<SymbolMapSpec> maps, std::shared_ptr<SymbolFileCache> files, Warn warn, bool strict)
    : maps_(std::move(maps)), files_cache_(std::move(files)), warn_(std::move(warn)) {
  for (const auto& m : maps_) {
    prefixes_.push_back(m.prefix);
    files_.push_back(strict ? files_cache_->get_or_throw(m.path, m.sections) : files_cache_->get(m.path, m.sections));
    demangles_ = demangles_ || (files_.back() && files_.back()->demangles_symbols());
  }
  build_segments();
}

void Symbolizer::build_segments() {
  // Cut points: where a map starts and just past where it ends.
  std::vector<std::uint64_t> cuts;
  for (const auto& m : maps_) {
    cuts.push_back(m.lo);
    if (m.hi != ~0ull) cuts.push_back(m.hi);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  for (std::size_t k = 0; k < cuts.size(); ++k) {
    std::uint64_t lo = cuts[k], last = k + 1 < cuts.size() ? cuts[k + 1] - 1 : ~0ull;
    std::size_t mi = 0;
    while (mi < maps_.size() && !maps_[mi].contains(lo)) ++mi;
    if (mi == maps_.size()) continue;
    if (!segs_.empty() && segs_.back().map == mi && segs_.back().last + 1 == lo)
      segs_.back().last = last;
    else
      segs_.push_back({lo, last, mi});
  }
}

template <class Miss>
void Symbolizer::cached(std::uint64_t addr, const LookupOptions& opt, Resolved& out, ResolveCache& cache,
                        Miss&& miss) const {
  constexpr std::size_t kCacheSize = 1 << 16;
  int o = (opt.lines ? 1 : 0) | (opt.inlines ? 2 : 0);
  // A symbol-only lookup is one binary search: cheaper than the cache.
  if (o == 0) return miss(out);
  if (o != cache.opt_) {
    cache.entries_.assign(kCacheSize, ResolveCache::Entry{});
    cache.opt_ = o;
  }
  // Fibonacci hashing spreads nearby code addresses over the table.
  ResolveCache::Entry& e = cache.entries_[(addr * 0x9E3779B97F4A7C15ull) >> (64 - 16)];
  if (e.valid && e.addr == addr) {
    out.address = addr;
    out.mapped = e.r.mapped;
    out.prefix = e.r.prefix;
    out.symbol = e.r.symbol;
    out.offset = e.r.offset;
    out.frames.assign(e.r.frames.begin(), e.r.frames.end());
    return;
  }
  miss(out);
  // Unmapped addresses are not cached: they are cheap and warn once anyway.
  if (out.mapped) {
    e.addr = addr;
    e.valid = true;
    e.r.mapped = out.mapped;
    e.r.prefix = out.prefix;
    e.r.symbol = out.symbol;
    e.r.offset = out.offset;
    e.r.frames.assign(out.frames.begin(), out.frames.end());
  }
}

void Symbolizer::resolve(std::uint64_t addr, const LookupOptions& opt, Resolved& out) {
  cached(addr, opt, out, cache_, [&](Resolved& r) {
    std::size_t mi;
    SymbolFile* f = locate(addr, r, cache_.last_map_, mi);
    if (f && (opt.lines || opt.inlines)) {
      f->frames_at(addr - maps_[mi].bias, opt.inlines, r.frames);
      if (std::string w = f->take_warning(); !w.empty() && warn_) warn_(w);
    }
  });
}

void Symbolizer::resolve_parsed(std::uint64_t addr, const LookupOptions& opt, Resolved& out,
                                ResolveCache& cache) const {
  cached(addr, opt, out, cache, [&](Resolved& r) { lookup_parsed(addr, opt, r, cache.last_map_); });
}

void Symbolizer::resolve_parsed(std::uint64_t addr, const LookupOptions& opt, Resolved& out) const {
  std::size_t hint = 0;
  lookup_parsed(addr, opt, out, hint);
}

void Symbolizer::lookup_parsed(std::uint64_t addr, const LookupOptions& opt, Resolved& out, std::size_t& seg) const {
  std::size_t mi;
  const SymbolFile* f = locate(addr, out, seg, mi);
  if (f && (opt.lines || opt.inlines)) f->frames_at_parsed(addr - maps_[mi].bias, opt.inlines, out.frames);
}

std::size_t Symbolizer::map_index(std::uint64_t addr, std::size_t& seg) const noexcept {
  if (seg < segs_.size() && addr >= segs_[seg].lo && addr <= segs_[seg].last) return segs_[seg].map;
  auto it = std::upper_bound(segs_.begin(), segs_.end(), addr,
                             [](std::uint64_t a, const Segment& s) { return a < s.lo; });
  if (it == segs_.begin() || addr > (it - 1)->last) return maps_.size();
  seg = static_cast<std::size_t>(it - 1 - segs_.begin());
  return segs_[seg].map;
}

SymbolFile* Symbolizer::locate(std::uint64_t addr, Resolved& out, std::size_t& seg, std::size_t& mi) const {
  out.address = addr;
  out.mapped = false;
  out.prefix = {};
  out.symbol = {};
  out.offset = 0;
  out.frames.clear();
  mi = map_index(addr, seg);
  if (mi == maps_.size()) {
    if (!warned_unmapped_.exchange(true, std::memory_order_relaxed) && warn_)
      warn_(fmt::format("address {:#x} is outside every symbol map; such addresses print raw (warned once)", addr));
    return nullptr;
  }
  SymbolFile* f = files_[mi];
  if (!f) return nullptr;
  out.mapped = true;
  out.prefix = prefixes_[mi];
  std::uint64_t fa = addr - maps_[mi].bias;
  if (const SymbolRange* s = f->symbol_at(fa)) {
    // C files (kernels) skip the call: the symbol lookup is the hot path.
    out.symbol = demangles_ ? f->shown_name(s) : s->name;
    out.offset = fa - s->lo;
  }
  return f;
}

void Symbolizer::prefetch(std::span<const std::uint64_t> addrs, const LookupOptions& opt, unsigned threads) {
  if (!(opt.lines || opt.inlines)) return;
  std::vector<std::vector<std::uint64_t>> per_map(maps_.size());
  std::size_t seg = 0;
  for (std::uint64_t a : addrs) {
    std::size_t mi = map_index(a, seg);
    if (mi == maps_.size()) continue;
    if (files_[mi]) per_map[mi].push_back(a - maps_[mi].bias);
  }
  for (std::size_t i = 0; i < maps_.size(); ++i) {
    if (per_map[i].empty()) continue;
    files_[i]->prefetch(per_map[i], threads);
    if (std::string w = files_[i]->take_warning(); !w.empty() && warn_) warn_(w);
  }
}

std::optional<SymbolRange> Symbolizer::find_symbol(std::string_view name) {
  for (std::size_t i = 0; i < maps_.size(); ++i) {
    if (!files_[i]) continue;
    std::string_view n = name;
    if (!prefixes_[i].empty()) {
      if (n.starts_with(prefixes_[i])) n.remove_prefix(prefixes_[i].size());
    }
    if (auto r = files_[i]->find_symbol(n)) {
      SymbolRange g{r->lo + maps_[i].bias, r->hi + maps_[i].bias, r->name};
      if (maps_[i].contains(g.lo)) return g;
    }
  }
  return std::nullopt;
}

}  // namespace xentt::sym
