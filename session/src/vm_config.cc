#include "xentt/session/vm_config.h"

#include <nlohmann/json.hpp>

#include "xentt/base/error.h"

namespace xentt {
using nlohmann::json;

std::string VmConfig::to_json() const {
  json j = {
      {"format", kFormat},
      {"name", name},
      {"engine", engine},
      {"kernel", kernel},
      {"cmdline", cmdline},
      {"memory_mb", memory_mb},
      {"net", net},
      {"symfiles", symfiles},
      {"icount_shift", icount_shift},
      {"icount_sleep", icount_sleep},
      {"hpet", hpet},
      {"checkpoint_interval", checkpoint_interval},
      {"extra_devices", extra_devices},
  };
  if (initrd) j["initrd"] = *initrd;
  if (disk) j["disk"] = *disk;
  if (disk_base) j["disk_base"] = *disk_base;
  return j.dump(2) + "\n";
}

VmConfig VmConfig::from_json(const std::string& text, const std::string& origin) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad_input(origin + ": not a JSON object (config damaged?)");
  try {
    int format = j.at("format").get<int>();
    if (format != kFormat) {
      throw bad_input(origin + ": config format " + std::to_string(format) + ", this xentt reads format " +
                      std::to_string(kFormat) + " (recorded by another version?)");
    }
    VmConfig c;
    c.name = j.at("name").get<std::string>();
    c.engine = j.at("engine").get<std::string>();
    c.kernel = j.at("kernel").get<std::string>();
    c.cmdline = j.value("cmdline", "");
    c.memory_mb = j.at("memory_mb").get<uint64_t>();
    c.net = j.value("net", false);
    c.symfiles = j.value("symfiles", std::vector<std::string>{});
    c.icount_shift = j.value("icount_shift", 0);
    c.icount_sleep = j.value("icount_sleep", true);  // what QEMU did before the field existed
    c.hpet = j.value("hpet", true);
    c.checkpoint_interval = j.value("checkpoint_interval", c.checkpoint_interval);
    c.extra_devices = j.value("extra_devices", std::vector<std::string>{});
    if (j.contains("initrd")) c.initrd = j["initrd"].get<std::string>();
    if (j.contains("disk")) c.disk = j["disk"].get<std::string>();
    if (j.contains("disk_base")) c.disk_base = j["disk_base"].get<std::string>();
    return c;
  } catch (const json::exception& e) {
    throw bad_input(origin + ": " + e.what());
  }
}

void validate_vm_name(const std::string& name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (name.empty()) throw bad_input("empty VM name");
  if (name.size() > 64) throw bad_input("VM name '" + name + "' is longer than 64 characters");
  if (!alnum(name[0])) {
    throw bad_input("VM name '" + name + "' must start with a letter or digit ([A-Za-z0-9][A-Za-z0-9._-]*)");
  }
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') {
      throw bad_input("VM name '" + name + "' has a character outside [A-Za-z0-9._-]");
    }
  }
}

}  // namespace xentt
