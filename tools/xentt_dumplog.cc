// xentt_dumplog: what a trace log holds: a summary by frame and record
// type (default), one line per frame (--frames) or per branch (--records),
// as text or one JSON object per line (--json). Every mode reads every
// frame whole (LogReader::check) and reaches the same verdict: a damaged
// frame is reported, one line with its offset and what is wrong, and
// skipped; the exit status is then 2.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <array>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "bts_output.h"
#include "tool_main.h"
#include "xentt/base/error.h"
#include "xentt/tracefmt/trace_log.h"

using namespace xentt::xtl;

namespace {

const char* type_name(FrameType t) {
  switch (t) {
    case FrameType::Header: return "header";
    case FrameType::Branches: return "branches";
    case FrameType::Marker: return "marker";
    case FrameType::Index: return "index";
    case FrameType::End: return "end";
  }
  return "unknown";
}

struct VcpuStats {
  std::uint64_t branches = 0, frames = 0, stored = 0, gaps = 0;
  std::uint64_t first_brctr = 0, last_brctr = 0, first_icount = 0, last_icount = 0;
};

struct Dumper {
  const LogReader& log;
  bool json;
  xentt::tools::Output out;
  std::uint64_t damaged = 0;
  std::vector<bool> reported;  // frames already reported damaged (--frames with --records reads each twice)

  // Reads frame f as every mode does (LogReader::check: header, CRC,
  // records or JSON; a Branches frame decoded into *buf when given), so
  // that every mode reaches the same verdict. A damaged frame is reported,
  // one line, and skipped.
  bool read(std::size_t f, std::vector<Branch>* buf) {
    try {
      if (buf && log.frames()[f].type == FrameType::Branches)
        log.branches(f, *buf);
      else
        log.check(f);
      return true;
    } catch (const xentt::Error& e) {
      if (reported.size() <= f) reported.resize(log.frames().size());
      if (!reported[f]) report(std::string(e.what()) + " (frame " + std::to_string(f) + ")");
      reported[f] = true;
      return false;
    }
  }
  void report(const std::string& what) {
    out.flush();
    std::cerr << "xentt_dumplog: " << what << "\n";
    ++damaged;
  }
  // Damage the reader skipped between frames (a log without an index).
  void report_between() {
    for (const std::string& d : log.damage_between_frames()) report(d);
  }

  void frames() {
    const auto& fr = log.frames();
    for (std::size_t i = 0; i < fr.size(); ++i) {
      const FrameInfo& f = fr[i];
      bool br = f.type == FrameType::Branches;
      std::string payload;
      if (read(i, nullptr) && (f.type == FrameType::Marker || f.type == FrameType::Header)) payload = log.json(i);
      if (json) {
        nlohmann::json j{{"frame", i}, {"offset", f.offset}, {"type", type_name(f.type)}, {"vcpu", f.vcpu},
                         {"stored_bytes", f.stored_bytes}};
        if (br) {
          j["first_brctr"] = f.first_brctr;
          j["last_brctr"] = f.first_brctr + f.count - 1;
          j["first_icount"] = f.first_icount;
          j["count"] = f.count;
          j["encoding"] = f.encoding == static_cast<std::uint8_t>(Encoding::Delta) ? "delta" : "delta+zstd";
        }
        if (!payload.empty()) j["json"] = nlohmann::json::parse(payload, nullptr, false);
        out.buf += j.dump();
        out.buf += '\n';
      } else if (br) {
        fmt::format_to(std::back_inserter(out.buf), "{:>6} @{:<12} branches vcpu {} brctr {}..{} icount {}.. count {} {} bytes\n",
                       i, f.offset, f.vcpu, f.first_brctr, f.first_brctr + f.count - 1, f.first_icount, f.count,
                       f.stored_bytes);
      } else {
        fmt::format_to(std::back_inserter(out.buf), "{:>6} @{:<12} {} vcpu {} {} bytes{}{}\n", i, f.offset,
                       type_name(f.type), f.vcpu, f.stored_bytes, payload.empty() ? "" : " ", payload);
      }
      out.maybe_flush();
    }
  }

  void records() {
    const auto& fr = log.frames();
    bool multi = log.vcpus().size() > 1;
    std::vector<Branch> buf;
    for (std::size_t i = 0; i < fr.size(); ++i) {
      if (!read(i, &buf) || fr[i].type != FrameType::Branches) continue;
      for (const Branch& b : buf) {
        if (json)
          fmt::format_to(std::back_inserter(out.buf),
                         "{{\"vcpu\":{},\"brctr\":{},\"icount\":{},\"kind\":\"{}\",\"from\":\"{:#x}\",\"to\":\"{:#x}\"}}\n",
                         fr[i].vcpu, b.brctr, b.icount, kind_name(b.kind), b.from, b.to);
        else if (multi)
          fmt::format_to(std::back_inserter(out.buf), "vcpu {} {} {} {} {:#x} -> {:#x}\n", fr[i].vcpu, b.brctr,
                         b.icount, kind_name(b.kind), b.from, b.to);
        else
          fmt::format_to(std::back_inserter(out.buf), "{} {} {} {:#x} -> {:#x}\n", b.brctr, b.icount,
                         kind_name(b.kind), b.from, b.to);
        out.maybe_flush();
      }
    }
  }

