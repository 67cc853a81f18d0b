#include "xentt/session/vm_config.h"

#include <fmt/format.h>

#include "xentt/base/error.h"
#include "xentt/base/json_int.h"
#include "xentt/base/printable.h"

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
      {"checkpoint_interval", checkpoint_interval},
      {engine, engine_options},
  };
  if (initrd) j["initrd"] = *initrd;
  if (disk) j["disk"] = *disk;
  if (disk_base) j["disk_base"] = *disk_base;
  return j.dump(2) + "\n";
}

void VmConfig::require_network_for(const std::string& pcap) const {
  if (!net)
    throw bad_input("'" + name + "' is a VM without a network (tt_record --net gives it one): there is no traffic for " +
                    pcap);
}

namespace {

// Engine qemu's settings as format 1 kept them at the top, and their names
// in its section.
constexpr std::pair<const char*, const char*> kFormat1QemuKeys[] = {
    {"icount_shift", "icount_shift"}, {"icount_sleep", "icount_sleep"}, {"hpet", "hpet"}, {"extra_devices", "devices"}};

// A file the state directory holds: a plain name, never a path out of it.
void check_own_file(const std::string& origin, const char* field, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    throw bad_input(fmt::format("{}: {} '{}' is not a file name inside the state directory (config damaged?)", origin,
                                field, printable(name)));
}

// An engine is named like a registry entry ("qemu", "xen"), and its
// section ({"ENGINE": {...}}) must not take the place of a key of ours
// (an engine "name" made a config that did not read back: fuzz_vm_config).
void check_engine_name(const std::string& origin, const std::string& engine) {
  constexpr const char* kOwnKeys[] = {"format", "name",    "engine",   "kernel", "cmdline",   "memory_mb",
                                      "net",    "symfiles", "checkpoint_interval", "initrd", "disk", "disk_base"};
  bool plain = !engine.empty() && engine.size() <= 32 && engine[0] >= 'a' && engine[0] <= 'z';
  for (char ch : engine) plain = plain && ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_');
  for (const char* k : kOwnKeys) plain = plain && engine != k;
  if (!plain)
    throw bad_input(origin + ": engine '" + printable(engine) +
                    "' is not an engine name ([a-z][a-z0-9_]*, not a key of config.json; config damaged?)");
}

}  // namespace

VmConfig VmConfig::from_json(const std::string& text, const std::string& origin) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad_input(origin + ": not a JSON object (config damaged?)");
  VmConfig c;
  try {
    int format = json_int<int>(j.at("format"), origin + ": format");
    if (format != 1 && format != kFormat) {
      throw bad_input(origin + ": config format " + std::to_string(format) + ", this xentt reads formats 1 and " +
                      std::to_string(kFormat) + " (recorded by another version?)");
    }
    c.name = j.at("name").get<std::string>();
    c.engine = j.at("engine").get<std::string>();
    if (!c.engine.empty()) check_engine_name(origin, c.engine);  // before its section is looked up
    c.kernel = j.at("kernel").get<std::string>();
    c.cmdline = j.value("cmdline", "");
    c.memory_mb = json_int<uint64_t>(j.at("memory_mb"), origin + ": memory_mb");
    c.net = j.value("net", false);
    c.symfiles = j.value("symfiles", std::vector<std::string>{});
    if (j.contains("checkpoint_interval"))
      c.checkpoint_interval = json_int<uint64_t>(j["checkpoint_interval"], origin + ": checkpoint_interval");
    if (j.contains("initrd")) c.initrd = j["initrd"].get<std::string>();
    if (j.contains("disk")) c.disk = j["disk"].get<std::string>();
    if (j.contains("disk_base")) c.disk_base = j["disk_base"].get<std::string>();
    if (format == 1) {
      if (c.engine == "qemu") {
        for (auto [old_key, new_key] : kFormat1QemuKeys)
          if (j.contains(old_key)) c.engine_options[new_key] = j[old_key];
      }
    } else if (j.contains(c.engine)) {
      c.engine_options = j[c.engine];
      if (!c.engine_options.is_object()) throw bad_input(origin + ": the " + printable(c.engine) + " section is not an object");
    }
  } catch (const json::exception& e) {
    throw bad_input(origin + ": " + e.what());
  }
  try {
    validate_vm_name(c.name);
  } catch (const Error& e) {
    throw bad_input(origin + ": " + e.what());
  }
  if (c.engine.empty()) throw bad_input(origin + ": no engine named");
  if (c.memory_mb < 16 || c.memory_mb > 65536)
    throw bad_input(fmt::format("{}: memory_mb {} is out of range (16 .. 65536)", origin, c.memory_mb));
  check_own_file(origin, "kernel", c.kernel);
  if (c.initrd) check_own_file(origin, "initrd", *c.initrd);
  if (c.disk) check_own_file(origin, "disk", *c.disk);
  return c;
}

void validate_vm_name(const std::string& name) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); };
  if (name.empty()) throw bad_input("empty VM name");
  if (name.size() > 64) throw bad_input("VM name '" + printable(name) + "' is longer than 64 characters");
  if (!alnum(name[0])) {
    throw bad_input("VM name '" + printable(name) + "' must start with a letter or digit ([A-Za-z0-9][A-Za-z0-9._-]*)");
  }
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') {
      throw bad_input("VM name '" + printable(name) + "' has a character outside [A-Za-z0-9._-]");
    }
  }
}

}  // namespace xentt
