// xentt/gdb_remote.h: a small client of the gdb remote serial protocol,
// enough to drive QEMU's gdbstub: read registers, set breakpoints, continue,
// step. QMP cannot read vCPU registers, the gdbstub can.
//
// QEMU's gdbstub takes one client at a time: hold a GdbRemote only while
// you need it, so users' debuggers can attach to a paused replay.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "xentt/base/unix_socket.h"

namespace xentt {

// The x86-64 registers every stop compares: the 16 general registers in
// gdb's order (rax rbx rcx rdx rsi rdi rbp rsp r8..r15), rip, eflags, and the
// raw 'g' reply for everything else (segment, control, x87/SSE state).
struct X86Registers {
  std::array<uint64_t, 16> gpr{};
  uint64_t rip = 0;
  uint32_t eflags = 0;
  std::string raw;  // the whole 'g' packet payload, hex
  bool operator==(const X86Registers&) const = default;
};

class GdbRemote {
 public:
  GdbRemote(const std::filesystem::path& socket, std::chrono::milliseconds timeout);

  // One request, one reply; throws Runtime on timeout or an "E.." reply.
  std::string request(const std::string& payload, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  X86Registers registers();
  // `len` bytes of guest virtual memory at `addr` (the paused vCPU's page
  // tables), or nullopt when the gdbstub cannot read them (unmapped).
  std::optional<std::string> read_memory(uint64_t addr, size_t len);
  void insert_breakpoint(uint64_t addr);
  void remove_breakpoint(uint64_t addr);
  // Sends 'c' and returns without waiting; wait_stop() collects the reply.
  void resume();
  // The stop reply ("T05...") or nullopt when nothing came within `timeout`.
  std::optional<std::string> wait_stop(std::chrono::milliseconds timeout);
  // One instruction forward ('s'); returns the stop reply.
  std::string step();

 private:
  void send_packet(const std::string& payload);
  std::optional<std::string> read_packet(std::chrono::milliseconds timeout);
  UnixSocket sock_;
  std::string buffer_;
};

// Decodes a 'g' payload of QEMU's x86-64 target. Throws BadInput when short.
X86Registers parse_x86_64_registers(const std::string& hex);

}  // namespace xentt
