// The peer protocol's framing (wire/frame.h), which the transport and the
// simulator share: round trips, partial input, the length limit.
#include <gtest/gtest.h>

#include <string>

#include "wire/frame.h"

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

}  // namespace
}  // namespace ringkv
