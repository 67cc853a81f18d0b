#include "vm/qemu/qemu_options.h"

#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/base/json_int.h"
#include "xentt/base/printable.h"

namespace xentt::qemu {
using nlohmann::json;

QemuOptions QemuOptions::from_json(const json& section, const std::string& origin) {
  if (!section.is_object()) throw bad_input(origin + ": the qemu settings are not a JSON object");
  QemuOptions o;
  try {
    if (section.contains("icount_shift"))
      o.icount_shift = json_int<int>(section["icount_shift"], origin + ": qemu icount_shift");
    o.icount_sleep = section.value("icount_sleep", o.icount_sleep);
    o.hpet = section.value("hpet", o.hpet);
    o.devices = section.value("devices", o.devices);
    o.nic = section.value("nic", o.nic);
  } catch (const json::exception& e) {
    throw bad_input(origin + ": qemu settings: " + e.what());
  }
  if (o.icount_shift < 0 || o.icount_shift > 10)
    throw bad_input(fmt::format("{}: qemu icount_shift {} is out of range (0..10)", origin, o.icount_shift));
  for (const auto& d : o.devices) {
    // One -device argument each: a device spec never starts with '-', so
    // none can pass for another QEMU option.
    if (d.empty() || d[0] == '-' || d.find('\0') != std::string::npos)
      throw bad_input(origin + ": qemu device '" + excerpt(d) + "' is not a -device spec");
  }
  // One -device model name, with no options of its own (",netdev=" is ours).
  if (o.nic.empty() || o.nic.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_.") != std::string::npos ||
      o.nic[0] == '-')
    throw bad_input(origin + ": qemu nic '" + excerpt(o.nic) +
                    "' is not a network card model (e.g. rtl8139, virtio-net-pci, e1000)");
  return o;
}

json QemuOptions::to_json() const {
  return {{"icount_shift", icount_shift}, {"icount_sleep", icount_sleep}, {"hpet", hpet}, {"devices", devices}, {"nic", nic}};
}

}  // namespace xentt::qemu
