// Fuzz target: the trace log reader on arbitrary bytes. Opening, listing
// frames, decoding every frame and seeking must either work or throw
// xentt::Error, never crash. The reader maps files, so each input goes
// through a file in /dev/shm (memory, no disk wear).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "xentt/base/error.h"
#include "xentt/tracefmt/trace_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = [] {
    std::atexit([] { ::unlink(("/dev/shm/fuzz_replay_log." + std::to_string(::getpid())).c_str()); });
    return "/dev/shm/fuzz_replay_log." + std::to_string(::getpid());
  }();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  using namespace xentt::xtl;
  try {
    LogReader r(path);
    for (std::size_t i = 0; i < r.frames().size(); ++i) {
      try {
        if (r.frames()[i].type == FrameType::Branches) (void)r.branches(i);
        if (r.frames()[i].type == FrameType::Marker) (void)r.json(i);
      } catch (const xentt::Error&) {
      }
    }
    for (auto v : r.vcpus()) r.for_each_branch(v, 5, 5000, [](const Branch&) {});
  } catch (const xentt::Error&) {
  }
  return 0;
}
