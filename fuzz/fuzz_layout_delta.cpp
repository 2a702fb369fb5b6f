// Fuzzes decode_layout_delta() and apply_layout_delta(). Invariants: no
// crash, no allocation beyond what the input's length justifies; an accepted
// delta applied to a fixed base either is refused or gives a valid layout,
// and the delta encode_layout_delta writes from the base to that layout
// decodes and applies to exactly it.
#include <cstdlib>
#include <string_view>

#include "ring/layout.h"
#include "ring/layout_delta.h"

namespace {

const ringkv::Layout& base() {
  static const ringkv::Layout layout = [] {
    std::vector<ringkv::RingNode> nodes{
        {"a", 1, "z1"}, {"c", 2, "z2"}, {"e", 1, "z3"}, {"g", 4, "z1"}};
    std::vector<uint32_t> lists;
    for (uint32_t partition = 0; partition < 16; ++partition) {
      for (uint32_t column = 0; column < 3; ++column)
        lists.push_back((partition + column) % 4);
    }
    return *ringkv::Layout::create(4, 7, std::move(nodes), 3, std::move(lists));
  }();
  return layout;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto delta = ringkv::decode_layout_delta(bytes);
  if (!delta.ok())
    return 0;
  const auto applied = ringkv::apply_layout_delta(base(), *delta);
  if (!applied.ok())
    return 0;
  const auto again = ringkv::encode_layout_delta(base(), *applied);
  if (!again)
    std::abort();  // same bits and width: a delta always exists
  const auto redecoded = ringkv::decode_layout_delta(*again);
  if (!redecoded.ok())
    std::abort();
  const auto reapplied = ringkv::apply_layout_delta(base(), *redecoded);
  if (!reapplied.ok() || !(*reapplied == *applied))
    std::abort();
  return 0;
}
