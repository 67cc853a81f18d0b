// What fuzzing the parsers of untrusted input found (tests/fuzz/, `make
// fuzz`), each as a test: integers in a state directory's JSON that are
// floats or out of range, error messages that carried raw control bytes
// from the input, a config that did not read back, QMP replies that
// escaped as exceptions other than xentt::Error.
#include <catch2/catch_test_macros.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "unit_util.h"
#include "vm/qemu/gdb_remote.h"
#include "vm/qemu/qemu_options.h"
#include "vm/qemu/qmp_client.h"
#include "xentt/base/printable.h"
#include "xentt/session/replay_index.h"
#include "xentt/session/replay_state.h"
#include "xentt/session/vm_config.h"

using namespace xentt;
using namespace xentt::test;
using nlohmann::json;

namespace {

// A valid config.json with `field` set to `value` (JSON text).
std::string config_with(const std::string& field, const std::string& value) {
  VmConfig c;
  c.name = "vm";
  c.kernel = "kernel";
  json j = json::parse(c.to_json());
  j[field] = json::parse(value);
  return j.dump();
}
std::string config_error(const std::string& field, const std::string& value) {
  return message_of([&] { VmConfig::from_json(config_with(field, value), "/s/config.json"); });
}

bool one_printable_line(const std::string& m) {
  for (char c : m)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return !m.empty();
}

}  // namespace

TEST_CASE("excerpt(): control bytes escaped, long input cut") {
  CHECK(excerpt("a\nb\x1b[0m") == "a\\nb\\x1b[0m");
  CHECK(excerpt("h\xc3\xa9llo") == "h\xc3\xa9llo");  // UTF-8 stays readable
  CHECK(excerpt(std::string(100, 'x'), 10) == "xxxxxxxxxx... (90 more bytes)");
  CHECK(excerpt("h\xc3\xa9llo", 2) == "h\\xc3... (4 more bytes)");  // a cut UTF-8 sequence is escaped
}

TEST_CASE("integers in a state directory's JSON must be integers in range, not floats (fuzz_replay_index)") {
  // A float beyond uint64_t was undefined behaviour in nlohmann's get<>(); a
  // float in range or a negative count was silently converted.
  CHECK(config_error("memory_mb", "3e+93") ==
        "/s/config.json: memory_mb: 3e+93 is not an integer in 0..18446744073709551615");
  CHECK(config_error("memory_mb", "64.9").find("memory_mb: 64.9 is not an integer") != std::string::npos);
  CHECK(config_error("checkpoint_interval", "-1").find("checkpoint_interval: -1 is not an integer") !=
        std::string::npos);
  CHECK(config_error("format", "2.0").find("format: 2.0 is not an integer") != std::string::npos);

  ReplayIndex idx;
  idx.checkpoints = {0, 50};
  idx.checkpoint_brctr = {0, 7};
  json j = json::parse(idx.to_json());
  j["checkpoints"][1] = 3e93;
  CHECK(message_of([&] { ReplayIndex::from_json(j.dump(), "index.json"); })
            .find("index.json: checkpoints[1]: 3e+93 is not an integer") != std::string::npos);
  j = json::parse(idx.to_json());
  j["final_icount"] = -5;
  CHECK(status_of([&] { ReplayIndex::from_json(j.dump(), "index.json"); }) == 2);

  ReplayState s;
  s.vm = "vm";
  json r = s.to_json();
  r["engine_pid"] = 1.5;
  CHECK(message_of([&] { ReplayState::from_json(r, "replay.json"); }).find("engine_pid: 1.5 is not an integer") !=
        std::string::npos);
  r = s.to_json();
  r["icount"] = -1;
  CHECK(status_of([&] { ReplayState::from_json(r, "replay.json"); }) == 2);

  CHECK(message_of([&] { qemu::QemuOptions::from_json(json::parse(R"({"icount_shift": 2.9})"), "c.json"); })
            .find("icount_shift: 2.9 is not an integer") != std::string::npos);
}

