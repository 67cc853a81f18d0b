#include "xentt/vmi/linux_tasks.h"

#include <fmt/format.h>

#include <unordered_set>

#include "xentt/base/error.h"
#include "xentt/vmi/list_walk.h"

namespace xentt::vmi {

namespace {

constexpr std::uint64_t kPfKthread = 0x00200000;  // PF_KTHREAD, include/linux/sched.h

// A member's offset and size, and whether the kernel has it.
struct Field {
  std::uint64_t offset = 0, size = 0;
};

std::optional<Field> find_field(const EvalContext& cx, const sym::Type* t, const std::string& name) {
  try {
    sym::Member m = cx.types.member(t, name);
    return Field{m.offset, size_of(cx, m.type)};
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) throw;
    return std::nullopt;
  }
}

Field field(const EvalContext& cx, const sym::Type* t, const std::string& name) {
  sym::Member m = cx.types.member(t, name);
  return Field{m.offset, size_of(cx, m.type)};
}

// What reading a task costs to know: offsets from the DWARF, once.
struct TaskLayout {
  Field pid, tgid, real_parent, comm, state, exit_state, flags, mm, signal;
  std::optional<Field> thread_node, thread_group;  // 6.1+: thread_node; until 6.6: thread_group
  std::uint64_t thread_head = 0;                   // in struct signal_struct (with thread_node)
};

TaskLayout layout(const EvalContext& cx) {
  const sym::Type* t = &cx.types.type("struct task_struct");
  TaskLayout l;
  l.pid = field(cx, t, "pid");
  l.tgid = field(cx, t, "tgid");
  l.real_parent = field(cx, t, "real_parent");
  l.comm = field(cx, t, "comm");
  auto st = find_field(cx, t, "__state");  // 5.14+
  l.state = st ? *st : field(cx, t, "state");
  l.exit_state = field(cx, t, "exit_state");
  l.flags = field(cx, t, "flags");
  l.mm = field(cx, t, "mm");
  l.signal = field(cx, t, "signal");
  l.thread_node = find_field(cx, t, "thread_node");
  if (l.thread_node) {
    auto head = find_field(cx, &cx.types.type("struct signal_struct"), "thread_head");
    if (head) l.thread_head = head->offset;
    else l.thread_node.reset();
  }
  if (!l.thread_node) l.thread_group = find_field(cx, t, "thread_group");
  return l;
}

std::uint64_t read_int(const EvalContext& cx, std::uint64_t task, const Field& f, const char* name, bool is_signed) {
  std::byte b[8] = {};
  std::size_t n = f.size > 8 ? 8 : f.size;
  read_for(cx, fmt::format("task_struct at {:#x}: its {}", task, name), task + f.offset, std::span(b, n));
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(b[i]) << (8 * i);
  if (is_signed && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ull << (8 * n);
  return v;
}

LinuxTask read_task(const EvalContext& cx, const TaskLayout& l, std::uint64_t task) {
  LinuxTask out;
  out.address = task;
  out.pid = static_cast<std::int64_t>(read_int(cx, task, l.pid, "pid", true));
  out.tgid = static_cast<std::int64_t>(read_int(cx, task, l.tgid, "tgid", true));
  std::uint64_t parent = read_int(cx, task, l.real_parent, "real_parent", false);
  if (parent != 0)
    out.ppid = static_cast<std::int64_t>(
        read_int(cx, parent, l.tgid, fmt::format("real_parent's tgid (task {:#x})", task).c_str(), true));
  out.comm = read_c_string(cx, fmt::format("task_struct at {:#x}: its comm", task), task + l.comm.offset,
                           l.comm.size > 64 ? 64 : l.comm.size);
  out.state = task_state_letter(read_int(cx, task, l.state, "state", false),
                                read_int(cx, task, l.exit_state, "exit_state", false));
  std::uint64_t flags = read_int(cx, task, l.flags, "flags", false);
  std::uint64_t mm = read_int(cx, task, l.mm, "mm", false);
  out.kernel_thread = mm == 0 || (flags & kPfKthread);
  return out;
}

}  // namespace

char task_state_letter(std::uint64_t state, std::uint64_t exit_state) {
  constexpr std::uint64_t kReport = 0x7f;        // TASK_REPORT: RUNNING .. PARKED
  constexpr std::uint64_t kIdle = 0x0002 | 0x0400;  // TASK_UNINTERRUPTIBLE | TASK_NOLOAD
  constexpr std::uint64_t kRtlockWait = 0x1000;
  std::uint64_t s = (state | exit_state) & kReport;
  if ((state & kIdle) == kIdle) s = 0x80;  // TASK_REPORT_IDLE
  if (state == kRtlockWait) s = 0x02;
  static const char letters[] = "RSDTtXZPI";
  int idx = 0;
  while (s) {  // fls(): the highest bit set
    ++idx;
    s >>= 1;
  }
  return letters[idx];
}

std::uint64_t current_task(const EvalContext& cx) {
  if (auto hot = cx.types.find_variable("pcpu_hot"); hot && hot->per_cpu)
    return evaluate_scalar(cx, "pcpu_hot.current_task");
  if (cx.types.find_variable("current_task")) return evaluate_scalar(cx, "current_task");
  throw bad_input(fmt::format("{} has neither pcpu_hot nor current_task: cannot tell the running task",
                              cx.types.path()));
}

std::vector<LinuxTask> linux_tasks(const EvalContext& cx, bool mark_running) {
  auto init = cx.types.find_variable("init_task");
  if (!init)
    throw bad_input(fmt::format("{} is not a Linux kernel's debug file (no init_task): give the guest kernel's "
                                "vmlinux with --vmlinux",
                                cx.types.path()));
  TaskLayout l = layout(cx);
  std::optional<std::uint64_t> current;
  if (mark_running) current = current_task(cx);
  std::uint64_t init_addr = init->address + cx.bias;
  std::vector<std::uint64_t> leaders{init_addr};
  for (std::uint64_t t : walk_list(cx, init_addr + cx.types.member(init->type, "tasks").offset, "struct task_struct",
                                   "tasks"))
    leaders.push_back(t);
  std::vector<LinuxTask> out;
  std::unordered_set<std::uint64_t> listed;
  auto add = [&](std::uint64_t t) {
    if (!listed.insert(t).second) return;
    out.push_back(read_task(cx, l, t));
    out.back().running = current && *current == t;
  };
  for (std::uint64_t leader : leaders) {
    add(leader);
    if (l.thread_node) {
      std::uint64_t signal = read_int(cx, leader, l.signal, "signal", false);
      if (signal == 0) continue;  // a task being reaped
      for (std::uint64_t t : walk_list(cx, signal + l.thread_head, "struct task_struct", "thread_node")) add(t);
    } else if (l.thread_group) {
      for (std::uint64_t t : walk_list(cx, leader + l.thread_group->offset, "struct task_struct", "thread_group"))
        add(t);
    }
  }
  return out;
}

}  // namespace xentt::vmi
