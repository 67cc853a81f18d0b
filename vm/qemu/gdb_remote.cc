#include "vm/qemu/gdb_remote.h"

#include <fmt/format.h>

#include <optional>

#include "xentt/base/error.h"
#include "xentt/base/printable.h"

namespace xentt::qemu {
using clock = std::chrono::steady_clock;

// The byte spelt by hex[pos], hex[pos + 1]; nothing when those are not two
// hex digits (a gdbstub writes "xx" for a register it cannot read).
static std::optional<uint8_t> hex_byte(const std::string& hex, size_t pos) {
  auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = char(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  if (pos + 2 > hex.size()) return std::nullopt;
  int hi = digit(hex[pos]), lo = digit(hex[pos + 1]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return uint8_t(hi << 4 | lo);
}

// A little-endian value of `bytes` bytes at hex digit `pos` of a 'g' reply.
static uint64_t le_hex(const std::string& hex, size_t pos, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; i++) {
    auto b = hex_byte(hex, pos + 2 * i);
    if (!b) {
      throw runtime_error(fmt::format("the gdbstub's register reply is malformed at hex digit {}: '{}'",
                                      pos + 2 * i, printable(hex.substr(pos + 2 * i, 2))));
    }
    v |= uint64_t(*b) << (8 * i);
  }
  return v;
}

namespace {
// QEMU's x86-64 'g' payload (gdb-xml/i386-64bit.xml, read off QEMU 10.0.2's
// gdbstub): each register's byte offset and size; its index here is its
// gdb register number ('P' packets). x87 and SSE state follow at 236.
struct GReg {
  Reg reg;
  std::size_t offset, bytes;
};
constexpr GReg kLayout[] = {
    {Reg::rax, 0, 8},        {Reg::rbx, 8, 8},        {Reg::rcx, 16, 8},   {Reg::rdx, 24, 8},
    {Reg::rsi, 32, 8},       {Reg::rdi, 40, 8},       {Reg::rbp, 48, 8},   {Reg::rsp, 56, 8},
    {Reg::r8, 64, 8},        {Reg::r9, 72, 8},        {Reg::r10, 80, 8},   {Reg::r11, 88, 8},
    {Reg::r12, 96, 8},       {Reg::r13, 104, 8},      {Reg::r14, 112, 8},  {Reg::r15, 120, 8},
    {Reg::rip, 128, 8},      {Reg::rflags, 136, 4},   {Reg::cs, 140, 4},   {Reg::ss, 144, 4},
    {Reg::ds, 148, 4},       {Reg::es, 152, 4},       {Reg::fs, 156, 4},   {Reg::gs, 160, 4},
    {Reg::fs_base, 164, 8},  {Reg::gs_base, 172, 8},  {Reg::kernel_gs_base, 180, 8},
    {Reg::cr0, 188, 8},      {Reg::cr2, 196, 8},      {Reg::cr3, 204, 8},  {Reg::cr4, 212, 8},
    {Reg::cr8, 220, 8},      {Reg::efer, 228, 8},
};
constexpr std::size_t kExtendedOffset = 236;
constexpr std::size_t kRequiredBytes = 140;  // through rflags: every stub has those
}  // namespace

Registers parse_x86_64_registers(const std::string& hex) {
  if (hex.size() < 2 * kRequiredBytes)
    throw bad_input(fmt::format("gdb 'g' reply too short ({} hex digits)", hex.size()));
  Registers r;
  for (const GReg& g : kLayout) {
    if (2 * (g.offset + g.bytes) > hex.size()) break;  // an older or smaller stub: the rest is absent
    r.set(g.reg, le_hex(hex, 2 * g.offset, g.bytes));
  }
  if (hex.size() > 2 * kExtendedOffset) r.extended = hex.substr(2 * kExtendedOffset);
  return r;
}

std::optional<std::string> set_register_request(Reg reg, std::uint64_t value) {
  for (std::size_t n = 0; n < std::size(kLayout); n++) {
    if (kLayout[n].reg != reg) continue;
    std::string hex;
    for (std::size_t i = 0; i < kLayout[n].bytes; i++) hex += fmt::format("{:02x}", (value >> (8 * i)) & 0xff);
    return fmt::format("P{:x}={}", n, hex);
  }
  return std::nullopt;
}

std::optional<std::string> take_packet(std::string& buffer) {
  // Skip acks ('+'/'-') and find "$payload#cs".
  size_t start = buffer.find('$');
  if (start == std::string::npos) return std::nullopt;
  size_t hash = buffer.find('#', start);
  if (hash == std::string::npos || buffer.size() < hash + 3) return std::nullopt;
  std::string payload = buffer.substr(start + 1, hash - start - 1);
  buffer.erase(0, hash + 3);
  return payload;
}

GdbRemote::GdbRemote(const std::filesystem::path& socket, std::chrono::milliseconds timeout)
    : sock_(UnixSocket::connect(socket, timeout)) {
  // QEMU 10's gdbstub answers QStartNoAckMode only after qSupported
  // negotiation, so we keep acknowledgements on (read_packet acks each
  // packet) and just ask for the stop reason to see that it talks.
  send_packet("?");
  if (!read_packet(timeout)) throw runtime_error("no answer from the gdbstub at " + socket.string());
}

void GdbRemote::send_packet(const std::string& payload) {
  unsigned sum = 0;
  for (unsigned char c : payload) sum += c;
  sock_.send_all(fmt::format("${}#{:02x}", payload, sum & 0xff));
}

std::optional<std::string> GdbRemote::read_packet(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  for (;;) {
    if (auto payload = take_packet(buffer_)) {
      sock_.send_all("+");
      return payload;
    }
    auto now = clock::now();
    if (now >= deadline) return std::nullopt;
    buffer_ += sock_.receive(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
  }
}

std::string GdbRemote::request(const std::string& payload, std::chrono::milliseconds timeout) {
  send_packet(payload);
  auto reply = read_packet(timeout);
  if (!reply) throw runtime_error("the gdbstub did not answer '" + payload.substr(0, 16) + "'");
  if (reply->size() == 3 && (*reply)[0] == 'E') {
    throw runtime_error("the gdbstub refused '" + payload.substr(0, 16) + "': error " + reply->substr(1));
  }
  return *reply;
}

Registers GdbRemote::registers() { return parse_x86_64_registers(request("g")); }

void GdbRemote::set_register(Reg reg, std::uint64_t value) {
  auto req = set_register_request(reg, value);
  if (!req) throw bad_input("engine qemu cannot write register " + std::string(reg_name(reg)) + " (its gdbstub has no such register)");
  if (request(*req) != "OK") throw runtime_error("the gdbstub refused to write " + std::string(reg_name(reg)));
}

std::optional<std::string> GdbRemote::read_memory(uint64_t addr, size_t len) {
  send_packet(fmt::format("m{:x},{:x}", addr, len));
  auto reply = read_packet(std::chrono::seconds(30));
  if (!reply) throw runtime_error("the gdbstub did not answer a memory read");
  if (reply->size() != 2 * len) return std::nullopt;  // "E14": not mapped
  std::string bytes(len, '\0');
  for (size_t i = 0; i < len; i++) {
    auto b = hex_byte(*reply, 2 * i);
    if (!b) return std::nullopt;
    bytes[i] = char(*b);
  }
  return bytes;
}

void GdbRemote::insert_breakpoint(uint64_t addr) {
  if (request(fmt::format("Z0,{:x},1", addr)) != "OK") {
    throw runtime_error(fmt::format("the gdbstub cannot set a breakpoint at {:#x}", addr));
  }
}

void GdbRemote::remove_breakpoint(uint64_t addr) { request(fmt::format("z0,{:x},1", addr)); }

void GdbRemote::resume() { send_packet("c"); }

std::optional<std::string> GdbRemote::wait_stop(std::chrono::milliseconds timeout) { return read_packet(timeout); }

std::string GdbRemote::step() { return request("s"); }

}  // namespace xentt::qemu
