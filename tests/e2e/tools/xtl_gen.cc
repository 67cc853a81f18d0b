// xtl_gen: writes a trace log of a synthetic trace (synthetic_trace.h),
// for tests/e2e/trace_log_tools.sh and bench/trace_log.sh.
//
//   xtl_gen [--records N] [--vcpus K] [--seed S] [--encoding delta|zstd]
//            [--level L] [--batch B] [--gaps] [--text FILE] [--crash] OUT
//       N records per vCPU, written in calls of random size (vCPUs
//       interleaved, arm/disarm markers, with --gaps some stretches not
//       traced); --text lists what was written, one "vcpu brctr icount kind
//       from to" line per record (decimal), for an independent oracle;
//       --crash exits without close() (no index, no trailer).
//   xtl_gen --measure [--records N] [--seed S]
//       bytes per branch of each encoding and encode/decode rates.
#include <fmt/format.h>
#include <unistd.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "synthetic_trace.h"
#include "xentt/base/error.h"
#include "xentt/tracefmt/trace_log.h"

using namespace xentt;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::uint64_t records = 100000;
  unsigned vcpus = 1;
  std::uint64_t seed = 1;
  xtl::LogWriter::Options opt;
  bool gaps = false, crash = false, measure = false;
  std::string text, out;
};

double secs_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int generate(const Args& a) {
  std::FILE* text = a.text.empty() ? nullptr : std::fopen(a.text.c_str(), "w");
  if (!a.text.empty() && !text) throw system_error(a.text, errno);
  xtl::LogWriter w(a.out, R"({"engine":"synthetic","guest_arch":"x86_64","vcpus":)" + std::to_string(a.vcpus) + "}",
                    a.opt);
  std::vector<xentt::testing::SyntheticTrace> gens;
  for (unsigned v = 0; v < a.vcpus; ++v) gens.emplace_back(a.seed * 1000 + v);
  std::vector<std::uint64_t> left(a.vcpus, a.records);
  std::mt19937_64 rng(a.seed);
  std::vector<xtl::Branch> batch;
  for (unsigned v = 0; v < a.vcpus; ++v) w.add_marker(static_cast<std::uint16_t>(v), R"({"what":"arm"})");
  for (bool any = true; any;) {
    any = false;
    for (unsigned v = 0; v < a.vcpus; ++v) {
      if (!left[v]) continue;
      any = true;
      if (a.gaps && rng() % 8 == 0) {  // a stretch not traced: brctr moves on, nothing written
        w.add_marker(static_cast<std::uint16_t>(v), R"({"what":"disarm"})");
        for (std::uint64_t k = rng() % 5000; k; --k) gens[v].next();
        w.add_marker(static_cast<std::uint16_t>(v), R"({"what":"arm"})");
      }
      std::uint64_t n = std::min<std::uint64_t>(left[v], 1 + rng() % 100000);
      batch.clear();
      for (std::uint64_t k = 0; k < n; ++k) batch.push_back(gens[v].next());
      w.add_branches(static_cast<std::uint16_t>(v), batch);
      left[v] -= n;
      if (text)
        for (const auto& b : batch)
          fmt::print(text, "{} {} {} {} {} {}\n", v, b.brctr, b.icount, static_cast<int>(b.kind), b.from, b.to);
    }
  }
  if (text && std::fclose(text) != 0) throw system_error(a.text, errno);
  if (a.crash) {
    w.flush();
    std::_Exit(0);  // as if the tracer died: no index, no trailer
  }
  w.close();
  return 0;
}

