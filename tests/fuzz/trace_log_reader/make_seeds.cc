// make_seeds DIR: small trace logs for fuzz_trace_log_reader to mutate
// from (libFuzzer finds the frame structure far faster from real logs):
// one per encoding, two vCPUs with markers, and one cut without trailer.
#include <cstdlib>
#include <string>
#include <vector>

#include "xentt/tracefmt/trace_log.h"

using namespace xentt::xtl;

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::string dir = argv[1];
  for (int enc = 1; enc <= 3; ++enc) {
    LogWriter::Options o;
    o.encoding = enc == 1 ? Encoding::Delta : Encoding::DeltaZstd;
    o.max_batch = 16;
    LogWriter w(dir + "/seed" + std::to_string(enc) + ".log", R"({"engine":"seed","vcpus":2})", o);
    for (std::uint16_t v = 0; v < 2; ++v) {
      std::vector<Branch> b;
      for (std::uint64_t i = 1; i <= 40; ++i)
        b.push_back({0x401000 + (i % 4) * 8, 0x401000 + (i % 3) * 16, i + v * 100u, i * 7, static_cast<BranchKind>(1 + i % 11)});
      w.add_marker(v, R"({"what":"arm"})");
      w.add_branches(v, b);
    }
    if (enc == 3) std::_Exit(0);  // as if the tracer died: no index, no trailer (a destructor would close)
    w.close();
  }
  return 0;
}
