// protocol.h: how engine qemu talks to its branch-trace plugin inside QEMU.
// Both sides include this header: the plugin's control server
// (control_server.cc) and the engine's client (branch_counter.cc).
//
// Transport: a unix socket the plugin listens on (QEMU's -plugin
// xentt-bt.so,ctl=PATH). One request per line, one JSON object per line in
// reply. Requests come only while the replay is paused, so the vCPU threads
// are not running and the counters can be read and set directly.
//
//   settle PC RSP STACK     vCPU 0 is paused at PC (hex), with RSP (hex) and
//                           the kSettleStackBytes at RSP (hex, or '-' when
//                           unreadable): judge what landed there now
//   status                  counters per vCPU
//   set VCPU ICOUNT BRCTR   after a checkpoint load: where the guest is now
//   watch VCPU BRCTR        note the first block start with brctr >= BRCTR (0: off)
//   arm PATH HEADER-JSON    open the trace log (first time) and record the
//                           branches after this point (PATH has no spaces)
//   disarm                  stop recording; replies once the records are written
//   close                   write the trace log's index and trailer
//   memwatch MODE [K S ADDR LEN]...   watch memory accesses (needs the plugin's
//                           watch=on): MODE off|first|last|log; K r|w|a (read,
//                           write, either), S v|p (guest-virtual, -physical),
//                           ADDR LEN hex; up to kMaxRanges ranges; forgets
//                           earlier hits
//   memhits                 the hits kept since memwatch:
//                           {"ok":true,"count":N,"hits":[{"icount":N,"pc":N,
//                            "brctr":N,"addr":N,"size":N,"write":B,"range":N,
//                            "data":"HEX"}, ...]} (count: every hit, also those
//                           not kept; data: log mode, a virtual range's bytes
//                           after a write)
//
// Every reply has kOk; a failure carries kError. status replies
//   {"ok":true,"armed":B,"records":N[,"error":S],"vcpus":[{"icount":N,
//    "brctr":N,"events":N,"faults":N,"unexplained":N,"hit":B
//    [,"hit_icount":N,"hit_pc":N,"hit_brctr":N]}, ...]}
// disarm and close reply {"ok":true,"records":N}.
#pragma once

#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace xentt::qemu::plugin_protocol {

// Requests.
inline constexpr char kSettle[] = "settle";
inline constexpr char kStatus[] = "status";
inline constexpr char kSet[] = "set";
inline constexpr char kWatch[] = "watch";
inline constexpr char kArm[] = "arm";
inline constexpr char kDisarm[] = "disarm";
inline constexpr char kClose[] = "close";
inline constexpr char kMemWatch[] = "memwatch";
inline constexpr char kMemHits[] = "memhits";
inline constexpr std::size_t kMaxRanges = 16;
inline constexpr std::size_t kSettleStackBytes = 48;

// Reply members.
inline constexpr char kOk[] = "ok";
inline constexpr char kError[] = "error";
inline constexpr char kArmed[] = "armed";
inline constexpr char kRecords[] = "records";
inline constexpr char kVcpus[] = "vcpus";
inline constexpr char kIcount[] = "icount";
inline constexpr char kBrctr[] = "brctr";
inline constexpr char kEvents[] = "events";
inline constexpr char kFaults[] = "faults";
inline constexpr char kUnexplained[] = "unexplained";
inline constexpr char kHit[] = "hit";
inline constexpr char kHitIcount[] = "hit_icount";
inline constexpr char kHitPc[] = "hit_pc";
inline constexpr char kHitBrctr[] = "hit_brctr";

// Request lines, without the newline. `stack_hex`: 2 * kSettleStackBytes
// hex digits, or "-".
inline std::string settle_request(std::uint64_t pc, std::uint64_t rsp, const std::string& stack_hex) {
  char b[64];
  std::snprintf(b, sizeof b, "%s %" PRIx64 " %" PRIx64 " ", kSettle, pc, rsp);
  return b + stack_hex;
}
inline std::string set_request(unsigned vcpu, std::uint64_t icount, std::uint64_t brctr) {
  return std::string(kSet) + " " + std::to_string(vcpu) + " " + std::to_string(icount) + " " + std::to_string(brctr);
}
inline std::string watch_request(unsigned vcpu, std::uint64_t brctr) {
  return std::string(kWatch) + " " + std::to_string(vcpu) + " " + std::to_string(brctr);
}
inline std::string arm_request(const std::string& path, const std::string& header_json) {
  return std::string(kArm) + " " + path + " " + header_json;
}

}  // namespace xentt::qemu::plugin_protocol
