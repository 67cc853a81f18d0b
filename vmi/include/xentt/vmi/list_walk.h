// xentt/vmi/list_walk.h: the entries of a Linux-style circular list
// (`struct list_head { next, prev }` embedded in each entry), as the
// kernel's list_for_each_entry() visits them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "xentt/vmi/typed_value.h"

namespace xentt::vmi {

// The addresses of the entries of type `entry_type` ("struct task_struct")
// linked through their member `member` ("tasks"), starting after the head
// at guest address `head` (the head itself is not an entry, as in
// list_for_each_entry: pass &init_task.tasks and init_task is not listed).
// Entry = node - offsetof(entry_type, member) (container_of).
// A guest is not trusted: the walk stops with BadInput on a NULL or
// unreadable `next` (naming the entry number and address), on a cycle that
// does not return to the head, and after `limit` entries; with `broken`,
// it returns the entries before the break instead and puts that message
// there (empty: the list was whole). Costs one 8-byte read per entry, and
// a hash set of the nodes seen.
std::vector<std::uint64_t> walk_list(const EvalContext& cx, std::uint64_t head, const std::string& entry_type,
                                     const std::string& member, std::size_t limit = 100000,
                                     std::string* broken = nullptr);

}  // namespace xentt::vmi
