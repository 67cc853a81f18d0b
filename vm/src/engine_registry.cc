#include <map>
#include <mutex>

#include "xentt/base/error.h"
#include "xentt/vm/engine.h"

namespace xentt {

namespace {
// Function-local, so registrars in other libraries' static initializers
// find it constructed whatever the load order.
struct Registry {
  std::mutex mu;
  std::map<std::string, EngineFactory> factories;
};
Registry& registry() {
  static Registry r;
  return r;
}
}  // namespace

std::unique_ptr<Target> Engine::open_live(const std::string& name) const {
  throw bad_input("engine " + this->name() + " has no live VMs to open ('" + name +
                  "'): it looks at recordings; engine xen opens live domains");
}

void register_engine(const std::string& name, EngineFactory factory) {
  std::lock_guard lock(registry().mu);
  registry().factories[name] = factory;
}

std::vector<std::string> engine_names() {
  std::lock_guard lock(registry().mu);
  std::vector<std::string> out;
  for (const auto& [name, f] : registry().factories) out.push_back(name);
  return out;
}

std::unique_ptr<Engine> make_engine(const std::string& name) {
  EngineFactory f = nullptr;
  {
    std::lock_guard lock(registry().mu);
    if (auto it = registry().factories.find(name); it != registry().factories.end()) f = it->second;
  }
  if (f) return f();
  std::string known;
  for (const auto& n : engine_names()) known += (known.empty() ? "" : ", ") + n;
  throw bad_input("engine '" + name + "' is not part of this xentt (engines here: " +
                  (known.empty() ? "none" : known) + ")");
}

}  // namespace xentt
