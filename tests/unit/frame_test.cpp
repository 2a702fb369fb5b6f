// The peer protocol's framing (wire/frame.h), which the transport and the
// simulator share: round trips, partial input, the length limit.
#include <gtest/gtest.h>

#include <string>

#include "common/limits.h"
#include "wire/frame.h"
#include "wire/peer_hello.h"

namespace ringkv {
namespace {

TEST(FrameTest, AFrameRoundTripsAndSaysHowMuchItUsed) {
  const std::string stream = frame_payload("hello") + frame_payload("") + std::string(2, '\0');
  FrameParse first = parse_frame(stream, 100);
  ASSERT_EQ(first.outcome, FrameParse::Outcome::frame);
  EXPECT_EQ(first.payload, "hello");
  EXPECT_EQ(first.consumed, 9u);
  FrameParse second = parse_frame(std::string_view(stream).substr(first.consumed), 100);
  ASSERT_EQ(second.outcome, FrameParse::Outcome::frame);
  EXPECT_EQ(second.payload, "");
  EXPECT_EQ(second.consumed, 4u);
  // Two bytes of a header: two more are needed.
  FrameParse rest =
      parse_frame(std::string_view(stream).substr(first.consumed + second.consumed), 100);
  EXPECT_EQ(rest.outcome, FrameParse::Outcome::need_more);
  EXPECT_EQ(rest.needed, 2u);
}

TEST(FrameTest, AnIncompletePayloadAsksForTheRest) {
  const std::string frame = frame_payload(std::string(300, 'x'));
  FrameParse parsed = parse_frame(std::string_view(frame).substr(0, 104), 1000);
  EXPECT_EQ(parsed.outcome, FrameParse::Outcome::need_more);
  EXPECT_EQ(parsed.needed, 200u);
  EXPECT_EQ(parsed.length, 300u);
}

TEST(FrameTest, ALengthOverTheLimitIsRefusedBeforeItsPayloadArrives) {
  // Only the header: the length alone decides.
  const std::string header = frame_payload(std::string(65, 'x')).substr(0, kFrameHeaderBytes);
  FrameParse parsed = parse_frame(header, 64);
  EXPECT_EQ(parsed.outcome, FrameParse::Outcome::too_large);
  EXPECT_EQ(parsed.length, 65u);
  EXPECT_EQ(parse_frame("\xff\xff\xff\xff", 64).outcome, FrameParse::Outcome::too_large);
  EXPECT_EQ(parse_frame(frame_payload(std::string(64, 'x')), 64).outcome,
            FrameParse::Outcome::frame);
}

// The handshake: what it encodes parses back, a piece at a time as the
// transport reads it; bad magic and lengths out of bounds are refused
// before their bytes are waited for.
TEST(PeerHelloTest, RoundTripsPieceByPieceAndRefusesBadHeads) {
  const PeerHello hello{3, "n1", "5d0c0ffee", "n2"};
  const std::string bytes = encode_hello(hello);
  std::string read;
  HelloParse parsed = parse_hello(read);
  int steps = 0;
  while (parsed.outcome == HelloParse::Outcome::need_more) {
    ASSERT_GT(parsed.needed, 0u);
    read += bytes.substr(read.size(), parsed.needed);
    parsed = parse_hello(read);
    ++steps;
  }
  ASSERT_EQ(parsed.outcome, HelloParse::Outcome::hello) << parsed.error;
  EXPECT_EQ(parsed.hello, hello);
  EXPECT_EQ(parsed.consumed, bytes.size());
  EXPECT_EQ(steps, 4) << "head, id and cluster length, cluster id and dialled length, dialled id";
  EXPECT_EQ(parse_hello("GET / HTTP/1.1").outcome, HelloParse::Outcome::bad);
  EXPECT_EQ(parse_hello(std::string("RKVP\0\0\0\2\0\0", 10)).outcome,
            HelloParse::Outcome::bad);  // no id
  std::string long_cluster = encode_hello({3, "n1", "", ""});
  long_cluster.pop_back();  // (the dialled id's length)
  long_cluster.back() = static_cast<char>(kClusterIdBytesMax + 1);
  const HelloParse refused = parse_hello(long_cluster);
  EXPECT_EQ(refused.outcome, HelloParse::Outcome::bad);
  EXPECT_NE(refused.error.find("cluster id of 65 bytes"), std::string::npos) << refused.error;
}

}  // namespace
}  // namespace ringkv
