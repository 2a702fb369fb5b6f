// The client API's request paths; see http_path.h.
#include "server/http_path.h"

#include <utility>

#include "net/http_types.h"

namespace ringkv {

PathSegments path_segments(std::string_view target) {
  PathSegments path;
  const size_t query = target.find('?');
  if (query != std::string_view::npos)
    target = target.substr(0, query);
  if (target.empty() || target[0] != '/')
    return path;
  size_t start = 1;
  while (path.count <= kPathDepthMax) {
    const size_t slash = target.find('/', start);
    const size_t end = slash == std::string_view::npos ? target.size() : slash;
    if (path.count < kPathDepthMax)
      path.segment[path.count] = target.substr(start, end - start);
    ++path.count;
    if (slash == std::string_view::npos)
      break;
    start = slash + 1;
  }
  return path;
}

std::optional<std::string_view> decode_segment(std::string_view segment, std::string& storage) {
  if (segment.find('%') == std::string_view::npos)
    return segment;
  std::optional<std::string> decoded = net::percent_decode(segment);
  if (!decoded)
    return std::nullopt;
  storage = std::move(*decoded);
  return std::string_view(storage);
}

}  // namespace ringkv
