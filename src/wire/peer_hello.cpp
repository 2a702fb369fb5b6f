// The peer handshake's bytes; see peer_hello.h.
#include "wire/peer_hello.h"

#include "common/limits.h"

namespace ringkv {
namespace {

constexpr std::string_view kMagic = "RKVP";
constexpr size_t kHeadBytes = 10;  // magic, version, id length
constexpr size_t kIdBytesMax = 255;

HelloParse need(size_t more) {
  HelloParse out;
  out.needed = more;
  return out;
}

HelloParse bad(std::string error) {
  HelloParse out;
  out.outcome = HelloParse::Outcome::bad;
  out.error = std::move(error);
  return out;
}

}  // namespace

std::string encode_hello(const PeerHello& hello) {
  std::string out(kMagic);
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((hello.version >> shift) & 0xff));
  out.push_back(static_cast<char>((hello.node_id.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(hello.node_id.size() & 0xff));
  out += hello.node_id;
  out.push_back(static_cast<char>(hello.cluster_id.size()));
  out += hello.cluster_id;
  out.push_back(static_cast<char>(hello.dialled_id.size()));
  out += hello.dialled_id;
  return out;
}

HelloParse parse_hello(std::string_view bytes) {
  const size_t magic = std::min(bytes.size(), kMagic.size());
  if (bytes.substr(0, magic) != kMagic.substr(0, magic))
    return bad("not a ringkv node (bad handshake)");
  if (bytes.size() < kHeadBytes)
    return need(kHeadBytes - bytes.size());
  auto byte = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at]));
  };
  HelloParse out;
  out.hello.version = (byte(4) << 24) | (byte(5) << 16) | (byte(6) << 8) | byte(7);
  const size_t id_length = (size_t{byte(8)} << 8) | byte(9);
  if (id_length == 0 || id_length > kIdBytesMax)
    return bad("a node id of " + std::to_string(id_length) + " bytes (1 to 255)");
  const size_t cluster_at = kHeadBytes + id_length;  // the cluster id's length byte
  if (bytes.size() <= cluster_at)
    return need(cluster_at + 1 - bytes.size());
  const size_t cluster_length = byte(cluster_at);
  if (cluster_length > kClusterIdBytesMax)
    return bad("a cluster id of " + std::to_string(cluster_length) + " bytes (at most " +
               std::to_string(kClusterIdBytesMax) + ")");
  const size_t dialled_at = cluster_at + 1 + cluster_length;  // the dialled id's length byte
  if (bytes.size() <= dialled_at)
    return need(dialled_at + 1 - bytes.size());
  const size_t dialled_length = byte(dialled_at);
  const size_t end = dialled_at + 1 + dialled_length;
  if (bytes.size() < end)
    return need(end - bytes.size());
  out.outcome = HelloParse::Outcome::hello;
  out.hello.node_id = std::string(bytes.substr(kHeadBytes, id_length));
  out.hello.cluster_id = std::string(bytes.substr(cluster_at + 1, cluster_length));
  out.hello.dialled_id = std::string(bytes.substr(dialled_at + 1, dialled_length));
  out.consumed = end;
  return out;
}

}  // namespace ringkv
