#include "xentt/session/replay_index.h"

#include <nlohmann/json.hpp>

#include "xentt/base/error.h"
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
    if (j.at("format").get<int>() != kFormat) {
      throw bad_input(origin + ": index format " + j["format"].dump() + " unknown (delete it to rebuild)");
    }
    ReplayIndex r;
    r.final_icount = j.at("final_icount").get<uint64_t>();
    r.interval = j.at("interval").get<uint64_t>();
    r.checkpoints = j.at("checkpoints").get<std::vector<uint64_t>>();
    r.checkpoint_brctr = j.at("checkpoint_brctr").get<std::vector<uint64_t>>();
    if (r.checkpoint_brctr.size() != r.checkpoints.size())
      throw bad_input(origin + ": checkpoint_brctr and checkpoints differ in length (delete it to rebuild)");
    r.console_bytes = j.value("console_bytes", uint64_t{0});
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
  if (j.is_object() && (j.value("format", 0) == 1 || j.value("brctr_rules", 1) != ReplayIndex::kBrctrRules))
    return std::nullopt;
  return ReplayIndex::from_json(text, p.string());
}

std::string checkpoint_tag(uint64_t icount) { return icount == 0 ? "init" : "xentt-" + std::to_string(icount); }

void save_replay_index(const StateDir& dir, const ReplayIndex& index) {
  write_file_atomic(dir.file(StateDir::kIndex), index.to_json());
}

}  // namespace xentt
