// Unit tests of src/common: byte codecs, base64url, md5, store configs.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/base64url.h"
#include "common/bytes.h"
#include "common/check.h"
#include "common/md5.h"
#include "common/store_config.h"

namespace ringkv {
namespace {

// Invariants stay checked in release builds (this binary is built with
// NDEBUG in the release preset): a violation stops the process loudly.
TEST(CheckDeathTest, AViolatedInvariantStopsTheProcessWithItsMessage) {
  EXPECT_DEATH(RINGKV_ASSERT(1 + 1 == 3, "arithmetic holds"),
               "invariant violated at .*common_test.cpp:[0-9]+: arithmetic holds");
  EXPECT_DEATH(
      {
        Result<int> failed(Status(Code::internal, "no value"));
        (void)failed.value();
      },
      "the value of a failed Result was read");
  RINGKV_ASSERT(1 + 1 == 2, "arithmetic holds");  // a kept invariant costs a branch
}

TEST(Bytes, VarintRoundTripsAtBoundaries) {
  for (uint64_t value : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{16383},
                         uint64_t{16384}, uint64_t{1} << 63, ~uint64_t{0}}) {
    std::string bytes;
    ByteWriter(bytes).varint(value);
    ByteReader reader(bytes);
    uint64_t decoded = 0;
    ASSERT_TRUE(reader.varint(decoded)) << value;
    EXPECT_EQ(decoded, value);
    EXPECT_TRUE(reader.empty());
  }
}

TEST(Bytes, VarintRejectsTruncatedOverlongAndNonCanonical) {
  uint64_t value = 0;
  ByteReader truncated(std::string_view("\x80", 1));
  EXPECT_FALSE(truncated.varint(value));
  const std::string overlong(11, '\xff');
  ByteReader too_long(overlong);
  EXPECT_FALSE(too_long.varint(value));
  ByteReader overflow(std::string_view("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10));
  EXPECT_FALSE(overflow.varint(value));
  ByteReader redundant(std::string_view("\x81\x00", 2));  // 1 with a redundant zero group
  EXPECT_FALSE(redundant.varint(value));
}

TEST(Bytes, LengthPrefixedRejectsLengthBeyondInput) {
  std::string bytes;
  ByteWriter(bytes).varint(1000);
  bytes += "short";
  ByteReader reader(bytes);
  std::string_view out;
  EXPECT_FALSE(reader.length_prefixed(out));
}

TEST(Base64Url, KnownVectorsAndRoundTrip) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  std::string all;
  for (int byte = 0; byte < 256; ++byte)
    all.push_back(static_cast<char>(byte));
  EXPECT_EQ(base64url_decode(base64url_encode(all)), all);
}

TEST(Base64Url, RejectsPaddingBadCharactersImpossibleLengthsAndStrayBits) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("Zm9v+"));
  EXPECT_FALSE(base64url_decode("Zm9v/"));
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zh"));  // 'h' leaves non-zero unused bits
  EXPECT_TRUE(base64url_decode("Zg"));
}

TEST(Base64, StandardWithPadding) {
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_FALSE(base64_decode("Zm8"));
  EXPECT_FALSE(base64_decode("Zm=="));  // wrong padding for the length
}

TEST(Md5, MatchesRfc1321Vectors) {
  auto hex = [](const Md5Digest& digest) {
    std::string out;
    for (uint8_t byte : digest)
      out += fmt::format("{:02x}", byte);
    return out;
  };
  EXPECT_EQ(hex(md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex(md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5_high64(md5("abc")), 0x900150983cd24fb0ull);
  // The rest of RFC 1321's test suite (appendix A.5), including inputs of
  // more than one block.
  EXPECT_EQ(hex(md5("a")), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(hex(md5("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(hex(md5("abcdefghijklmnopqrstuvwxyz")), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(hex(md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(hex(md5("1234567890123456789012345678901234567890123456789012345678901234567890"
                    "1234567890")),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(StoreConfig, ValidatesRanges) {
  EXPECT_TRUE(validate(StoreConfig{}).ok());
  EXPECT_EQ(validate(StoreConfig{.n = 0}).code(), Code::invalid_argument);
  EXPECT_EQ(validate(StoreConfig{.n = 17, .r = 1, .w = 1}).code(), Code::invalid_argument);
  const Status bad_r = validate(StoreConfig{.n = 3, .r = 4, .w = 2});
  EXPECT_EQ(bad_r.code(), Code::invalid_argument);
  EXPECT_NE(bad_r.message().find("r (read quorum)"), std::string::npos);
  EXPECT_FALSE(validate(StoreConfig{.n = 3, .r = 2, .w = 0}).ok());
  EXPECT_TRUE(validate(StoreConfig{.n = 1, .r = 1, .w = 1}).ok());
}

TEST(StoreConfig, ValidatesNames) {
  EXPECT_TRUE(validate_store_name("orders-2026.v1_x").ok());
  EXPECT_FALSE(validate_store_name("").ok());
  EXPECT_FALSE(validate_store_name(".hidden").ok());
  EXPECT_FALSE(validate_store_name("a/b").ok());
  EXPECT_FALSE(validate_store_name(std::string(65, 'a')).ok());
  EXPECT_TRUE(validate_store_name(std::string(64, 'a')).ok());
}

TEST(StoreConfig, GuaranteesNameTheOverlapRule) {
  auto overlapping = guarantees(StoreConfig{.n = 3, .r = 2, .w = 2, .quorum = QuorumMode::strict});
  ASSERT_FALSE(overlapping.empty());
  EXPECT_NE(overlapping[0].find("r + w > n"), std::string::npos);
  auto loose = guarantees(StoreConfig{.n = 3, .r = 1, .w = 1});
  EXPECT_NE(loose[0].find("r + w <= n"), std::string::npos);
}

}  // namespace
}  // namespace ringkv
