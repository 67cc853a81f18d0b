#include "xentt/session/state_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "xentt/base/error.h"
#include "xentt/base/file_digest.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/json_int.h"

namespace xentt {
namespace fs = std::filesystem;
using nlohmann::json;

const char* to_string(RecordingState s) {
  switch (s) {
    case RecordingState::Recording: return "recording";
    case RecordingState::Incomplete: return "incomplete (recording terminated abnormally)";
    case RecordingState::Complete: return "complete";
  }
  return "?";
}

fs::path StateDir::default_root() {
  if (const char* s = std::getenv("XENTT_STATE"); s && *s) return s;
  if (::geteuid() == 0) return "/var/lib/xentt";
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return fs::path(x) / "xentt";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".local/state/xentt";
  throw bad_input("no state directory: set XENTT_STATE or HOME, or pass -s DIR");
}

StateDir StateDir::locate(const std::string& name, const std::optional<fs::path>& dir) {
  validate_vm_name(name);
  // Normalized, so "dir/" and "dir/." have the parent and name of "dir".
  fs::path p = fs::absolute(dir ? *dir : default_root() / name).lexically_normal();
  if (p.filename().empty() && p.has_relative_path()) p = p.parent_path();
  return StateDir(p, name);
}

StateDir StateDir::open_existing(const std::string& name, const std::optional<fs::path>& dir) {
  StateDir s = locate(name, dir);
  if (!s.exists()) {
    throw bad_input("no recorded VM '" + name + "' at " + s.path().string() +
                    " (record it with tt_record, or name its state directory with -s)");
  }
  return s;
}

StateDir StateDir::open_path(const fs::path& path) {
  fs::path p = fs::absolute(path).lexically_normal();
  if (p.filename().empty() && p.has_relative_path()) p = p.parent_path();
  return open_existing(p.filename().string(), p);
}

namespace {

// Every entry xentt creates at the top of a state directory (the layout in
// state_dir.h). destroy() removes these and nothing else.
const std::set<std::string, std::less<>> kOurFiles = {
    StateDir::kMarker,        StateDir::kConfig,        StateDir::kSums,        StateDir::kKernel,  StateDir::kInitrd,  StateDir::kDiskOverlay,
    StateDir::kSymfiles,      StateDir::kConsole,       StateDir::kIncomplete, StateDir::kRecordingInfo,
    StateDir::kRecordLock,    StateDir::kRecorderLog,   StateDir::kSupervisorLog, StateDir::kIndex,
    StateDir::kIndexLock,
    "record-qmp.sock",        "record.mem",             "record-qemu.log",  // recorders before recorder/
};
// Directories xentt creates there: everything inside them is xentt's (the
// engine's recording, the recorder's and replays' runtime files).
const std::set<std::string, std::less<>> kOurDirs = {StateDir::kRecordingDir, StateDir::kRecorderDir,
                                                     StateDir::kReplaysDir};

// write_file_atomic()'s temporary "FILE.tmp.PID", left by a crash.
bool is_our_temporary(std::string_view n) {
  auto at = n.find(".tmp.");
  if (at == std::string_view::npos || !kOurFiles.contains(n.substr(0, at))) return false;
  auto pid = n.substr(at + 5);
  return !pid.empty() && pid.find_first_not_of("0123456789") == std::string_view::npos;
}

bool is_ours(const std::string& n) { return kOurFiles.contains(n) || kOurDirs.contains(n) || is_our_temporary(n); }

// The marker, when `dir` carries a readable one.
std::optional<json> read_marker(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(dir / StateDir::kMarker, ec))) return std::nullopt;
  try {
    json j = json::parse(read_file(dir / StateDir::kMarker), nullptr, false);
    if (j.is_object() && j.value("magic", "") == "xentt-state" && j.value("format", 0) >= 1) return j;
  } catch (const Error&) {
  }
  return std::nullopt;
}

// The names in `dir` that xentt did not create.
std::vector<std::string> foreign_entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (!is_ours(n)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Removes xentt's entries from `dir`, the marker last (a removal cut short
// leaves a directory that is still marked ours).
void remove_our_entries(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n != StateDir::kMarker && is_ours(n)) remove_tree(e.path());
  }
  remove_tree(dir / StateDir::kMarker);
}

}  // namespace

Ownership StateDir::ownership() const {
  std::error_code ec;
  auto st = fs::symlink_status(path_, ec);
  if (!fs::exists(st)) return Ownership::Missing;
  if (!fs::is_directory(st)) return Ownership::NotOurs;  // a file, or a link: never followed
  if (read_marker(path_)) return Ownership::Ours;
  if (fs::is_regular_file(fs::symlink_status(path_ / kConfig, ec))) {
    try {
      config();
      return Ownership::Legacy;
    } catch (const Error&) {
    }
  }
  return Ownership::NotOurs;
}

