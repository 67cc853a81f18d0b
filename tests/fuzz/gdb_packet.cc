// Fuzz target: the gdb remote protocol's packet framing (take_packet, what
// GdbRemote::read_packet does with the bytes the gdbstub sent). Each call
// takes a packet and shortens the buffer, or leaves it as it is; nothing
// else may happen, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_contract.h"
#include "vm/qemu/gdb_remote.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string buffer(reinterpret_cast<const char*>(data), size);
  fuzz::only_errors([&] {
    for (;;) {
      std::string before = buffer;
      auto payload = qemu::take_packet(buffer);
      if (!payload) {
        fuzz::require(buffer == before, "no packet taken, but the buffer changed");
        break;
      }
      fuzz::require(buffer.size() + payload->size() + 4 <= before.size(), "a packet taken, the buffer not shortened");
      fuzz::require(payload->find('#') == std::string::npos, "a payload runs past its '#'");
    }
  });
  return 0;
}
