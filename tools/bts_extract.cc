// bts_extract: the branch records of a brctr range of a trace log, as a
// .bts file (docs/bts-format.md). Seeks with the log's index (binary search
// over the vCPU's frames) and decodes only the frames that overlap.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <limits>
#include <optional>
#include <string>

#include "xentt/tracefmt/bts_file.h"
#include "tool_main.h"
#include "xentt/base/error.h"
#include "xentt/tracefmt/trace_log.h"
#include "xentt/tracefmt/trace_stream.h"

using namespace xentt;

namespace {

// "VAL[:RADIUS]", each decimal or 0x-hex.
struct Bound {
  std::uint64_t value = 0;
  std::uint64_t radius = 0;
  bool given = false;
};

std::uint64_t parse_u64(const std::string& opt, const std::string& s) {
  std::size_t used = 0;
  std::uint64_t v = 0;
  try {
    v = std::stoull(s, &used, 0);
  } catch (const std::exception&) {
    used = 0;
  }
  if (s.empty() || used != s.size() || s[0] == '-')
    throw xentt::bad_input(opt + ": '" + s + "' is not a number (want VAL[:RADIUS], decimal or 0x-hex)");
  return v;
}

Bound parse_bound(const std::string& opt, const std::string& s) {
  Bound b;
  if (s.empty()) return b;
  b.given = true;
  auto colon = s.find(':');
  b.value = parse_u64(opt, s.substr(0, colon));
  if (colon != std::string::npos) b.radius = parse_u64(opt, s.substr(colon + 1));
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::string log_path, out_path, start_s, end_s, send;
  bool debug = false, extended = false;
  std::optional<unsigned> vcpu_opt;
  return xentt::tool_main(
      argc, argv, "bts_extract",
      "Write the branch records of a trace log whose brctr lies in [S-radius, E+radius] as a .bts file\n"
      "(raw, or extended with each record's brctr with -x; docs/bts-format.md).",
      [&](CLI::App& app) {
        app.add_flag("-d,--debug", debug, "print what was read (frames, records, range) to stderr");
        app.add_flag("-x,--extended", extended, "write the extended format: each record's brctr in its format field");
        app.add_option("-S,--start", start_s, "first brctr, VAL[:RADIUS] (default: the first in the log)");
        app.add_option("-E,--end", end_s, "last brctr, VAL[:RADIUS] (default: the last in the log)");
        app.add_option("-o,--output", out_path, "output file (default: standard output)");
        app.add_option("--vcpu", vcpu_opt, "the vCPU whose branches to extract (default: the only or first one)");
        app.add_option("--send", send,
                       "instead: send the whole log, as it is, to the consumer listening at unix:PATH "
                       "(e.g. xentt_savelog)");
        app.add_option("LOG", log_path, "trace log")->required();
      },
      [&]() -> int {
        if (!send.empty()) {
          if (!start_s.empty() || !end_s.empty() || !out_path.empty() || extended || vcpu_opt || debug)
            throw xentt::bad_input("--send sends the whole log as it is: -S, -E, -o, -x, --vcpu and -d do not apply");
          auto sock = xentt::xtl::parse_stream_address("--send", send);
          xentt::xtl::LogReader check(log_path);  // a log that does not read is not sent
          xentt::xtl::StreamSender sender(sock, {"bts_extract", std::filesystem::path(log_path).filename().string(),
                                                 static_cast<std::uint64_t>(::getpid()), xentt::xtl::kFormatVersion});
          sender.follow(log_path);
          auto r = sender.finish();
          r.throw_if_failed(log_path + " is unchanged");
          std::cerr << "bts_extract: " << r.summary() << "\n";
          return 0;
        }
        Bound s = parse_bound("-S", start_s), e = parse_bound("-E", end_s);
        xentt::xtl::LogReader log(log_path);
        auto vcpus = log.vcpus();
        if (vcpus.empty()) throw xentt::bad_input(log_path + ": the log holds no branch records");
        std::uint16_t vcpu = vcpus.front();
        if (vcpu_opt) {
          if (*vcpu_opt > 0xffff || std::find(vcpus.begin(), vcpus.end(), *vcpu_opt) == vcpus.end()) {
            std::string have;
            for (auto v : vcpus) have += (have.empty() ? "" : ", ") + std::to_string(v);
            throw xentt::bad_input(log_path + ": no branch records for vcpu " + std::to_string(*vcpu_opt) +
                                   " (the log has vcpu " + have + ")");
          }
          vcpu = static_cast<std::uint16_t>(*vcpu_opt);
        }
        auto all = log.frames_overlapping(vcpu, 0, std::numeric_limits<std::uint64_t>::max());
        const auto& fr = log.frames();
        std::uint64_t first = fr[all.front()].first_brctr;
        std::uint64_t last = fr[all.back()].first_brctr + fr[all.back()].count - 1;
        std::uint64_t sv = s.given ? s.value : first, ev = e.given ? e.value : last;
        if (sv > ev)
          throw xentt::bad_input("-S " + std::to_string(sv) + " is after -E " + std::to_string(ev));
        std::uint64_t lo = sv >= s.radius ? sv - s.radius : 0;
        std::uint64_t hi = ev <= std::numeric_limits<std::uint64_t>::max() - e.radius
                               ? ev + e.radius
                               : std::numeric_limits<std::uint64_t>::max();

        auto fmt_kind = extended ? bts::Format::Extended : bts::Format::Raw;
        std::optional<bts::BtsWriter> w;
        if (out_path.empty() || out_path == "-")
          w.emplace(1, "standard output", fmt_kind);
        else
          w.emplace(out_path, fmt_kind);
        // Raw records carry the hardware's flags word; we have none: 0.
        std::uint64_t n = log.for_each_branch(vcpu, lo, hi, [&](const xentt::xtl::Branch& b) {
          w->write(bts::Record{b.from, b.to, extended ? b.brctr : 0});
        });
        w->close();
        if (debug) {
          auto used = log.frames_overlapping(vcpu, lo, hi);
          std::cerr << fmt::format(
              "bts_extract: {}: {}, {} frames; vcpu {}: brctr {}..{} in {} branch frames\n"
              "bts_extract: range [{}, {}]: decoded {} frames{}, wrote {} records ({}) to {}\n",
              log_path, log.complete() ? "complete" : "truncated (no trailer)", fr.size(), vcpu, first, last,
              all.size(), lo, hi, used.size(),
              used.empty() ? "" : fmt::format(" (offsets {}..{})", fr[used.front()].offset, fr[used.back()].offset),
              n, extended ? "extended" : "raw", out_path.empty() ? "standard output" : out_path);
        }
        return 0;
      });
}
