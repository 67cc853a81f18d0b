// inline_prog.cc: a C++ program built with -O2 -g whose only job is to give
// the symbolizer tests real inlining (nested inline frames, templates,
// namespaces, lambdas) and GCC clones (.isra, .constprop, .part, .cold).
// It is never run for its output; the tests symbolize its code addresses
// and compare with addr2line and llvm-symbolizer.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace shapes {

struct Point {
  int x, y;
};

inline int square(int v) { return v * v; }
inline int dist2(const Point& a, const Point& b) { return square(a.x - b.x) + square(a.y - b.y); }

template <typename T>
T clamp_add(T a, T b, T lo, T hi) {
  T s = a + b;
  if (s < lo) return lo;
  if (s > hi) return hi;
  return s;
}

class Walker {
 public:
  explicit Walker(int seed) : state_(static_cast<unsigned>(seed)) {}
  inline unsigned next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }
  Point step(Point p) {
    unsigned r = next();
    p.x = clamp_add<int>(p.x, static_cast<int>(r % 3) - 1, -100, 100);
    p.y = clamp_add<int>(p.y, static_cast<int>((r >> 2) % 3) - 1, -100, 100);
    return p;
  }

 private:
  unsigned state_;
};

}  // namespace shapes

// A cold error path: GCC splits it into foo.cold.
__attribute__((noinline)) static void fail(const char* what, int code) {
  std::fprintf(stderr, "inline_prog: %s (%d)\n", what, code);
  std::exit(code);
}

// A function with a constant argument at every call site: .constprop clone.
__attribute__((noinline)) static long weigh(const std::vector<int>& v, int scale) {
  long s = 0;
  for (int x : v) {
    if (__builtin_expect(x < -1000000, 0)) fail("weight out of range", x);
    s += static_cast<long>(x) * scale;
  }
  return s;
}

// A struct passed by reference whose fields only are used: .isra clone.
struct Stats {
  long sum;
  long count;
  char pad[64];
};
__attribute__((noinline)) static double mean(const Stats& st) { return st.count ? double(st.sum) / double(st.count) : 0.0; }

static inline int score(const shapes::Point& p) {
  shapes::Point origin{0, 0};
  return shapes::dist2(p, origin);
}

__attribute__((noinline)) int walk(int seed, int steps) {
  shapes::Walker w(seed);
  shapes::Point p{0, 0};
  int best = 0;
  for (int i = 0; i < steps; ++i) {
    p = w.step(p);
    int s = score(p);
    if (s > best) best = s;
  }
  return best;
}

__attribute__((noinline)) std::map<std::string, int> count_words(const char* text) {
  std::map<std::string, int> m;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) ++m[cur];
    cur.clear();
  };
  for (const char* c = text; *c; ++c) {
    if (*c == ' ')
      flush();
    else
      cur += *c;
  }
  flush();
  return m;
}

int main(int argc, char** argv) {
  int seed = argc > 1 ? std::atoi(argv[1]) : 42;
  std::vector<int> v;
  for (int i = 0; i < 100; ++i) v.push_back((i * seed) % 17);
  Stats st{};
  st.sum = weigh(v, 3) + weigh(v, 3);
  st.count = static_cast<long>(v.size());
  auto words = count_words(argc > 2 ? argv[2] : "a b a c b a");
  std::printf("%d %.2f %zu\n", walk(seed, 1000), mean(st), words.size());
  return 0;
}
