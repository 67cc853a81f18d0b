#include "xentt/session/replay_index.h"

#include <nlohmann/json.hpp>

#include "xentt/base/error.h"
#include "xentt/base/json_int.h"
#include "xentt/base/fs_util.h"

namespace xentt {
using nlohmann::json;

std::string ReplayIndex::to_json() const {
  json j = {{"format", kFormat},       {"brctr_rules", kBrctrRules},     {"final_icount", final_icount},   {"interval", interval},
            {"checkpoints", checkpoints}, {"checkpoint_brctr", checkpoint_brctr}, {"console_bytes", console_bytes}, {"build_seconds", build_seconds}};
  return j.dump(2) + "\n";
}

ReplayIndex ReplayIndex::from_json(const std::string& text, const std::string& origin) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad_input(origin + ": not a JSON object (damaged? delete it to rebuild)");
  try {
    if (json_int<int>(j.at("format"), origin + ": format") != kFormat) {
      throw bad_input(origin + ": index format " + printable(j["format"].dump()) + " unknown (delete it to rebuild)");
    }
    ReplayIndex r;
    r.final_icount = json_int<uint64_t>(j.at("final_icount"), origin + ": final_icount");
    r.interval = json_int<uint64_t>(j.at("interval"), origin + ": interval");
    r.checkpoints = json_ints<uint64_t>(j.at("checkpoints"), origin + ": checkpoints");
    r.checkpoint_brctr = json_ints<uint64_t>(j.at("checkpoint_brctr"), origin + ": checkpoint_brctr");
    if (r.checkpoint_brctr.size() != r.checkpoints.size())
      throw bad_input(origin + ": checkpoint_brctr and checkpoints differ in length (delete it to rebuild)");
    if (j.contains("console_bytes")) r.console_bytes = json_int<uint64_t>(j["console_bytes"], origin + ": console_bytes");
    r.build_seconds = j.value("build_seconds", 0.0);
    return r;
  } catch (const json::exception& e) {
    throw bad_input(origin + ": " + e.what() + " (delete it to rebuild)");
  }
}

std::optional<ReplayIndex> load_replay_index(const StateDir& dir) {
  auto p = dir.file(StateDir::kIndex);
  if (!std::filesystem::exists(p)) return std::nullopt;
  std::string text = read_file(p);
  auto j = json::parse(text, nullptr, false);
  // Before brctr (format 1), or brctrs counted by other rules: rebuild.
  // (Other values, floats included, are left to from_json to refuse.)
  auto int_or = [&](const char* key, std::int64_t absent) {
    auto it = j.find(key);
    return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : absent;
  };
  if (j.is_object() && (int_or("format", 0) == 1 || int_or("brctr_rules", 1) != ReplayIndex::kBrctrRules))
    return std::nullopt;
  return ReplayIndex::from_json(text, p.string());
}

std::string checkpoint_tag(uint64_t icount) { return icount == 0 ? "init" : "xentt-" + std::to_string(icount); }

void save_replay_index(const StateDir& dir, const ReplayIndex& index) {
  write_file_atomic(dir.file(StateDir::kIndex), index.to_json());
}

}  // namespace xentt
