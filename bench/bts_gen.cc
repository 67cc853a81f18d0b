// bts_gen: write a large extended .bts file for the bts_dump benchmark.
// Usage: bts_gen ADDRESSES N OUT.bts
// Record i jumps from address i to address i+1 of the list (hex, one per
// line; cycled), with brctr = i: a trace with the address mix of the list.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "xentt/tracefmt/bts_file.h"

using namespace xentt;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: bts_gen ADDRESSES N OUT.bts\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::vector<std::uint64_t> addrs;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) addrs.push_back(std::strtoull(l.c_str(), nullptr, 16));
  if (addrs.size() < 2) {
    std::fprintf(stderr, "bts_gen: %s: need at least two addresses\n", argv[1]);
    return 2;
  }
  std::uint64_t n = std::strtoull(argv[2], nullptr, 0);
  try {
    bts::BtsWriter w(argv[3], bts::Format::Extended);
    std::size_t k = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      std::size_t k1 = k + 1 == addrs.size() ? 0 : k + 1;
      w.write(bts::Record{addrs[k], addrs[k1], i});
      k = k1;
    }
    w.close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bts_gen: %s\n", e.what());
    return 1;
  }
  return 0;
}
