// Fuzz target: QMP's message splitting and reply reading (take_qmp_message
// and qmp_return, what QmpClient does with the bytes QEMU sent): one JSON
// message a line, each an event or the reply to a command. Bad input
// throws xentt::Error; nothing else may escape.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_contract.h"
#include "vm/qemu/qmp_client.h"

using namespace xentt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string buffer(reinterpret_cast<const char*>(data), size);
  for (;;) {
    std::size_t before = buffer.size();
    bool more = false;
    fuzz::only_errors([&] {
      auto m = qemu::take_qmp_message(buffer, "fuzz/qmp.sock");
      if (!m) return;
      more = true;
      if (m->contains("event"))
        (void)((*m)["event"] == "STOP");  // as wait_event and take_event match them
      else if (!m->contains("QMP"))       // the greeting
        (void)qemu::qmp_return(*m, "query-status");
    });
    if (!more && buffer.size() == before) break;
    fuzz::require(buffer.size() < before, "a message taken, the buffer not shortened");
  }
  return 0;
}
