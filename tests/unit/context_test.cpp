// Unit tests of the client context token codec.
#include <gtest/gtest.h>
#include <xxhash.h>

#include "common/base64url.h"
#include "common/bytes.h"
#include "version/context.h"

namespace ringkv {
namespace {

VersionVector sample() {
  VersionVector clock;
  clock.raise(0x0123456789abcdefull, 7);
  clock.raise(42, 100000);
  return clock;
}

TEST(Context, RoundTripsAndIsUrlSafe) {
  const std::string token = encode_context(sample());
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos);
  auto decoded = decode_context(token);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, sample());
  auto empty = decode_context(encode_context(VersionVector()));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Context, CompactForTypicalClocks) {
  // Three replicas' counters fit in well under 64 characters.
  VersionVector clock;
  for (ActorId actor : {~0ull, ~1ull, ~2ull})
    clock.raise(actor, 1000);
  EXPECT_LT(encode_context(clock).size(), 64u);
}

TEST(Context, RejectsEveryKindOfMalformedToken) {
  const std::string token = encode_context(sample());
  EXPECT_FALSE(decode_context("").ok());
  EXPECT_FALSE(decode_context("not a token!").ok());
  EXPECT_FALSE(decode_context(token.substr(0, token.size() - 2)).ok());
  EXPECT_FALSE(decode_context(token + "AA").ok());
  std::string flipped = token;
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(decode_context(flipped).ok());
  EXPECT_FALSE(decode_context(std::string(10000, 'A')).ok());
  const Status status = decode_context("!!").status();
  EXPECT_EQ(status.code(), Code::invalid_argument);
  EXPECT_NE(status.message().find("X-Context"), std::string::npos);
}

// Wraps `payload` with a correct check, as a forger who knows the format would.
std::string with_check(std::string payload) {
  const uint64_t check = XXH3_64bits(payload.data(), payload.size());
  for (int index = 0; index < 4; ++index)
    payload.push_back(static_cast<char>(check >> (8 * index)));
  return base64url_encode(payload);
}

TEST(Context, RejectsWellCheckedButInvalidStructure) {
  auto entries = [](std::initializer_list<std::pair<uint64_t, uint64_t>> list, uint8_t format = 1) {
    std::string payload;
    ByteWriter writer(payload);
    writer.u8(format);
    writer.varint(list.size());
    for (auto [actor, counter] : list) {
      writer.u64_be(actor);
      writer.varint(counter);
    }
    return payload;
  };
  EXPECT_TRUE(decode_context(with_check(entries({{1, 1}, {2, 1}}))).ok());
  EXPECT_FALSE(decode_context(with_check(entries({{2, 1}, {1, 1}}))).ok());  // unsorted
  EXPECT_FALSE(decode_context(with_check(entries({{1, 1}, {1, 2}}))).ok());  // duplicate
  EXPECT_FALSE(decode_context(with_check(entries({{1, 0}}))).ok());          // zero counter
  EXPECT_FALSE(decode_context(with_check(entries({{1, 1}}, 2))).ok());       // unknown format
  std::string too_many;
  ByteWriter writer(too_many);
  writer.u8(1);
  writer.varint(kActorsPerKeyMax + 1);
  for (uint64_t actor = 1; actor <= kActorsPerKeyMax + 1; ++actor) {
    writer.u64_be(actor);
    writer.varint(1);
  }
  EXPECT_FALSE(decode_context(with_check(too_many)).ok());
  EXPECT_FALSE(decode_context(with_check(entries({{1, kCounterMax + 1}}))).ok());
  EXPECT_TRUE(decode_context(with_check(entries({{1, kCounterMax}}))).ok());
  std::string lying_count = entries({{1, 1}});
  lying_count[1] = 100;  // claims 100 entries
  EXPECT_FALSE(decode_context(with_check(lying_count)).ok());
}

}  // namespace
}  // namespace ringkv
