#include "xentt/session/replay_index.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "xentt/base/error.h"
#include "xentt/base/json_int.h"
#include "xentt/base/fs_util.h"
#include "xentt/base/le_bytes.h"

namespace xentt {
using nlohmann::json;

namespace {
// The CRC-32 of an index object without its "crc32" member (compact dump).
std::uint32_t crc_of(json j) {
  j.erase("crc32");
  std::string s = j.dump();
  return le::crc32_of(0, s.data(), s.size());
}
}  // namespace

std::string ReplayIndex::to_json() const {
  json j = {{"format", kFormat},
            {"brctr_rules", kBrctrRules},
            {"recording", recording},
            {"final_icount", final_icount},
            {"interval", interval},
            {"checkpoints", checkpoints},
            {"checkpoint_brctr", checkpoint_brctr},
            {"console_bytes", console_bytes},
            {"build_seconds", build_seconds}};
  j["crc32"] = crc_of(j);
  return j.dump(2) + "\n";
}

ReplayIndex ReplayIndex::from_json(const std::string& text, const std::string& origin) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad_input(origin + ": not a JSON object (damaged? delete it to rebuild)");
  try {
    if (json_int<int>(j.at("format"), origin + ": format") != kFormat) {
      throw bad_input(origin + ": index format " + excerpt(j["format"].dump()) + " unknown (delete it to rebuild)");
    }
    ReplayIndex r;
    r.recording = j.at("recording").get<std::string>();
    r.final_icount = json_int<uint64_t>(j.at("final_icount"), origin + ": final_icount");
    r.interval = json_int<uint64_t>(j.at("interval"), origin + ": interval");
    r.checkpoints = json_ints<uint64_t>(j.at("checkpoints"), origin + ": checkpoints");
    r.checkpoint_brctr = json_ints<uint64_t>(j.at("checkpoint_brctr"), origin + ": checkpoint_brctr");
    if (r.checkpoint_brctr.size() != r.checkpoints.size())
      throw bad_input(origin + ": checkpoint_brctr and checkpoints differ in length (delete it to rebuild)");
    if (r.checkpoints.empty() || r.checkpoints.front() != 0 || !std::is_sorted(r.checkpoints.begin(), r.checkpoints.end()))
      throw bad_input(origin + ": checkpoints do not start at 0 in ascending order (delete it to rebuild)");
    if (j.contains("console_bytes")) r.console_bytes = json_int<uint64_t>(j["console_bytes"], origin + ": console_bytes");
    // Checked after the fields so that a value of the wrong type is named
    // (and so that a fuzzer reaches the field readers without forging CRCs).
    if (json_int<std::uint32_t>(j.at("crc32"), origin + ": crc32") != crc_of(j))
      throw bad_input(origin + ": its checksum does not match its contents (damaged; delete it to rebuild)");
    r.build_seconds = j.value("build_seconds", 0.0);
    return r;
  } catch (const json::exception& e) {
    throw bad_input(origin + ": " + e.what() + " (delete it to rebuild)");
  }
}

std::optional<ReplayIndex> load_replay_index(const StateDir& dir, const std::string& recording, std::string* why_not) {
  auto p = dir.file(StateDir::kIndex);
  auto say = [&](const std::string& why) {
    if (why_not) *why_not = why;
    return std::nullopt;
  };
  if (!std::filesystem::exists(p)) return say("");
  std::string text = read_file(p);
  auto j = json::parse(text, nullptr, false);
  // From an older format, or brctrs counted by other rules: rebuilt.
  // (Other values, floats included, are left to from_json to refuse.)
  auto int_or = [&](const char* key, std::int64_t absent) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : absent;
  };
  if (j.is_object() && (int_or("format", 0) < ReplayIndex::kFormat || int_or("brctr_rules", 1) != ReplayIndex::kBrctrRules))
    return say(p.string() + " is from an older xentt");
  ReplayIndex r;
  try {
    r = ReplayIndex::from_json(text, p.string());
  } catch (const Error& e) {
    return say(e.what());  // derived data: never believed when damaged, rebuilt from the log
  }
  if (r.recording != recording) return say(p.string() + " was built for another recording (" + r.recording + ")");
  // Builds before 2026-11-27 could keep a checkpoint past the recording's
  // end, and find a wrong end from it; builds since keep none within
  // kEndMargin of the end. Such an index is rebuilt (which deletes those
  // checkpoints) rather than believed.
  if (r.checkpoints.size() > 1 && r.checkpoints.back() + ReplayIndex::kEndMargin > r.final_icount)
    return say(p.string() + " has a checkpoint at icount " + std::to_string(r.checkpoints.back()) +
               ", too close to its end (icount " + std::to_string(r.final_icount) + ") to be trusted");
  return r;
}

std::string checkpoint_tag(uint64_t icount) { return icount == 0 ? "init" : "xentt-" + std::to_string(icount); }

void save_replay_index(const StateDir& dir, const ReplayIndex& index) {
  write_file_atomic(dir.file(StateDir::kIndex), index.to_json());
}

}  // namespace xentt
