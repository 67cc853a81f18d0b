// Fuzz target: engine qemu's checksum file of the engine log
// (parse_log_sums, what read_log_sums reads). Bad input throws
// xentt::Error; an accepted file holds one sum per block of the log it
// describes, and the writer writes it back byte for byte.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "fuzz_contract.h"
#include "vm/qemu/log_sums.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::optional<qemu::LogSums> s;
  fuzz::only_errors([&] { s = qemu::parse_log_sums(bytes, "fuzz/replay.sums"); });
  if (!s) return 0;
  std::uint64_t blocks = s->log_bytes / s->block_bytes + (s->log_bytes % s->block_bytes != 0);
  fuzz::require(s->crcs.size() == blocks, "sums accepted with a count of blocks that does not fit the log size");
  fuzz::require(qemu::encode_log_sums(*s) == bytes, "accepted sums do not write back as they were");
  return 0;
}