  void summary() {
    const auto& fr = log.frames();
    std::map<std::string, std::uint64_t> by_type;
    std::map<std::uint16_t, VcpuStats> vs;
    std::array<std::uint64_t, 12> kinds{};
    std::uint64_t total = 0, stored = 0;
    std::vector<Branch> buf;
    for (std::size_t i = 0; i < fr.size(); ++i) {
      by_type[type_name(fr[i].type)]++;
      if (!read(i, &buf) || fr[i].type != FrameType::Branches) continue;
      VcpuStats& v = vs[fr[i].vcpu];
      if (v.frames && fr[i].first_brctr != v.last_brctr + 1) ++v.gaps;
      if (!v.frames) v.first_brctr = fr[i].first_brctr, v.first_icount = fr[i].first_icount;
      v.frames++;
      v.stored += fr[i].stored_bytes + 16;
      v.last_brctr = fr[i].first_brctr + fr[i].count - 1;
      stored += fr[i].stored_bytes + 16;
      v.branches += buf.size();
      total += buf.size();
      v.last_icount = buf.back().icount;
      for (const Branch& b : buf) kinds[static_cast<std::size_t>(b.kind)]++;
    }
    double bpb = total ? static_cast<double>(stored) / static_cast<double>(total) : 0;
    std::uint64_t torn = log.file_size() - log.end_of_frames();
    if (json) {
      nlohmann::json j{{"file", log.path()},
                       {"complete", log.complete()},
                       {"file_size", log.file_size()},
                       {"end_of_frames", log.end_of_frames()},
                       {"header", nlohmann::json::parse(log.header_json(), nullptr, false)},
                       {"frames", by_type},
                       {"branches", total},
                       {"bytes_per_branch", bpb},
                       {"damaged_frames", damaged}};
      nlohmann::json k = nlohmann::json::object(), vj = nlohmann::json::array();
      for (std::size_t i = 1; i < kinds.size(); ++i)
        if (kinds[i]) k[kind_name(static_cast<BranchKind>(i))] = kinds[i];
      for (const auto& [id, v] : vs)
        vj.push_back({{"vcpu", id}, {"branches", v.branches}, {"frames", v.frames}, {"first_brctr", v.first_brctr},
                      {"last_brctr", v.last_brctr}, {"first_icount", v.first_icount}, {"last_icount", v.last_icount},
                      {"gaps", v.gaps}, {"stored_bytes", v.stored}});
      j["kinds"] = k;
      j["vcpus"] = vj;
      out.buf += j.dump() + "\n";
      return;
    }
    auto o = std::back_inserter(out.buf);
    fmt::format_to(o, "{}: {} bytes, {}\n", log.path(), log.file_size(),
                   log.complete() ? "complete (index and trailer)"
                                  : fmt::format("truncated: no trailer, {} bytes after the last whole frame "
                                                "(which ends at offset {})",
                                                torn, log.end_of_frames()));
    fmt::format_to(o, "header: {}\n", log.header_json());
    fmt::format_to(o, "frames:");
    for (const auto& [t, n] : by_type) fmt::format_to(o, " {} {}", t, n);
    fmt::format_to(o, "\n");
    for (const auto& [id, v] : vs)
      fmt::format_to(o, "vcpu {}: {} branches in {} frames, brctr {}..{}{}, icount {}..{}, {:.3f} bytes/branch\n", id,
                     v.branches, v.frames, v.first_brctr, v.last_brctr,
                     v.gaps ? fmt::format(" ({} gaps)", v.gaps) : "", v.first_icount, v.last_icount,
                     v.branches ? static_cast<double>(v.stored) / static_cast<double>(v.branches) : 0.0);
    fmt::format_to(o, "kinds:");
    for (std::size_t i = 1; i < kinds.size(); ++i)
      if (kinds[i])
        fmt::format_to(o, " {} {} ({:.1f}%)", kind_name(static_cast<BranchKind>(i)), kinds[i],
                       100.0 * static_cast<double>(kinds[i]) / static_cast<double>(total));
    fmt::format_to(o, "\nbranches: {}, {:.3f} bytes/branch in branch frames, {:.3f} bytes/branch in the file\n", total,
                   bpb, total ? static_cast<double>(log.file_size()) / static_cast<double>(total) : 0.0);
    if (damaged) fmt::format_to(o, "damaged frames: {}\n", damaged);
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  bool json = false, frames = false, records = false;
  return xentt::tool_main(
      argc, argv, "xentt_dumplog",
      "Summarize a trace log (docs/trace-log.md) by frame and record type, or list its frames or branches.",
      [&](CLI::App& app) {
        app.add_flag("--json", json, "one JSON object per line");
        app.add_flag("--frames", frames, "one line per frame: offset, type, vcpu, brctr range, size, marker JSON");
        app.add_flag("--records", records, "one line per branch: brctr icount kind from -> to");
        app.add_option("LOG", path, "trace log")->required();
      },
      [&]() -> int {
        // A dump goes on past damaged frames to show the rest; each is one
        // line on stderr, and the exit status 2.
        LogReader log(path, OnDamage::Continue);
        Dumper d{log, json, xentt::tools::Output(1), 0, {}};
        d.report_between();
        if (frames) d.frames();
        if (records) d.records();
        if (!frames && !records) d.summary();
        d.out.flush();
        return d.damaged ? 2 : 0;
      });
}
