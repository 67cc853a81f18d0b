#include "xentt/vmi/linux_dmesg.h"

#include <fmt/format.h>

#include "xentt/base/error.h"

namespace xentt::vmi {

namespace {

std::size_t offset_of(const EvalContext& cx, const sym::Type* t, const std::string& path) {
  std::size_t off = 0;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = path.find('.', start);
    sym::Member m = cx.types.member(t, path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    off += m.offset;
    t = m.type;
    if (dot == std::string::npos) return off;
    start = dot + 1;
  }
}

std::vector<std::byte> copy(const EvalContext& cx, const std::string& what, std::uint64_t addr, std::uint64_t len) {
  std::vector<std::byte> v(len);
  read_for(cx, what, addr, v);
  return v;
}

}  // namespace

std::vector<PrintkRecord> kernel_log(const EvalContext& cx) {
  if (!cx.types.find_variable("prb"))
    throw bad_input(fmt::format("{} has no printk ring buffer 'prb': not a Linux kernel of 5.10 or later",
                                cx.types.path()));
  PrintkRingLayout l;
  const sym::Type* desc = &cx.types.type("struct prb_desc");
  const sym::Type* info = &cx.types.type("struct printk_info");
  l.desc_size = size_of(cx, desc);
  l.desc_state_var = offset_of(cx, desc, "state_var");
  l.desc_begin = offset_of(cx, desc, "text_blk_lpos.begin");
  l.desc_next = offset_of(cx, desc, "text_blk_lpos.next");
  l.info_size = size_of(cx, info);
  l.info_seq = offset_of(cx, info, "seq");
  l.info_ts_nsec = offset_of(cx, info, "ts_nsec");
  l.info_text_len = offset_of(cx, info, "text_len");

  std::uint64_t prb = evaluate_scalar(cx, "prb");
  if (prb == 0) throw bad_input("prb is NULL: the kernel's log is not set up yet");
  auto field = [&](const char* f) {
    return evaluate_scalar(cx, fmt::format("((struct printk_ringbuffer *){:#x})->{}", prb, f));
  };
  PrintkRingImage ring;
  ring.count_bits = static_cast<unsigned>(field("desc_ring.count_bits"));
  ring.size_bits = static_cast<unsigned>(field("text_data_ring.size_bits"));
  ring.head_id = field("desc_ring.head_id.counter");
  ring.tail_id = field("desc_ring.tail_id.counter");
  printk_ring_bytes(l, ring.count_bits, ring.size_bits);  // checks the sizes before any copy
  std::uint64_t count = 1ull << ring.count_bits;
  auto descs = copy(cx, "prb->desc_ring.descs", field("desc_ring.descs"), count * l.desc_size);
  auto infos = copy(cx, "prb->desc_ring.infos", field("desc_ring.infos"), count * l.info_size);
  auto data = copy(cx, "prb->text_data_ring.data", field("text_data_ring.data"), 1ull << ring.size_bits);
  ring.descs = descs;
  ring.infos = infos;
  ring.data = data;
  return parse_printk_ring(l, ring);
}

}  // namespace xentt::vmi
