// gdb_remote.h (engine qemu, private): a small client of the gdb remote serial protocol,
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
#include "xentt/vm/registers.h"

namespace xentt::qemu {

class GdbRemote {
 public:
  GdbRemote(const std::filesystem::path& socket, std::chrono::milliseconds timeout);

  // One request, one reply; throws Runtime on timeout or an "E.." reply.
  std::string request(const std::string& payload, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Every register of the 'g' packet (parse_x86_64_registers).
  Registers registers();
  // 'P': writes one register. Throws BadInput for a register the stub does
  // not have (idtr, gdtr), Runtime when it refuses.
  void set_register(Reg reg, std::uint64_t value);
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

// Takes the first whole packet "$PAYLOAD#CS" out of `buffer` (what a
// gdbstub sent so far) and returns its payload, dropping everything before
// it ('+'/'-' acknowledgements); nothing, with `buffer` unchanged, until a
// whole packet is there. The checksum is not checked (a unix socket does
// not corrupt bytes). Cost: a scan of `buffer`.
std::optional<std::string> take_packet(std::string& buffer);

// Decodes a 'g' payload of QEMU's x86-64 target: the named registers it
// holds, the x87/SSE state after them kept as Registers::extended. Throws
// BadInput when it ends before rflags, Runtime naming the hex digit where it
// is malformed.
Registers parse_x86_64_registers(const std::string& hex);
// The 'P' request that writes `reg` (nullopt: not in the 'g' packet).
std::optional<std::string> set_register_request(Reg reg, std::uint64_t value);

}  // namespace xentt::qemu
