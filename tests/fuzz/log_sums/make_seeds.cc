// Seeds for fuzz_log_sums: checksum files as engine qemu writes them
// (encode_log_sums), for logs of a few sizes: empty, one short block,
// exactly one block, several blocks, a larger block size.
//   make_seeds DIR
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "vm/qemu/log_sums.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  struct Seed {
    const char* name;
    std::uint32_t block;
    std::uint64_t bytes;
  };
  for (Seed s : {Seed{"empty.sums", 4096, 0}, Seed{"short.sums", 4096, 100}, Seed{"one.sums", 4096, 4096},
                 Seed{"three.sums", 4096, 10000}, Seed{"big_blocks.sums", 65536, 200000}}) {
    xentt::qemu::LogSums sums{s.block, s.bytes, {}};
    for (std::uint64_t b = 0; b < (s.bytes + s.block - 1) / s.block; ++b)
      sums.crcs.push_back(static_cast<std::uint32_t>(0x9e3779b9u * (b + 1)));
    std::ofstream(std::string(argv[1]) + "/" + s.name, std::ios::binary) << xentt::qemu::encode_log_sums(sums);
  }
  return 0;
}
