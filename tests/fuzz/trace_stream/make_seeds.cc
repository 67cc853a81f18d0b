// make_seeds DIR: what a producer sends, for fuzz_trace_stream to mutate
// from: a piece-size byte, the hello, then a small trace log (whole, and
// cut in a frame).
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "xentt/tracefmt/trace_log.h"
#include "xentt/tracefmt/trace_stream.h"

using namespace xentt::xtl;

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::string dir = argv[1];
  {
    LogWriter::Options o;
    o.max_batch = 16;
    LogWriter w(dir + "/log.tmp", R"({"engine":"seed"})", o);
    std::vector<Branch> b;
    for (std::uint64_t i = 1; i <= 40; ++i) b.push_back({0x401000 + i % 4 * 8, 0x401000 + i % 3 * 16, i, i * 7, BranchKind::Call});
    w.add_marker(0, R"({"what":"arm"})");
    w.add_branches(0, b);
    w.close();
  }
  std::ifstream in(dir + "/log.tmp", std::ios::binary);
  std::string log((std::istreambuf_iterator<char>(in)), {});
  std::string hello = encode_hello({"seed", "seed.xtl", 1, kFormatVersion});
  std::ofstream(dir + "/seed1.bin", std::ios::binary) << '\x07' << hello << log;
  std::ofstream(dir + "/seed2.bin", std::ios::binary) << '\x01' << hello << log.substr(0, log.size() - 40);
  std::ofstream(dir + "/seed3.bin", std::ios::binary) << '\x00' << encode_answer({false, "no"});
  std::remove((dir + "/log.tmp").c_str());
  return 0;
}
