// The path of a client API request target, split and decoded as the router
// (server/http_api.cpp) does: parsed in place into percent-encoded segments,
// then each segment it uses percent-decoded. Apart from HttpApi so that they
// are pure functions of the target (fuzz/fuzz_http_request.cpp).
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ringkv {

// The path of a request target ("/a/b/c?query") as percent-encoded segments,
// parsed in place: the API's deepest path has kPathDepthMax segments, so only
// that many are kept, and `count` says kPathDepthMax + 1 for any deeper path.
// A target not starting with '/' has no segments; "/" has one, empty.
inline constexpr size_t kPathDepthMax = 5;
struct PathSegments {
  std::array<std::string_view, kPathDepthMax> segment;
  size_t count = 0;
};
PathSegments path_segments(std::string_view target);

// Percent-decodes a path segment; most have no escapes, and those are returned
// as they are, without a copy. Otherwise decodes into `storage`.
// std::nullopt on a malformed escape.
std::optional<std::string_view> decode_segment(std::string_view segment, std::string& storage);

}  // namespace ringkv
