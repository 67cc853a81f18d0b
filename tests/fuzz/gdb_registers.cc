// Fuzz target: the gdbstub's 'g' reply (parse_x86_64_registers), what
// QEMU sends for the registers of a paused vCPU. Bad input throws
// xentt::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_contract.h"
#include "vm/qemu/gdb_remote.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string hex(reinterpret_cast<const char*>(data), size);
  fuzz::only_errors([&] { (void)qemu::parse_x86_64_registers(hex); });
  return 0;
}