void StateDir::require_ours(const std::string& doing) const {
  std::error_code ec;
  auto st = fs::symlink_status(path_, ec);
  std::string what;
  if (!fs::exists(st)) {
    what = "does not exist";
  } else if (fs::is_symlink(st)) {
    what = "is a symbolic link, not a xentt state directory (name the directory itself)";
  } else if (!fs::is_directory(st)) {
    what = "is a file, not a xentt state directory";
  } else {
    Ownership o = ownership();
    if (o == Ownership::Ours || o == Ownership::Legacy) return;
    what = std::string("is not a xentt state directory (it has no ") + kMarker + ")";
  }
  throw bad_input(doing + " " + path_.string() + ": it " + what + "; nothing was changed");
}

void StateDir::create() const {
  // The parents first; a path through a file is the user's mistake (exit 2),
  // a file system that refuses is not (exit 1).
  std::error_code ec;
  fs::create_directories(path_.parent_path(), ec);
  if (ec == std::errc::not_a_directory || ec == std::errc::file_exists)
    throw bad_input("cannot create the state directory " + path_.string() + ": a part of its path is a file, not a "
                    "directory (choose another -s DIR)");
  if (ec) throw runtime_error("cannot create the state directory " + path_.string() + ": " + ec.message());
  bool made = ::mkdir(path_.c_str(), 0700) == 0;
  if (!made) {
    int err = errno;
    if (err == ENOTDIR)
      throw bad_input("cannot create the state directory " + path_.string() + ": a part of its path is a file");
    if (err != EEXIST) throw system_error("cannot create the state directory " + path_.string(), err);
    if (!fs::is_directory(fs::symlink_status(path_, ec)) || !fs::is_empty(path_, ec)) {
      require_ours("refusing to record into");  // throws for anything of the user's
      throw bad_input(path_.string() + " already holds a recording");
    }
  }
  // The marker before anything else: from here on the directory is ours.
  json m = {{"magic", "xentt-state"}, {"format", kMarkerFormat}, {"name", name_}, {"created_dir", made}};
  write_file_atomic(path_ / kMarker, m.dump(2) + "\n", 0600);
}

bool StateDir::exists() const { return fs::exists(path_ / kConfig); }

VmConfig StateDir::config() const {
  fs::path p = path_ / kConfig;
  return VmConfig::from_json(read_file(p), p.string());
}

void StateDir::write_config(const VmConfig& c) const { write_file_atomic(path_ / kConfig, c.to_json()); }

MachineSpec StateDir::machine(const VmConfig& c) const {
  MachineSpec m;
  m.name = c.name;
  m.kernel = path_ / c.kernel;  // plain names: VmConfig::from_json checked them
  if (c.initrd) m.initrd = path_ / *c.initrd;
  m.cmdline = c.cmdline;
  m.memory_mb = c.memory_mb;
  if (c.disk) m.disk = path_ / *c.disk;
  m.net = c.net;
  m.engine_options = c.engine_options;
  return m;
}

RecordingState StateDir::recording_state() const {
  if (!fs::exists(path_ / kIncomplete)) return RecordingState::Complete;
  return FileLock::held(path_ / kRecordLock) ? RecordingState::Recording : RecordingState::Incomplete;
}

