// Fuzz target: the trace log reader on arbitrary bytes. Opening, listing
// frames, checking and decoding every frame and seeking must either work
// or throw xentt::Error (fuzz_contract.h). And the two ways of reading
// agree: a log that a strict reader (OnDamage::Throw) reads whole without
// an error is one in which a dump's reader (OnDamage::Continue) finds no
// damage, and the other way round. The reader maps files, so each input
// goes through a file in /dev/shm (memory, no disk wear).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_contract.h"
#include "xentt/tracefmt/trace_log.h"

using namespace xentt;
using namespace xentt::xtl;

namespace {

// Every frame checked and every branch of every vCPU read, as bts_extract
// and a strict reader do; false at the first error.
bool strict_reads_whole(const std::string& path) {
  bool whole = false;
  fuzz::only_errors([&] {
    LogReader r(path);
    for (std::size_t i = 0; i < r.frames().size(); ++i) {
      r.check(i);
      if (r.frames()[i].type == FrameType::Branches) (void)r.branches(i);
      if (r.frames()[i].type == FrameType::Marker) (void)r.json(i);
    }
    for (auto v : r.vcpus()) r.for_each_branch(v, 5, 5000, [](const Branch&) {});
    whole = true;
  });
  return whole;
}

// Every frame checked as xentt_dumplog does; false when anything is damaged.
bool dump_finds_nothing(const std::string& path) {
  bool clean = false;
  fuzz::only_errors([&] {
    LogReader r(path, OnDamage::Continue);
    clean = r.damage_between_frames().empty();
    for (const std::string& d : r.damage_between_frames()) fuzz::check_message(d);
    for (std::size_t i = 0; i < r.frames().size(); ++i) {
      fuzz::only_errors([&] {
        try {
          r.check(i);
        } catch (const Error&) {
          clean = false;
          throw;
        }
      });
    }
    for (auto v : r.vcpus()) {
      fuzz::only_errors([&] { r.for_each_branch(v, 0, ~0ull, [](const Branch&) {}); });
    }
  });
  return clean;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = [] {
    std::atexit([] { ::unlink(("/dev/shm/fuzz_replay_log." + std::to_string(::getpid())).c_str()); });
    return "/dev/shm/fuzz_replay_log." + std::to_string(::getpid());
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  bool strict = strict_reads_whole(path);
  bool dump = dump_finds_nothing(path);
  if (strict != dump)
    fuzz::broken(strict ? "a dump finds damage in a log a strict reader reads whole"
                        : "a strict reader fails on a log in which a dump finds no damage",
                 "");
  return 0;
}
