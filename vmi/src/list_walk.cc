#include "xentt/vmi/list_walk.h"

#include <fmt/format.h>

#include <unordered_set>

#include "xentt/base/error.h"

namespace xentt::vmi {

std::vector<std::uint64_t> walk_list(const EvalContext& cx, std::uint64_t head, const std::string& entry_type,
                                     const std::string& member, std::size_t limit, std::string* broken) {
  const sym::Type& entry = cx.types.type(entry_type);
  sym::Member link = cx.types.member(&entry, member);
  // `next` of the link's own type (struct list_head, or any struct with a next pointer).
  sym::Member next = cx.types.member(link.type, "next");
  std::vector<std::uint64_t> out;
  std::unordered_set<std::uint64_t> seen;
  std::uint64_t node = head;
  if (broken) broken->clear();
  // A break: thrown, or (with `broken`) said there and the entries so far returned.
  auto stop = [&](Error e) {
    if (!broken) throw e;
    *broken = e.what();
    return out;
  };
  for (;;) {
    std::string where = out.empty() ? fmt::format("list head at 0x{:x}", head)
                                    : fmt::format("{} list entry {} at 0x{:x}", entry_type, out.size() - 1, out.back());
    std::uint64_t to = 0;
    try {
      to = cx.memory.read_u64(node + next.offset);
    } catch (const Error& e) {
      Error err(e.kind(), fmt::format("{}.{}.next: {}", where, member, e.what()));
      if (e.kind() != ErrorKind::BadInput) throw err;  // the engine failed, not the guest's list
      return stop(err);
    }
    if (to == head) return out;
    if (to == 0) return stop(bad_input(fmt::format("{}: its {}.next is NULL (a broken list)", where, member)));
    if (!seen.insert(to).second)
      return stop(bad_input(fmt::format("{}: its {}.next 0x{:x} was visited before: a cycle that skips the head at 0x{:x}",
                                        where, member, to, head)));
    if (out.size() == limit)
      return stop(bad_input(fmt::format("list at 0x{:x}: more than {} entries (a corrupt list?)", head, limit)));
    out.push_back(to - link.offset);
    node = to;
  }
}

}  // namespace xentt::vmi
