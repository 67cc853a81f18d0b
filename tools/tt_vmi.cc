// tt_vmi: look inside a recorded VM at an instant: registers, memory
// (physical, or virtual through the guest's own page tables), translations,
// typed values by DWARF. The instant is the VM's paused background replay
// (tt_replay -p / --until), or each --at point of a replay started here.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tool_main.h"
#include "xentt/base/error.h"
#include "xentt/base/interrupt.h"
#include "xentt/session/guest_instants.h"
#include "xentt/session/location.h"
#include "xentt/session/vm_symbols.h"
#include "xentt/base/hex.h"
#include "xentt/base/printable.h"
#include "xentt/base/number.h"
#include "xentt/vmi/typed_value.h"
#include "xentt/vm/engine.h"
#include "xentt/vmi/inspector.h"
#include "xentt/vmi/linux_vmcore.h"
#include "xentt/vmi/linux_dmesg.h"
#include "xentt/vmi/linux_modules.h"
#include "xentt/vmi/linux_tasks.h"
#include "xentt/vmi/linux_vmas.h"
#include "xentt/session/process_symbols.h"
#include "xentt/vmi/register_view.h"

namespace fs = std::filesystem;
using namespace xentt;
using nlohmann::json;

namespace {

struct Options {
  std::string name, dir, replay, debug_file, kaslr;
  std::vector<std::string> at;
  // maps, symmaps
  std::int64_t pid = -1;
  std::vector<std::string> sysroots;
  bool json = false;
  bool xen = false, no_pause = false;
  // regs
  unsigned vcpu = 0;
  // read
  std::string what, length = "64", cr3;
  bool raw = false, physical = false;
  // print
  std::string expr;
  // core, trace
  std::string output, core_format = "elf";
  unsigned ms = 100;
  // watch
  std::string from, to;
  bool watch = false, reads = false, one_insn_per_tb = false;
};

// "0000: 48 89 e5 ... |H..|" lines, 16 bytes each, addresses from `base`.
std::string hex_dump(std::uint64_t base, const std::string& bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 16) {
    std::string hex, text;
    for (std::size_t k = i; k < i + 16; ++k) {
      if (k < bytes.size()) {
        auto c = static_cast<unsigned char>(bytes[k]);
        hex += fmt::format("{:02x} ", c);
        text += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.';
      } else {
        hex += "   ";
      }
      if (k % 16 == 7) hex += ' ';
    }
    out += fmt::format("{:016x}  {} |{}|\n", base + i, hex, text);
  }
  return out;
}

// The VM's symbol files (none for a live domain: `sd` null), --vmlinux,
// --kaslr-offset.
vmi::InspectorOptions inspector_options(const StateDir* sd, const Options& o) {
  vmi::InspectorOptions io;
  if (sd) io.maps = symbol_maps(*sd);
  if (!o.debug_file.empty()) io.debug_file = o.debug_file;
  if (!o.kaslr.empty()) io.kaslr_offset = static_cast<std::int64_t>(parse_u64(o.kaslr, "--kaslr-offset"));
  return io;
}

// A list answer: a JSON row per item in `*out`, or `header` and a text line
// per item (each ending in a newline) on stdout. `row(item)` gives both.
template <class T, class Row>
void list_answer(const std::vector<T>& items, json* out, const std::string& header, Row&& row) {
  if (out) *out = json::array();
  std::string text = out ? "" : header;
  for (const auto& x : items) {
    auto [j, line] = row(x);
    if (out) out->push_back(std::move(j));
    else text += line;
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
}

// One subcommand's answer at one instant: text (ends with a newline) or JSON.
using Answer = std::function<void(const Instant&, vmi::Inspector&, json* out)>;

// --xen: NAME is a live domU. It is paused while we look (Xen counts
// pauses: a domain paused before stays paused after) unless --no-pause.
int run_live(const Options& o, const Answer& answer) {
  if (!o.at.empty() || !o.replay.empty() || !o.dir.empty())
    throw bad_input("--xen looks at a live domain: --at, --replay and --state-dir are for recordings");
  vmi::InspectorOptions io = inspector_options(nullptr, o);
  std::unique_ptr<Target> t = make_engine("xen")->open_live(o.name);
  if (!o.no_pause) t->pause();
  json j;
  {
    vmi::Inspector insp(*t, io);
    Instant in{.point = "live", .icount = 0, .rip = 0, .moved_since_paused = false};
    answer(in, insp, o.json ? &j : nullptr);
  }
  if (!o.no_pause) t->resume();
  if (o.json) fmt::print("{}\n", j.dump(-1, ' ', false, json::error_handler_t::replace));
  std::fflush(stdout);
  return 0;
}

// `bytes` as a value: a little-endian number up to 8 bytes, else hex bytes.
std::string value_text(const std::string& bytes) {
  if (bytes.empty()) return "?";
  if (bytes.size() <= 8) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes.size(); i++) v |= std::uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
    return fmt::format("{:#x}", v);
  }
  return hex_encode(bytes);
}

