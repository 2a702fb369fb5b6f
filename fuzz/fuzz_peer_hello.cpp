// Fuzzes parse_hello(), the peer handshake the transport reads before
// anything else (plain or inside TLS). Invariants: no crash; a hello parsed
// has a 1..255-byte node id and a cluster id within its limit, and encodes
// back to exactly the bytes it was parsed from; need_more asks for at least
// one byte and a prefix of the input never parses differently than the
// whole (the transport reads a hello in pieces).
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/limits.h"
#include "wire/peer_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const ringkv::HelloParse parsed = ringkv::parse_hello(bytes);
  using Outcome = ringkv::HelloParse::Outcome;
  if (parsed.outcome == Outcome::need_more && parsed.needed == 0)
    std::abort();
  if (parsed.outcome == Outcome::bad && parsed.error.empty())
    std::abort();
  if (parsed.outcome == Outcome::hello) {
    if (parsed.hello.node_id.empty() || parsed.hello.node_id.size() > 255 ||
        parsed.hello.cluster_id.size() > ringkv::kClusterIdBytesMax ||
        parsed.consumed > bytes.size() ||
        ringkv::encode_hello(parsed.hello) != bytes.substr(0, parsed.consumed))
      std::abort();
  }
  // Read in two pieces, as the transport does: the first piece's verdict
  // must not contradict the whole's.
  const size_t cut = size / 2;
  const ringkv::HelloParse prefix = ringkv::parse_hello(bytes.substr(0, cut));
  if (prefix.outcome == Outcome::hello && parsed.outcome != Outcome::hello)
    std::abort();
  if (prefix.outcome == Outcome::bad && parsed.outcome != Outcome::bad)
    std::abort();
  return 0;
}
