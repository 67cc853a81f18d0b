// Fuzz target: typed reads over memory a hostile guest controls. The types
// are real DWARF (the typed-read fixture, tests/data/types/); the guest's
// memory is the input, repeated over a 64 KiB window around the fixture's
// globals (every pointer into the window reads input bytes; outside it,
// nothing is mapped). Evaluating and printing the fixture's variables,
// strings behind pointers and list walks (cycles, wild links) must return
// or throw xentt::Error with a one-line message: never crash, hang or
// allocate without bound.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "fuzz_contract.h"
#include "xentt/symbolize/debug_types.h"
#include "xentt/vmi/guest_memory.h"
#include "xentt/vmi/list_walk.h"
#include "xentt/vmi/typed_value.h"
#include "xentt/vmi/value_printer.h"

namespace {

class InputMemory final : public xentt::vmi::GuestMemory {
 public:
  InputMemory(const std::uint8_t* data, std::size_t size, std::uint64_t base) : data_(data), size_(size), base_(base) {}
  void read(std::uint64_t addr, std::span<std::byte> out) const override {
    if (addr < base_ || addr - base_ > kWindow || out.size() > kWindow - (addr - base_) || size_ == 0)
      throw xentt::bad_input("guest-virtual address " + std::to_string(addr) + ": not mapped");
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(data_[(addr - base_ + i) % size_]);
  }
  std::string kind() const override { return "guest-virtual"; }
  static constexpr std::uint64_t kWindow = 64 << 10;

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::uint64_t base_;
};

const xentt::sym::DebugTypes& types() {
  static std::unique_ptr<xentt::sym::DebugTypes> t =
      xentt::sym::DebugTypes::open(XENTT_BINARY_DIR "/tests/data/types/types_fixture.elf");
  return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& t = types();
  static const std::uint64_t base = (t.variable("answer").address & ~std::uint64_t{0xffff}) - 0x4000;
  InputMemory mem(data, size, base);
  xentt::vmi::EvalContext cx(t, mem, 0, [&] { return mem.read_u64(t.variable("__per_cpu_offset").address); });
  static const char* const exprs[] = {
      "sample",         "*sample_ptr",       "sample.self->self->self->name", "sample.msg", "*sample.msg",
      "sample.grid",    "sample.bf",         "sample.un",                    "flex_obj",   "greeting",
      "buf",            "favourite",         "counters",                     "seq",        "items",
      "*items[1].name", "items[2].link.next->next->prev", "sample_ptr->data[3]", "*null_ptr"};
  for (const char* e : exprs) {
    xentt::fuzz::only_errors([&] {
      xentt::vmi::Value v = xentt::vmi::evaluate(cx, e);
      (void)xentt::vmi::format_value(cx, v);
      (void)xentt::vmi::value_json(cx, v).dump();
    });
  }
  for (const char* head : {"items_head", "loop_head", "broken_head", "empty_head"}) {
    xentt::fuzz::only_errors([&] {
      auto list = xentt::vmi::walk_list(cx, t.variable(head).address, "struct item", "link", 5000);
      xentt::fuzz::require(list.size() <= 5000, "a list walk went past its limit");
    });
  }
  return 0;
}