// watch: every write (and with --reads every read) of an object between
// two locations, through the plugin's memory callbacks in a replay of our
// own; the writer symbolized, each value before and after.
int run_watch(const Options& o) {
  if (o.xen || !o.at.empty() || !o.replay.empty())
    throw bad_input("watch replays the window itself: --xen, --at and --replay do not apply");
  StateDir sd = StateDir::open_existing(o.name, o.dir.empty() ? std::nullopt : std::optional<fs::path>(o.dir));
  const StopPoint from = resolve_stop_point(sd, o.from), to = resolve_stop_point(sd, o.to);
  SessionOptions so;
  so.memory_watch = true;
  so.one_insn_per_tb = o.one_insn_per_tb;
  auto s = ReplaySession::start(sd, so);
  s->run_until(from);  // a location without brctr: its first hit
  const std::uint64_t start = s->position().icount;
  std::optional<vmi::Inspector> at_start(std::in_place, s->target(), inspector_options(&sd, o));
  vmi::Inspector& insp = *at_start;
  // WHAT: ADDR:LEN, or an expression naming an object in memory.
  MemoryWatch w;
  w.read = o.reads;
  w.write = true;
  if (auto colon = o.what.rfind(':'); colon != std::string::npos && looks_numeric(o.what.substr(colon + 1))) {
    w.addr = insp.address_of(o.what.substr(0, colon));
    w.len = parse_u64(o.what.substr(colon + 1), "watch LEN");
  } else {
    vmi::EvalContext cx = insp.kernel_context();
    vmi::Value v = vmi::evaluate(cx, o.what);
    if (!v.address || v.bit_size) throw bad_input("watch " + o.what + ": not an object in memory (no address)");
    w.addr = *v.address;
    w.len = vmi::size_of(cx, v.type);
  }
  if (w.len == 0 || w.len > 4096) throw bad_input(fmt::format("watch {}: {} bytes: watch 1 to 4096", o.what, w.len));
  const std::size_t shown = std::size_t(std::min<std::uint64_t>(w.len, 64));  // values shown: the first 64 bytes
  std::string value = insp.read_virtual(w.addr, shown);
  at_start.reset();  // read at the start: the replay moves on
  s->run_until(to);  // without brctr: the first hit after the start
  const std::uint64_t end = s->position().icount;
  if (end < start)
    throw bad_input(fmt::format("--to {} (icount {}) comes before --from {} (icount {})", o.to, end, o.from, start));
  MemoryHits hits = s->accesses({&w, 1}, Icount{start}, Icount{end});
  sym::Symbolizer symz(symbol_maps(sd), [](const std::string& m) { fmt::print(stderr, "tt_vmi: warning: {}\n", printable(m)); });
  json rows = json::array();
  if (!o.json) {
    fmt::print("{} at {:#x}, {} bytes, from icount {} to {}: {} {}{}\n", o.what, w.addr, w.len, start, end,
               hits.count, o.reads ? "accesses" : "writes", hits.count > hits.kept.size() ? " (the first 100000 shown)" : "");
  }
  for (const MemoryAccess& a : hits.kept) {
    sym::Resolved r;
    symz.resolve(a.pc, sym::LookupOptions{.lines = true}, r);
    std::string where = r.symbol.empty() ? fmt::format("{:#x}", a.pc) : fmt::format("{}+{:#x}", r.symbol, r.offset);
    std::string line;
    if (!r.frames.empty() && r.frames[0].line) line = fmt::format("{}:{}", r.frames[0].file, r.frames[0].line);
    std::string old = value;
    if (a.write) value = a.data.substr(0, shown);
    if (o.json) {
      json j{{"location", fmt::format("{:#x}:{}", a.pc, a.brctr)}, {"eip", fmt::format("{:#x}", a.pc)},
             {"brctr", a.brctr}, {"icount", a.icount}, {"function", where}, {"line", line},
             {"access", a.write ? "write" : "read"}, {"address", fmt::format("{:#x}", a.addr)}, {"size", a.size}};
      if (a.write) j["old"] = value_text(old), j["new"] = value_text(value);
      rows.push_back(std::move(j));
    } else {
      fmt::print("{:#x}:{:<10} icount {:<12} {:<28} {:<24} {} {} byte(s) at {:#x}{}\n", a.pc, a.brctr, a.icount, where,
                 line, a.write ? "write" : "read ", a.size, a.addr,
                 a.write ? fmt::format(": {} -> {}", value_text(old), value_text(value)) : "");
    }
  }
  if (o.json) {
    fmt::print("{}\n", json{{"what", o.what}, {"address", fmt::format("{:#x}", w.addr)}, {"bytes", w.len},
                            {"from_icount", start}, {"to_icount", end}, {"count", hits.count}, {"accesses", rows}}
                           .dump());
  }
  s->stop();
  return 0;
}