TEST_CASE("error messages quote what the input holds on one printable line (fuzz_vm_config, fuzz_qemu_options, "
          "fuzz_gdb_registers, fuzz_qmp_message)") {
  std::string m = config_error("name", "\"vm\\n\\u001b[2J\"");
  CHECK(one_printable_line(m));
  CHECK(m.find("VM name 'vm\\n\\x1b[2J'") != std::string::npos);
  m = message_of([&] { qemu::QemuOptions::from_json(json::parse(R"({"devices": ["-x\r\n"]})"), "c.json"); });
  CHECK(one_printable_line(m));
  CHECK(m.find("qemu device '-x\\x0d\\n'") != std::string::npos);
  std::string hex(2 * 140, '0');
  hex[206] = '\n';
  m = message_of([&] { qemu::parse_x86_64_registers(hex); });
  CHECK(one_printable_line(m));
  CHECK(m.find("at hex digit 206: '\\n0'") != std::string::npos);
  std::string buf = "\x01{\"return\": {}}\r\n";
  m = message_of([&] { qemu::take_qmp_message(buf, "qmp.sock"); });
  CHECK(one_printable_line(m));
  CHECK(m == "qmp.sock: QEMU sent malformed JSON: \\x01{\"return\": {}}\\x0d");
}

TEST_CASE("a config whose engine takes the place of one of config.json's keys is refused (fuzz_vm_config)") {
  // {"engine": "name"} wrote {"name": {...}} over the VM's name: the
  // config the reader had accepted did not read back.
  std::string m = config_error("engine", R"("name")");
  CHECK(m.find("engine 'name' is not an engine name") != std::string::npos);
  CHECK(config_error("engine", R"("Qemu!")").find("is not an engine name") != std::string::npos);
  CHECK(config_error("engine", R"("qemu")").empty());
  CHECK(config_error("engine", R"("xen")").empty());
}

TEST_CASE("QMP: a line that is not a JSON object, or an error reply without a text, is an Error (fuzz_qmp_message)") {
  // Before: a reply "60" reached json::value() and escaped as
  // nlohmann's type_error, not an xentt::Error.
  std::string buf = "60\n";
  CHECK(message_of([&] { qemu::take_qmp_message(buf, "q.sock"); }) == "q.sock: QEMU sent JSON that is not an object: 60");
  CHECK(buf.empty());
  CHECK(message_of([&] { qemu::qmp_return(json::parse(R"({"error": 5})"), "stop"); }) == "QEMU refused stop: 5");
  CHECK(message_of([&] { qemu::qmp_return(json::parse(R"({"error": {"desc": 7}})"), "stop"); }) ==
        R"(QEMU refused stop: {"desc":7})");
  CHECK(message_of([&] { qemu::qmp_return(json::parse(R"({"error": {"class": "GenericError", "desc": "no"}})"),
                                          "stop"); }) == "QEMU refused stop: no");
  CHECK(qemu::qmp_return(json::parse(R"({"return": [1]})"), "x") == json::parse("[1]"));
  CHECK(qemu::qmp_return(json::parse(R"({"timestamp": 1})"), "x") == json::object());
  // Splitting: blank lines dropped, a partial line left for later.
  buf = "\r\n{\"return\": {}}\r\n{\"event\": \"ST";
  auto m = qemu::take_qmp_message(buf, "q.sock");
  REQUIRE(m);
  CHECK(*m == json::parse(R"({"return": {}})"));
  CHECK_FALSE(qemu::take_qmp_message(buf, "q.sock"));
  CHECK(buf == "{\"event\": \"ST");
}

TEST_CASE("gdb packets: take_packet takes whole packets after acks and leaves partial ones") {
  std::string buf = "+$OK#9a+$T05#b9$E1";
  CHECK(qemu::take_packet(buf) == "OK");
  CHECK(qemu::take_packet(buf) == "T05");
  CHECK(buf == "$E1");
  CHECK_FALSE(qemu::take_packet(buf));
  buf += "4#a";
  CHECK_FALSE(qemu::take_packet(buf));  // the checksum's second digit has not come
  buf += "a";
  CHECK(qemu::take_packet(buf) == "E14");
  CHECK(buf.empty());
}
