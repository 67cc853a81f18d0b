// module_index.h (internal): the Linux kernel modules' debug files under
// the debug-file directories, found by build-id without a .build-id/ link.
//
// Debian's linux-image-*-dbg ships each module's debug file at
// /usr/lib/debug/lib/modules/VERSION/kernel/.../NAME.ko (and the vDSO at
// .../VERSION/vdso/vdso64.so) but no .build-id/ links for them, so a
// loaded module is matched by the build-id note of each candidate file.
// Nothing is cached on disk: the index is the directory walk and the
// build-ids read so far, in memory.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace xentt::sym::detail {

class ModuleFileIndex {
 public:
  explicit ModuleFileIndex(std::vector<std::string> dirs) : dirs_(std::move(dirs)) {}

  // The file whose build-id is `build_id` (bytes): first among the files
  // named after `name` ("virtio_net": virtio_net.ko, virtio-net.ko,
  // virtio_net.ko.debug), then among all. Cost: the first call walks the
  // DIR/lib/modules/*/ trees (names only); each file's build-id is read at
  // most once (its ELF header and notes), those of all files only when the
  // name's candidates do not match.
  std::optional<std::string> find(std::string_view name, const std::string& build_id);
  // Where find() looks, for messages: "DIR/lib/modules/*/ (N files)".
  std::string where() const;

 private:
  void walk();
  // Reads `path`'s build-id into the index once; true when it is `id`.
  bool check(const std::string& path, const std::string& id);

  std::vector<std::string> dirs_;
  bool walked_ = false, all_read_ = false;
  std::map<std::string, std::vector<std::string>, std::less<>> by_name_;  // normalized name -> files
  std::size_t files_ = 0;
  std::set<std::string> read_;
  std::map<std::string, std::string> by_id_;  // build-id -> first file that has it
};

// A module's name as the kernel spells it: the file's base name without
// ".ko"/".ko.debug"/".so" and with '-' as '_' (virtio-net.ko -> virtio_net).
std::string module_key(std::string_view file_or_name);

}  // namespace xentt::sym::detail
