// The folded-stack format of Brendan Gregg's FlameGraph (stackcollapse
// output, flamegraph.pl input): one line per distinct stack, frames from
// the root separated by ';', a space, the weight.
#include <fmt/format.h>

#include "writers.h"

namespace xentt::exports {
namespace {

class Weigher : public CallStacks::Events {
 public:
  Weigher(const Trace& t, Weight w) : icounts_(!t.icounts.empty()), w_(w) {}
  std::vector<std::uint64_t> weight;
  void run(const Step& s, std::uint32_t node) override {
    std::uint64_t n = 0;
    switch (w_) {
      case Weight::Instructions: n = s.run_ok || icounts_ ? s.run_insns : 1; break;
      case Weight::Bytes: n = s.run_ok ? s.run_end - s.run_start : 0; break;
      case Weight::Branches: n = 1; break;
    }
    if (node >= weight.size()) weight.resize(node + 1);
    weight[node] += n;
  }

 private:
  bool icounts_;
  Weight w_;
};

}  // namespace

void write_folded(Context& c) {
  Walker w(c.trace, c.code, c.report);
  FunctionNames names(c.symbols);
  CallStacks stacks(names);
  Weigher weigher(c.trace, c.options.weight);
  stacks.run(w, c.trace.records.size(), weigher);
  Buffer b(c.out);
  std::vector<std::uint32_t> path;
  const auto& nodes = stacks.nodes();
  for (std::size_t n = 0; n < weigher.weight.size(); ++n) {
    if (!weigher.weight[n]) continue;
    path.clear();
    for (std::uint32_t k = std::uint32_t(n); k != 0; k = nodes[k].parent) path.push_back(nodes[k].func);
    b.buf += "[trace]";
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      b.buf += ';';
      b.buf += names.name(*it);
    }
    fmt::format_to(std::back_inserter(b.buf), " {}\n", weigher.weight[n]);
    b.maybe_flush();
  }
  b.flush();
}

}  // namespace xentt::exports