// Bytes per branch and rates of each encoding on the same records.
int measure(const Args& a) {
  xentt::testing::SyntheticTrace gen(a.seed);
  std::vector<xtl::Branch> recs(a.records);
  for (auto& r : recs) r = gen.next();
  const std::size_t batch = 65536;
  auto n = static_cast<double>(recs.size());
  fmt::print("{} records, {} per frame\n", recs.size(), batch);

  // zstd of the raw 32-byte records {from, to, icount, brctr | kind << 56}.
  for (int level : {1, 3}) {
    std::vector<unsigned char> raw(batch * 32), dst(ZSTD_compressBound(batch * 32));
    std::uint64_t stored = 0;
    auto t = Clock::now();
    for (std::size_t i = 0; i < recs.size(); i += batch) {
      std::size_t m = std::min(batch, recs.size() - i);
      for (std::size_t k = 0; k < m; ++k) {
        const auto& r = recs[i + k];
        std::uint64_t w4[4] = {r.from, r.to, r.icount, r.brctr | std::uint64_t(r.kind) << 56};
        std::memcpy(&raw[k * 32], w4, 32);
      }
      stored += ZSTD_compress(dst.data(), dst.size(), raw.data(), m * 32, level) + 48;  // + frame/batch headers
    }
    double s = secs_since(t);
    fmt::print("encoding raw32+zstd-{}:  {:.3f} bytes/branch, encode {:.0f} M records/s\n", level, stored / n,
               n / s / 1e6);
  }
  std::string path = fmt::format("/dev/shm/rlog_measure.{}.log", ::getpid());
  struct Variant {
    const char* name;
    xtl::Encoding enc;
    int level;
  };
  for (Variant v : {Variant{"delta", xtl::Encoding::Delta, 0}, Variant{"delta+zstd-1", xtl::Encoding::DeltaZstd, 1},
                    Variant{"delta+zstd-3", xtl::Encoding::DeltaZstd, 3}}) {
    xtl::LogWriter::Options o;
    o.encoding = v.enc;
    o.zstd_level = v.level;
    o.max_batch = batch;
    auto t = Clock::now();
    std::uint64_t before;
    {
      xtl::LogWriter w(path, "{}", o);
      before = w.bytes_written();
      w.add_branches(0, recs);
      w.close();
    }
    double enc_s = secs_since(t);
    std::uint64_t size;
    {
      xtl::LogReader r(path);
      size = r.file_size();
      std::vector<xtl::Branch> buf;
      std::uint64_t got = 0;
      t = Clock::now();
      for (std::size_t f = 0; f < r.frames().size(); ++f) {
        if (r.frames()[f].type != xtl::FrameType::Branches) continue;
        r.branches(f, buf);
        got += buf.size();
      }
      double dec_s = secs_since(t);
      if (got != recs.size()) throw runtime_error("measure: decoded " + std::to_string(got) + " records");
      fmt::print("encoding {:<15} {:.3f} bytes/branch, encode {:.0f} M records/s, decode {:.0f} M records/s\n",
                 std::string(v.name) + ":", static_cast<double>(size - before) / n, n / enc_s / 1e6,
                 n / dec_s / 1e6);
    }
  }
  ::unlink(path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string s = argv[i];
      auto val = [&]() -> std::string {
        if (i + 1 >= argc) throw bad_input(s + " needs a value");
        return argv[++i];
      };
      if (s == "--records") a.records = std::stoull(val());
      else if (s == "--vcpus") a.vcpus = static_cast<unsigned>(std::stoul(val()));
      else if (s == "--seed") a.seed = std::stoull(val());
      else if (s == "--encoding") a.opt.encoding = val() == "delta" ? xtl::Encoding::Delta : xtl::Encoding::DeltaZstd;
      else if (s == "--level") a.opt.zstd_level = std::stoi(val());
      else if (s == "--batch") a.opt.max_batch = static_cast<std::uint32_t>(std::stoul(val()));
      else if (s == "--text") a.text = val();
      else if (s == "--gaps") a.gaps = true;
      else if (s == "--crash") a.crash = true;
      else if (s == "--measure") a.measure = true;
      else if (!s.empty() && s[0] != '-' && a.out.empty()) a.out = s;
      else throw bad_input("unknown argument " + s);
    }
    if (a.measure) return measure(a);
    if (a.out.empty()) throw bad_input("usage: xtl_gen [options] OUT (see the source)");
    return generate(a);
  } catch (const Error& e) {
    fmt::print(stderr, "xtl_gen: {}\n", e.what());
    return e.exit_status();
  } catch (const std::exception& e) {
    fmt::print(stderr, "xtl_gen: {}\n", e.what());
    return 2;
  }
}