std::optional<RecordingInfo> StateDir::recording_info() const {
  fs::path p = path_ / kRecordingInfo;
  if (!fs::exists(p)) return std::nullopt;
  json j = json::parse(read_file(p), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad_input(p.string() + ": not a JSON object (damaged?)");
  RecordingInfo info;
  info.ended_by = j.value("ended_by", "");
  info.exit_status = j.value("exit_status", 0);
  info.seconds = j.value("seconds", 0.0);
  info.engine_version = j.value("engine_version", "");
  return info;
}

void StateDir::write_recording_info(const RecordingInfo& info) const {
  json j = {{"format", 1},
            {"ended_by", info.ended_by},
            {"exit_status", info.exit_status},
            {"seconds", info.seconds},
            {"engine_version", info.engine_version}};
  write_file_atomic(path_ / kRecordingInfo, j.dump(2) + "\n");
}

std::vector<StateDir::RuntimeDir> StateDir::runtime_dirs() const {
  std::vector<RuntimeDir> out;
  std::error_code ec;
  fs::path replays = path_ / kReplaysDir;
  if (!fs::is_directory(fs::symlink_status(replays, ec))) return out;
  for (const auto& e : fs::directory_iterator(replays, ec)) {
    if (!fs::is_directory(e.symlink_status())) continue;
    const std::string name = e.path().filename().string();
    std::string_view n = name;
    if (n.starts_with("index-")) n.remove_prefix(6);
    auto dash = n.find('-');
    auto digits = [](std::string_view d) {
      return !d.empty() && d.size() < 10 && d.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (dash == std::string_view::npos || !digits(n.substr(0, dash)) || !digits(n.substr(dash + 1))) continue;
    out.push_back({e.path(), std::stoi(std::string(n.substr(0, dash)))});
  }
  return out;
}

fs::path StateDir::new_runtime_dir(const std::string& kind) const {
  static std::atomic<unsigned> counter{0};
  return path_ / kReplaysDir / fmt::format("{}{}-{}", kind, ::getpid(), counter++);
}

std::optional<int> StateDir::recorder_pid() const {
  fs::path p = path_ / kIncomplete;
  if (!fs::exists(p)) return std::nullopt;
  json j = json::parse(read_file(p), nullptr, false);
  if (!j.is_object() || !j.contains("pid")) return std::nullopt;
  try {
    return json_int<int>(j["pid"], p.string());
  } catch (const Error&) {
    return std::nullopt;
  }
}

void StateDir::seal() const {
  VmConfig c = config();
  std::vector<std::string> files{kConfig, c.kernel, kSymfiles};
  if (c.initrd) files.push_back(*c.initrd);
  if (c.disk_base) files.push_back(*c.disk_base);  // absolute: the user's image
  DigestManifest::of(path_, files).write(path_ / kSums);
}

void StateDir::check_sums(bool full) const {
  if (!fs::exists(path_ / kSums)) return;
  DigestManifest sums = DigestManifest::read(path_ / kSums);
  std::set<std::string> size_only;
  if (!full) {
    VmConfig c = config();
    if (c.disk_base) size_only.insert(*c.disk_base);
  }
  if (auto damage = sums.damage(path_, size_only)) throw bad_input(*damage);
}

void StateDir::mark_incomplete(int recorder_pid) const {
  write_file_atomic(path_ / kIncomplete,
                    json{{"pid", recorder_pid}, {"started", std::time(nullptr)}}.dump() + "\n");
}

void StateDir::mark_complete() const { fs::remove(path_ / kIncomplete); }

void StateDir::destroy() const {
  fs::path parent = path_.parent_path();
  const std::string base = path_.filename().string();
  // Leftovers of an earlier, interrupted destroy of this VM go first: still
  // marked, and holding only our entries (checked before they were renamed).
  std::error_code ec;
  if (!base.empty()) {
    for (const auto& e : fs::directory_iterator(parent, ec)) {
      std::string n = e.path().filename().string();
      if (!n.starts_with("." + base + ".deleting.") || !fs::is_directory(e.symlink_status()) || !read_marker(e.path()))
        continue;
      remove_our_entries(e.path());
      if (::rmdir(e.path().c_str()) != 0) throw system_error("cannot remove " + e.path().string(), errno);
    }
  }
  if (ownership() == Ownership::Missing) return;
  require_ours("refusing to destroy");
  auto foreign = foreign_entries(path_);
  if (!foreign.empty()) {
    std::string names;
    for (size_t i = 0; i < foreign.size() && i < 3; i++) names += (i ? ", " : "") + foreign[i];
    if (foreign.size() > 3) names += fmt::format(" and {} more", foreign.size() - 3);
    throw bad_input(fmt::format("refusing to destroy {}: it holds what xentt did not create ({}); move that out "
                                "first; nothing was deleted",
                                path_.string(), names));
  }
  auto marker = read_marker(path_);
  if (marker && !marker->value("created_dir", true)) {
    // The user's own directory, taken while empty: empty it, leave it.
    remove_our_entries(path_);
    return;
  }
  fs::path doomed = parent / ("." + base + ".deleting." + std::to_string(::getpid()));
  if (::rename(path_.c_str(), doomed.c_str()) != 0) throw system_error("cannot remove " + path_.string(), errno);
  remove_our_entries(doomed);
  if (::rmdir(doomed.c_str()) != 0)
    throw system_error("cannot remove " + doomed.string() + " (remove it by hand)", errno);
}

FileLock::FileLock(const fs::path& path, const std::string& busy_message) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw system_error("cannot open lock " + path.string(), errno);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) throw runtime_error(busy_message);
    throw system_error("cannot lock " + path.string(), err);
  }
}

FileLock::FileLock(const fs::path& path, Wait) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw system_error("cannot open lock " + path.string(), errno);
  int r;
  do r = ::flock(fd_, LOCK_EX);
  while (r != 0 && errno == EINTR);
  if (r != 0) {
    int err = errno;
    ::close(fd_);
    throw system_error("cannot lock " + path.string(), err);
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileLock::held(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return held;
}

}  // namespace xentt