int run(const Options& o, const Answer& answer) {
  stop_on_signals();  // Ctrl-C with --at: quit QEMU, remove its files, exit 1
  if (o.watch) return run_watch(o);
  if (o.xen) return run_live(o, answer);
  StateDir sd = StateDir::open_existing(o.name, o.dir.empty() ? std::nullopt : std::optional<fs::path>(o.dir));
  vmi::InspectorOptions io = inspector_options(&sd, o);
  json rows = json::array();
  bool several = o.at.size() > 1;
  auto visit = [&](const Instant& in, Target& t) {
    if (in.moved_since_paused)
      fmt::print(stderr,
                 "tt_vmi: warning: the replay of '{}' was paused at icount {} but is now at rip {:#x} (a debugger "
                 "ran it on): the answers are for where it is now\n",
                 sd.name(), in.icount, in.rip);
    vmi::Inspector insp(t, io);
    if (o.json) {
      json j;
      answer(in, insp, &j);
      if (several || !o.at.empty()) {
        j = json{{"point", in.point}, {"icount", in.icount}, {"rip", fmt::format("{:#x}", in.rip)}, {"result", j}};
      }
      rows.push_back(std::move(j));
    } else {
      if (several) fmt::print("== {} (icount {}, rip {:#x})\n", in.point, in.icount, in.rip);
      answer(in, insp, nullptr);
    }
    std::fflush(stdout);
  };
  if (o.at.empty()) {
    visit_paused_replay(sd, o.replay, visit);
  } else {
    if (!o.replay.empty()) throw bad_input("--replay names a paused replay; --at starts one of its own: give one of them");
    SessionOptions so;
    so.ensure_index = true;
    visit_points(sd, o.at, so, visit);
  }
  if (o.json) fmt::print("{}\n", (rows.size() == 1 && o.at.size() <= 1 ? rows[0] : rows)
                                    .dump(-1, ' ', false, json::error_handler_t::replace));  // guest text: any bytes
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  Answer answer;
  return tool_main(
      argc, argv, "tt_vmi",
      "Look inside a recorded VM: at its paused replay (tt_replay -p NAME), or at each --at point of a replay "
      "started here; or inside a live Xen domU (--xen NAME, in dom0).",
      [&](CLI::App& app) {
        app.require_subcommand(1);
        app.add_option("NAME", o.name, "VM name (with --xen: the domain's name or id)")->required();
        app.add_flag("--xen", o.xen,
                     "NAME is a live Xen domU (run in dom0, as root): paused while we look, then unpaused; "
                     "give its kernel's DWARF with --vmlinux");
        app.add_flag("--no-pause", o.no_pause, "with --xen: read the domain while it runs (answers may be torn)");
        app.add_option("-s,--state-dir", o.dir, "state directory (default $XENTT_STATE/NAME)");
        app.add_option("--replay", o.replay, "which paused replay of NAME, when it has several (replays/ID)");
        app.add_option("--at", o.at,
                       "look at LOC instead: eip[:brctr[:cx]] (eip may be a symbol) or icount=N; repeat it for "
                       "one answer per point")
            ->allow_extra_args(false);  // each --at takes one point: NAME and the command follow
        app.add_option("--debug-file,--vmlinux", o.debug_file,
                       "the kernel's ELF with DWARF (default: the VM's symbol files)");
        app.add_option("--kaslr-offset", o.kaslr, "added to every address of the debug file: the kernel's KASLR offset (default 0)");
        app.add_flag("--json", o.json, "machine-readable output");

        auto* regs = app.add_subcommand("regs", "every register of a vCPU, as gdb's 'info registers' prints them");
        regs->add_option("-c,--vcpu", o.vcpu, "vCPU (default 0)");
        regs->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            Registers r = insp.registers(o.vcpu);
            if (out) *out = vmi::registers_json(r);
            else fmt::print("{}", vmi::registers_text(r));
          };
        });

        auto* read = app.add_subcommand("read", "bytes at an address or symbol, as a hex dump");
        read->add_option("ADDR", o.what, "address (0x.. or decimal) or symbol")->required();
        read->add_option("LEN", o.length, "bytes (default 64)");
        read->add_flag("-P,--physical", o.physical, "ADDR is guest-physical");
        read->add_flag("--raw", o.raw, "write the bytes themselves to stdout");
        read->add_option("--cr3", o.cr3, "translate through this page-table root (another address space)");
        read->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            std::uint64_t len = parse_u64(o.length, "LEN");
            if (len > (64u << 20)) throw bad_input(fmt::format("LEN {} is more than 64 MiB: read it in parts", len));
            std::optional<std::uint64_t> cr3;
            if (!o.cr3.empty()) cr3 = parse_u64(o.cr3, "--cr3");
            std::uint64_t addr = o.physical ? parse_u64(o.what, "ADDR") : insp.address_of(o.what);
            std::string bytes = o.physical ? insp.read_physical(addr, len) : insp.read_virtual(addr, len, cr3);
            if (out) {
              *out = json{{"address", fmt::format("{:#x}", addr)},
                          {"space", o.physical ? "guest-physical" : "guest-virtual"},
                          {"bytes", hex_encode(bytes)}};
            } else if (o.raw) {
              std::fwrite(bytes.data(), 1, bytes.size(), stdout);
            } else {
              fmt::print("{}", hex_dump(addr, bytes));
            }
          };
        });

        auto* translate = app.add_subcommand("translate", "the guest-physical address of a virtual one, and the page-table entries on the way");
        translate->add_option("VADDR", o.what, "virtual address (0x.. or decimal) or symbol")->required();
        translate->add_option("--cr3", o.cr3, "page-table root (default: the vCPU's CR3)");
        translate->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            std::optional<std::uint64_t> cr3;
            if (!o.cr3.empty()) cr3 = parse_u64(o.cr3, "--cr3");
            auto t = insp.translate(insp.address_of(o.what), cr3);
            if (!t.mapping)  // as a read of it would say
              throw bad_input(fmt::format("guest-virtual address {:#x}: {}", t.vaddr, t.fault->describe(t.paging.mode)));
            if (out) *out = t.to_json();
            else fmt::print("{}", t.to_text());
          };
        });

        auto* print = app.add_subcommand("print", "a typed value by DWARF: a variable, a field path, *ptr, a cast");
        print->add_option("EXPR", o.expr, "e.g. demo_ticks, init_task.comm, init_task.tasks.next, *init_task.mm")
            ->required();
        print->callback([&] {
          answer = [&](const Instant& in, vmi::Inspector& insp, json* out) {
            if (out) *out = insp.print_json(o.expr);
            else if (o.at.size() > 1) fmt::print("{} = {}\n", o.expr, insp.print(o.expr));
            else fmt::print("{}\n", insp.print(o.expr));
            (void)in;
          };
        });

        auto* ps = app.add_subcommand("ps", "the tasks of a Linux guest (every thread), '>' marking the running one");
        ps->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            vmi::EvalContext cx = insp.kernel_context();
            std::string header = fmt::format("  {:>7} {:>7} {:>7} S KTHREAD COMM\n", "PID", "PPID", "TGID");
            list_answer(vmi::linux_tasks(cx), out, header, [](const vmi::LinuxTask& t) {
              return std::pair(json{{"pid", t.pid}, {"ppid", t.ppid}, {"tgid", t.tgid},
                                    {"state", std::string(1, t.state)}, {"kernel_thread", t.kernel_thread},
                                    {"running", t.running}, {"comm", t.comm}, {"task", fmt::format("{:#x}", t.address)}},
                               fmt::format("{} {:>7} {:>7} {:>7} {} {:<7} {}\n", t.running ? '>' : ' ', t.pid, t.ppid,
                                           t.tgid, t.state, t.kernel_thread ? "yes" : "no", printable(t.comm)));
            });
          };
        });

        auto* lsmod = app.add_subcommand("lsmod", "the loaded modules of a Linux guest: name, size, state, address");
        lsmod->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            list_answer(vmi::linux_modules(insp.kernel_context()), out, "", [](const vmi::LinuxModule& m) {
              return std::pair(json{{"name", m.name}, {"size", m.size}, {"state", m.state},
                                    {"address", fmt::format("{:#x}", m.base)}},
                               fmt::format("{} {} {} {:#018x}\n", printable(m.name), m.size, m.state, m.base));
            });
          };
        });

        auto* dmesg = app.add_subcommand("dmesg", "the kernel log of a Linux guest as it stands (5.10+)");
        dmesg->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            list_answer(vmi::kernel_log(insp.kernel_context()), out, "", [](const vmi::PrintkRecord& r) {
              return std::pair(json{{"seq", r.seq}, {"ts_nsec", r.ts_nsec}, {"text", r.text}}, vmi::dmesg_lines(r));
            });
          };
        });

        auto* kaslr = app.add_subcommand("kaslr", "the KASLR slide of a Linux guest's kernel, found from the guest");
        kaslr->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            std::uint64_t s = insp.kaslr_slide();
            if (out) *out = json{{"kaslr_slide", fmt::format("{:#x}", s)}};
            else fmt::print("{:#x}\n", s);
          };
        });

        auto* vmas = app.add_subcommand(
            "maps", "a Linux process's memory map (its VMAs), as /proc/PID/maps shows it: the current process's, or "
                    "PID's");
        vmas->add_option("PID", o.pid, "the process (default: the one running on vCPU 0)");
        vmas->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            vmi::EvalContext cx = insp.kernel_context();
            std::uint64_t task = 0;
            if (o.pid < 0) {
              task = vmi::current_task(cx);
            } else {
              for (const auto& t : vmi::linux_tasks(cx, false))
                if (t.pid == o.pid) task = t.address;
              if (!task) throw bad_input(fmt::format("no task with pid {} in the guest (tt_vmi NAME ps lists them)", o.pid));
            }
            std::uint64_t mm = vmi::evaluate_scalar(cx, fmt::format("((struct task_struct *){:#x})->mm", task));
            if (!mm) throw bad_input(fmt::format("task {:#x} is a kernel thread: it has no memory map", task));
            list_answer(vmi::linux_vmas(cx, mm), out, "", [](const vmi::LinuxVma& v) {
              std::string perms = {v.flags & 1 ? 'r' : '-', v.flags & 2 ? 'w' : '-', v.flags & 4 ? 'x' : '-',
                                   v.flags & 8 ? 's' : 'p'};
              std::uint64_t offset = v.file ? v.pgoff * 4096 : 0;  // /proc's: anonymous memory shows 0
              return std::pair(json{{"start", fmt::format("{:#x}", v.start)},
                                    {"end", fmt::format("{:#x}", v.end)},
                                    {"perms", perms},
                                    {"offset", fmt::format("{:#x}", offset)},
                                    {"path", v.path}},
                               fmt::format("{:08x}-{:08x} {} {:08x} {}\n", v.start, v.end, perms, offset, v.path));
            });
          };
        });

        auto* symmaps = app.add_subcommand(
            "symmaps", "the VM's symbol maps as the guest has them: with --sysroot, the code of the process running "
                       "on vCPU 0 (its files found by the build-ids in its memory: the sysroots, /, the debug-file "
                       "directories), the kernel's moved by its KASLR slide, each loaded module's .ko (found by "
                       "build-id) at its section addresses; a symbol-map list (bts_dump, tt_symbolize: "
                       "--symmap-list FILE)");
        symmaps->add_option("--sysroot", o.sysroots,
                            "DIR holds the guest's files (DIR/lib/libc.so.6 for its /lib/libc.so.6): list the running "
                            "process's code too; repeatable; --sysroot / for a guest running the host's own files")
            ->allow_extra_args(false);
        symmaps->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            auto warn = [](const std::string& w) { fmt::print(stderr, "tt_vmi: warning: {}\n", printable(w)); };
            auto maps = insp.relocated_maps(warn);
            // With --sysroot, the running process's code first: its ranges are
            // bounded, the kernel's map may cover every address.
            if (!o.sysroots.empty()) try {
              ProcessSymbols processes(o.sysroots, {}, warn);
              auto user = current_process(insp, processes).maps;
              maps.insert(maps.begin(), user.begin(), user.end());
            } catch (const Error& e) {
              if (e.kind() != ErrorKind::BadInput) throw;
              warn(std::string("no user-space code: ") + e.what());
            }
            list_answer(maps, out, "# symbol maps of the guest: FILE[@lo-hi[+bias]][{SECTION=ADDR,...}][:prefix]\n",
                        [](const sym::SymbolMapSpec& m) {
                          json sections = json::object();
                          for (const auto& [name, addr] : m.sections) sections[name] = fmt::format("{:#x}", addr);
                          return std::pair(json{{"file", m.path},
                                                {"lo", fmt::format("{:#x}", m.lo)},
                                                {"hi", fmt::format("{:#x}", m.hi)},
                                                {"bias", fmt::format("{:#x}", m.bias)},
                                                {"sections", sections},
                                                {"prefix", m.prefix}},
                                           sym::format_symmap(m) + "\n");
                        });
          };
        });

        auto* trace = app.add_subcommand(
            "trace", "with --xen: the domain's branches while it runs on for --ms, through vmtrace (Intel PT), as a .bts");
        trace->add_option("-o,--output", o.output, "the .bts file to write (raw: PT gives no branch count)")->required();
        trace->add_option("--ms", o.ms, "milliseconds to let the domain run (default 100)")->check(CLI::Range(1u, 60000u));
        trace->add_option("-c,--vcpu", o.vcpu, "vCPU (default 0)");
        trace->callback([&] {
          answer = [&](const Instant&, vmi::Inspector& insp, json* out) {
            Target::LiveTrace t = insp.target().trace_live(o.vcpu, std::chrono::milliseconds(o.ms), o.output);
            if (out) *out = json{{"bts", o.output}, {"records", t.records}, {"gaps", t.gaps}, {"first_error", t.first_error}};
            else fmt::print("wrote {}: {} branch records, {} gaps{}\n", o.output, t.records, t.gaps,
                            t.first_error.empty() ? "" : " (first: " + t.first_error + ")");
          };
        });

        auto* watch = app.add_subcommand(
            "watch", "every write to an object between two locations: where ({eip, brctr}, icount), the writer "
                     "(function+offset, file:line), old -> new");
        watch->add_option("WHAT", o.what, "an expression naming an object (demo_ticks, init_task.comm) or ADDR:LEN")
            ->required();
        watch->add_option("--from", o.from, "the window's start: eip[:brctr[:cx]] or icount=N")->required();
        watch->add_option("--to", o.to, "the window's end: eip[:brctr[:cx]] or icount=N")->required();
        watch->add_flag("--reads", o.reads, "reads too");
        watch->add_flag("--one-insn-per-tb", o.one_insn_per_tb,
                        "the ground truth: every instruction in a block of its own (several times slower)");
        watch->callback([&] { o.watch = true; });

        auto* core = app.add_subcommand("core", "an ELF vmcore of this instant that crash and drgn open with the vmlinux");
        core->add_option("-o,--output", o.output, "the vmcore to write (with several --at: FILE.0, FILE.1, ... in their order)")
            ->required();
        core->add_option("--format", o.core_format,
                         "elf (default: an ELF vmcore with VMCOREINFO, for crash and drgn) or xen (with --xen: Xen's "
                         "xc_core, what xl dump-core writes; crash reads a PV domain's memory only from this)")
            ->check(CLI::IsMember({"elf", "xen"}));
        core->callback([&] {
          answer = [&](const Instant& in, vmi::Inspector& insp, json* out) {
            static std::size_t nth = 0;  // the instants come in the order of the --at points
            std::string file = o.at.size() > 1 ? o.output + "." + std::to_string(nth++) : o.output;
            (void)in;
            if (o.core_format == "xen") {
              insp.target().write_native_core(file);
              if (out) *out = json{{"vmcore", file}, {"format", "xen"}};
              else fmt::print("wrote {}: the engine's own core format\n", file);
              return;
            }
            vmi::VmcoreSpec spec = vmi::linux_vmcore_spec(insp);
            std::uint64_t bytes = 0;
            for (const auto& r : spec.ram) bytes += r.size;
            vmi::write_vmcore(file, spec, insp.ram());
            if (out) *out = json{{"vmcore", file}, {"ram_bytes", bytes}, {"vcpus", spec.vcpus.size()}};
            else fmt::print("wrote {}: {} MiB of guest RAM, {} vCPU(s), VMCOREINFO of {} bytes\n", file, bytes >> 20,
                            spec.vcpus.size(), spec.vmcoreinfo.size());
          };
        });
      },
      [&] { return run(o, answer); });
}
