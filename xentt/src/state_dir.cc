#include "xentt/state_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "xentt/error.h"
#include "xentt/fs_util.h"

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
  return StateDir(dir ? fs::absolute(*dir) : fs::absolute(default_root() / name), name);
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
  if (p.filename().empty()) p = p.parent_path();
  return open_existing(p.filename().string(), p);
}

bool StateDir::exists() const { return fs::exists(path_ / "config.json"); }

VmConfig StateDir::config() const {
  fs::path p = path_ / "config.json";
  return VmConfig::from_json(read_file(p), p.string());
}

void StateDir::write_config(const VmConfig& c) const { write_file_atomic(path_ / "config.json", c.to_json()); }

RecordingState StateDir::recording_state() const {
  if (!fs::exists(path_ / "INCOMPLETE")) return RecordingState::Complete;
  return FileLock::held(path_ / "record.lock") ? RecordingState::Recording : RecordingState::Incomplete;
}

std::optional<RecordingInfo> StateDir::recording_info() const {
  fs::path p = path_ / "recording.json";
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
  write_file_atomic(path_ / "recording.json", j.dump(2) + "\n");
}

std::optional<int> StateDir::recorder_pid() const {
  fs::path p = path_ / "INCOMPLETE";
  if (!fs::exists(p)) return std::nullopt;
  json j = json::parse(read_file(p), nullptr, false);
  if (j.is_discarded() || !j.contains("pid")) return std::nullopt;
  return j["pid"].get<int>();
}

void StateDir::destroy() const {
  fs::path parent = path_.parent_path();
  // Leftovers of an earlier, interrupted destroy of this VM go first.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    std::string n = e.path().filename().string();
    if (n.starts_with("." + path_.filename().string() + ".deleting.")) fs::remove_all(e.path(), ec);
  }
  if (!fs::exists(path_)) return;
  fs::path doomed = parent / ("." + path_.filename().string() + ".deleting." + std::to_string(::getpid()));
  if (::rename(path_.c_str(), doomed.c_str()) != 0) {
    throw system_error("cannot remove " + path_.string(), errno);
  }
  fs::remove_all(doomed, ec);
  if (ec) throw runtime_error("cannot remove " + doomed.string() + ": " + ec.message() + " (remove it by hand)");
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
