// xentt/base/json_int.h: integers read from JSON files we do not write
// ourselves this run (a state directory's config.json, index.json,
// replay.json). nlohmann's get<T>() converts whatever number it finds: a
// float beyond T's range is undefined behaviour (fuzz_replay_index found
// 3e+93 as a checkpoint), and -1 read as an unsigned count becomes 2^64-1.
// Fields that must be integers are read through here. Header-only: its
// users already parse JSON with nlohmann.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "xentt/base/error.h"
#include "xentt/base/printable.h"

namespace xentt {

// `v` as a T: an integer JSON number (not a float) within T's range.
// Throws BadInput "WHAT: VALUE is not an integer in MIN..MAX".
template <class T>
T json_int(const nlohmann::json& v, const std::string& what) {
  using L = std::numeric_limits<T>;
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(L::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    auto i = v.get<std::int64_t>();
    if (i >= static_cast<std::int64_t>(L::min()) && (i < 0 || static_cast<std::uint64_t>(i) <= L::max()))
      return static_cast<T>(i);
  }
  throw bad_input(what + ": " + excerpt(v.dump()) + " is not an integer in " + std::to_string(L::min()) + ".." +
                  std::to_string(L::max()));
}

// `v` as a list of T: a JSON array of such integers.
template <class T>
std::vector<T> json_ints(const nlohmann::json& v, const std::string& what) {
  if (!v.is_array()) throw bad_input(what + ": " + excerpt(v.dump()) + " is not a list of integers");
  std::vector<T> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(json_int<T>(v[i], what + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace xentt
