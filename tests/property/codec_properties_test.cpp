// Property tests of the codecs: decode(encode(x)) == x for contexts and
// records, and decoders never accept a corrupted encoding silently or crash.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <openssl/evp.h>

#include "common/base64url.h"
#include "common/md5.h"
#include "storage/record_codec.h"
#include "version/context.h"

namespace ringkv {
namespace {

VersionVector arbitrary_context() {
  const auto entries = *rc::gen::container<std::vector<std::pair<uint64_t, uint64_t>>>(
      rc::gen::pair(rc::gen::arbitrary<uint64_t>(), rc::gen::inRange<uint64_t>(1, UINT64_MAX)));
  VersionVector out;
  for (const auto& [actor, counter] : entries) {
    if (out.size() < kActorsPerKeyMax)
      out.raise(actor, std::min(counter, kCounterMax));
  }
  return out;
}

SiblingSet arbitrary_set() {
  const auto writes =
      *rc::gen::container<std::vector<std::tuple<uint8_t, std::string, bool, uint64_t>>>(
          rc::gen::tuple(rc::gen::inRange<uint8_t>(1, 5), rc::gen::arbitrary<std::string>(),
                         rc::gen::arbitrary<bool>(), rc::gen::arbitrary<uint64_t>()));
  SiblingSet set;
  for (const auto& [actor, value, with_context, timestamp] : writes) {
    set.put(with_context ? set.context() : VersionVector(), actor,
            Version{value, false, timestamp});
  }
  return set;
}

// The reference: OpenSSL's MD5 of `input`.
Md5Digest openssl_md5(const std::string& input) {
  Md5Digest digest{};
  unsigned int length = 0;
  RC_ASSERT(EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_md5(), nullptr) ==
            1);
  return digest;
}

// Our MD5 (common/md5.cpp) against OpenSSL's on inputs of every length
// around the block and padding boundaries (55, 56, 63, 64, 119, 120, ...).
RC_GTEST_PROP(Md5, MatchesOpenSsl, ()) {
  const auto size =
      *rc::gen::oneOf(rc::gen::inRange<size_t>(0, 200),
                      rc::gen::element<size_t>(55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000));
  const auto input = *rc::gen::container<std::string>(size, rc::gen::arbitrary<char>());
  RC_ASSERT(md5(input) == openssl_md5(input));
}

// md5() remembers the last short input it hashed on the thread: a sequence
// of inputs with repeats, prefixes of one another and lengths around the
// remembered bound (128) still hashes each one right.
RC_GTEST_PROP(Md5, RemembersNoWrongDigest, ()) {
  const auto base = *rc::gen::container<std::string>(*rc::gen::inRange<size_t>(0, 140),
                                                     rc::gen::arbitrary<char>());
  const auto picks = *rc::gen::container<std::vector<std::pair<size_t, char>>>(
      rc::gen::pair(rc::gen::inRange<size_t>(0, base.size() + 1), rc::gen::arbitrary<char>()));
  for (const auto& [length, last] : picks) {
    std::string input = base.substr(0, length);
    if (!input.empty() && last % 3 == 0)
      input.back() = last;  // same length, one byte different
    RC_ASSERT(md5(input) == openssl_md5(input));
  }
}

// Base64 (padded, RFC 4648 §4) against OpenSSL's EVP_EncodeBlock, and the
// URL alphabet unpadded (§5) as the same text with '-', '_' and no '=';
// both decode back.
RC_GTEST_PROP(Base64, MatchesOpenSslAndRoundTrips, ()) {
  const auto input = *rc::gen::arbitrary<std::string>();
  std::string expected(4 * ((input.size() + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expected.data()),
                                      reinterpret_cast<const unsigned char*>(input.data()),
                                      static_cast<int>(input.size()));
  expected.resize(static_cast<size_t>(written));
  RC_ASSERT(base64_encode(input) == expected);
  std::string url = expected;
  while (!url.empty() && url.back() == '=')
    url.pop_back();
  for (char& character : url)
    character = character == '+' ? '-' : character == '/' ? '_' : character;
  RC_ASSERT(base64url_encode(input) == url);
  RC_ASSERT(base64_decode(expected) == std::optional<std::string>(input));
  RC_ASSERT(base64url_decode(url) == std::optional<std::string>(input));
}

RC_GTEST_PROP(ContextCodec, RoundTrips, ()) {
  const VersionVector context = arbitrary_context();
  const auto decoded = decode_context(encode_context(context));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == context);
}

RC_GTEST_PROP(ContextCodec, RejectsCountersBeyondTheBound, ()) {
  VersionVector context = arbitrary_context();
  context.raise(*rc::gen::arbitrary<uint64_t>(),
                *rc::gen::inRange<uint64_t>(kCounterMax + 1, UINT64_MAX));
  RC_ASSERT(!decode_context(encode_context(context)).ok());
}

RC_GTEST_PROP(ContextCodec, RejectsAnySingleCharacterChange, ()) {
  const std::string token = encode_context(arbitrary_context());
  const size_t at = *rc::gen::inRange<size_t>(0, token.size());
  const char replacement = *rc::gen::element('A', 'Q', 'g', 'w', '0', '-', '_');
  RC_PRE(token[at] != replacement);
  std::string changed = token;
  changed[at] = replacement;
  // Either the base64url is invalid or the check fails (md5, 32 bits).
  RC_ASSERT(!decode_context(changed).ok());
}

RC_GTEST_PROP(ContextCodec, NeverCrashesOnArbitraryInput, (const std::string& text)) {
  const auto decoded = decode_context(text);
  if (decoded.ok())
    RC_ASSERT(encode_context(*decoded) == text);  // only canonical tokens pass
}

// Mutations of valid encodings reach past the first bytes, where random strings
// never get: a decoder accepts a mutated record only if it is canonical.
RC_GTEST_PROP(RecordCodec, MutatedRecordsAreRejectedOrCanonical, ()) {
  std::string bytes = encode_record(arbitrary_set());
  const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
  const int mode = *rc::gen::inRange(0, 3);
  if (mode == 0) {
    bytes.resize(at);  // truncation: always invalid
    RC_ASSERT(!decode_record(bytes).ok());
    return;
  }
  if (mode == 1) {
    bytes[at] = static_cast<char>(bytes[at] ^ (1 << *rc::gen::inRange(0, 8)));
  } else {
    bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), *rc::gen::arbitrary<char>());
  }
  const auto decoded = decode_record(bytes);
  if (decoded.ok())
    RC_ASSERT(encode_record(*decoded) == bytes);
}

RC_GTEST_PROP(RecordCodec, RoundTrips, ()) {
  const SiblingSet set = arbitrary_set();
  const auto decoded = decode_record(encode_record(set));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == set);
}

RC_GTEST_PROP(RecordCodec, NeverCrashesOnArbitraryBytes, (const std::string& bytes)) {
  const auto decoded = decode_record(bytes);
  if (decoded.ok())
    RC_ASSERT(encode_record(*decoded) == bytes);  // only canonical records pass
}

}  // namespace
}  // namespace ringkv
