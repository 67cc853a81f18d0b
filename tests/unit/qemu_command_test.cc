// Engine qemu's command line for what the console and the network need:
// the serial port that takes input, the NIC model, the pcap dump and its
// place among the network filters.
#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <string>
#include <vector>

#include "vm/qemu/qemu_command.h"
#include "vm/qemu/qemu_options.h"

using namespace xentt;
using namespace xentt::qemu;

namespace {

// The argument after the first `flag` whose value starts with `prefix`.
std::string value_of(const std::vector<std::string>& a, const std::string& flag, const std::string& prefix = "") {
  for (size_t i = 0; i + 1 < a.size(); i++)
    if (a[i] == flag && a[i + 1].starts_with(prefix)) return a[i + 1];
  return "";
}

long index_of(const std::vector<std::string>& a, const std::string& prefix) {
  for (size_t i = 0; i < a.size(); i++)
    if (a[i].starts_with(prefix)) return static_cast<long>(i);
  return -1;
}

MachineSpec machine(bool net) {
  MachineSpec m;
  m.name = "vm";
  m.kernel = "/s/kernel";
  m.net = net;
  return m;
}

QemuPaths paths() {
  QemuPaths p;
  p.rrfile = "/s/rr";
  p.snapshots = "/s/snap.qcow2";
  p.memory = "/r/memory";
  p.console = "/s/console.log";
  p.qmp = "/r/qmp.sock";
  p.gdb = "/r/gdb.sock";
  return p;
}

}  // namespace

TEST_CASE("the serial port takes input through a socket only when recording with console input") {
  QemuPaths p = paths();
  CHECK(value_of(qemu_command(machine(false), {}, QemuMode::Record, p), "-serial") == "file:/s/console.log");
  p.console_input = "/r/console.sock";
  // Output still goes to the console file; QEMU waits for the recorder's relay.
  CHECK(value_of(qemu_command(machine(false), {}, QemuMode::Record, p), "-serial") ==
        "unix:/r/console.sock,server=on,wait=on,logfile=/s/console.log");
  // A replay feeds the recorded input itself: the file backend, as ever.
  CHECK(value_of(qemu_command(machine(false), {}, QemuMode::Replay, p), "-serial") == "file:/s/console.log");
}

TEST_CASE("the network card is the configured model; the pcap dump comes after filter-replay") {
  QemuPaths p = paths();
  QemuOptions o;
  auto a = qemu_command(machine(true), o, QemuMode::Record, p);
  CHECK(value_of(a, "-device", "rtl8139") == "rtl8139,netdev=net0");
  CHECK(index_of(a, "filter-dump") == -1);
  o.nic = "virtio-net-pci";
  p.pcap = "/out/a,b.pcap";
  for (QemuMode mode : {QemuMode::Record, QemuMode::Replay}) {
    a = qemu_command(machine(true), o, mode, p);
    CHECK(value_of(a, "-device", "virtio") == "virtio-net-pci,netdev=net0");
    // A comma in the path is doubled, QEMU's escape, so it cannot start an option.
    CHECK(value_of(a, "-object", "filter-dump") == "filter-dump,id=dump0,netdev=net0,file=/out/a,,b.pcap");
    CHECK(index_of(a, "filter-replay") >= 0);
    CHECK(index_of(a, "filter-dump") > index_of(a, "filter-replay"));
  }
  // Without a network there is nothing to dump.
  CHECK(index_of(qemu_command(machine(false), o, QemuMode::Record, p), "filter-dump") == -1);
}

TEST_CASE("qemu_opt_value doubles commas and leaves the rest") {
  CHECK(qemu_opt_value("/a/b") == "/a/b");
  CHECK(qemu_opt_value("/a,b,,c") == "/a,,b,,,,c");
}
