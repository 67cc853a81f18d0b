#include "xentt/base/file_digest.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "xentt/base/error.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/json_int.h"
#include "xentt/base/le_bytes.h"

namespace xentt {
namespace fs = std::filesystem;
using nlohmann::json;

FileDigest digest_file(const fs::path& path) {
  FileDigest d;
  d.bytes = stream_file(path, [&](const unsigned char* p, std::size_t n) { d.crc32 = le::crc32_of(d.crc32, p, n); });
  return d;
}

namespace {
std::string hex32(std::uint32_t v) { return fmt::format("{:#010x}", v); }

json body(const DigestManifest& m) {
  json files = json::object();
  for (const auto& [name, d] : m.files) files[name] = {{"bytes", d.bytes}, {"crc32", hex32(d.crc32)}};
  return {{"format", DigestManifest::kFormat}, {"files", files}};
}

std::uint32_t crc_of(const json& j) {
  std::string s = j.dump();
  return le::crc32_of(0, s.data(), s.size());
}
}  // namespace

DigestManifest DigestManifest::of(const fs::path& dir, const std::vector<std::string>& paths) {
  DigestManifest m;
  for (const auto& p : paths) m.files[p] = digest_file(dir / p);
  return m;
}

void DigestManifest::write(const fs::path& file) const {
  json j = body(*this);
  j["crc32"] = hex32(crc_of(j));
  write_file_atomic(file, j.dump(2) + "\n", 0600);
}

DigestManifest DigestManifest::read(const fs::path& file) {
  const std::string where = file.string();
  json j = json::parse(read_file(file), nullptr, false);
  if (!j.is_object()) throw bad_input(where + ": not a checksum manifest (damaged?)");
  try {
    if (json_int<int>(j.at("format"), where + ": format") != kFormat)
      throw bad_input(where + ": checksum manifest format " + excerpt(j["format"].dump()) + " unknown");
    std::uint32_t want = static_cast<std::uint32_t>(std::stoul(j.at("crc32").get<std::string>(), nullptr, 16));
    j.erase("crc32");
    if (crc_of(j) != want) throw bad_input(where + ": the manifest's own checksum does not match (it is damaged)");
    DigestManifest m;
    for (const auto& [name, d] : j.at("files").items()) {
      m.files[name] = {json_int<std::uint64_t>(d.at("bytes"), where + ": " + printable(name) + ": bytes"),
                       static_cast<std::uint32_t>(std::stoul(d.at("crc32").get<std::string>(), nullptr, 16))};
    }
    return m;
  } catch (const json::exception& e) {
    throw bad_input(where + ": " + e.what());
  } catch (const std::logic_error&) {  // stoul
    throw bad_input(where + ": a crc32 is not a hex number (damaged?)");
  }
}

std::optional<std::string> DigestManifest::damage(const fs::path& dir, const std::set<std::string>& size_only) const {
  for (const auto& [name, want] : files) {
    fs::path p = (dir / name).lexically_normal();
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return p.string() + " is missing: the recording needs it (restore it, or record again)";
    FileDigest got = size_only.contains(name) ? FileDigest{fs::file_size(p, ec), want.crc32} : digest_file(p);
    if (got == want) continue;
    std::string what = got.bytes == want.bytes
                           ? "its checksum differs from the one taken when it was recorded"
                           : fmt::format("it has {} bytes, {} were recorded", got.bytes, want.bytes);
    return fmt::format("{} is damaged: {}: replaying it would not reproduce the recording (restore it from a copy, "
                       "or record again)",
                       p.string(), what);
  }
  return std::nullopt;
}

}  // namespace xentt
