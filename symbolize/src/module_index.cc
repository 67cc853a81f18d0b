#include "module_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "xentt/symbolize/debug_file.h"

namespace xentt::sym::detail {

namespace fs = std::filesystem;

std::string module_key(std::string_view f) {
  if (std::size_t slash = f.rfind('/'); slash != std::string_view::npos) f.remove_prefix(slash + 1);
  for (std::string_view ext : {".ko.debug", ".ko", ".so.debug", ".so"})
    if (f.size() > ext.size() && f.ends_with(ext)) {
      f.remove_suffix(ext.size());
      break;
    }
  std::string k(f);
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

void ModuleFileIndex::walk() {
  walked_ = true;
  for (const auto& dir : dirs_) {
    std::error_code ec;
    for (const auto& ver : fs::directory_iterator(dir + "/lib/modules", ec)) {
      std::error_code ec2;
      if (!ver.is_directory(ec2)) continue;
      // Names only (no stat per file beyond what readdir's d_type gives);
      // links to directories are not followed.
      fs::recursive_directory_iterator it(ver.path(), fs::directory_options::skip_permission_denied, ec2), end;
      for (; !ec2 && it != end; it.increment(ec2)) {
        std::string n = it->path().filename().string();
        bool ko = n.ends_with(".ko") || n.ends_with(".ko.debug");
        bool vdso = n.starts_with("vdso") && (n.ends_with(".so") || n.ends_with(".so.debug"));
        if (!(ko || vdso) || !it->is_regular_file(ec)) continue;
        by_name_[module_key(n)].push_back(it->path().string());
        ++files_;
      }
    }
  }
}

bool ModuleFileIndex::check(const std::string& path, const std::string& id) {
  if (!read_.insert(path).second) return false;
  std::string found = read_build_id(path);
  if (!found.empty()) by_id_.emplace(found, path);
  return found == id;
}

std::optional<std::string> ModuleFileIndex::find(std::string_view name, const std::string& id) {
  if (id.empty()) return std::nullopt;
  if (auto it = by_id_.find(id); it != by_id_.end()) return it->second;
  if (!walked_) walk();
  if (auto it = by_name_.find(module_key(name)); it != by_name_.end())
    for (const auto& p : it->second)
      if (check(p, id)) return p;
  if (!all_read_) {
    all_read_ = true;
    for (const auto& [n, paths] : by_name_)
      for (const auto& p : paths) check(p, id);
    if (auto it = by_id_.find(id); it != by_id_.end()) return it->second;
  }
  return std::nullopt;
}

std::string ModuleFileIndex::where() const {
  std::string s;
  for (const auto& d : dirs_) s += (s.empty() ? "" : ", ") + d + "/lib/modules/*/";
  return fmt::format("{} ({} module files)", s, files_);
}

}  // namespace xentt::sym::detail
