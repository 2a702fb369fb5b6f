// Fuzzes the structure decoder of the context token behind its check: the
// input is the payload, wrapped here with a correct check (as a client that
// knows the format would forge it), so mutations reach the entry parser
// instead of dying at the check. Invariant: no crash; accepted payloads
// re-encode identically and respect the counter and entry bounds.
#include <xxhash.h>

#include <cstdlib>
#include <string>

#include "common/base64url.h"
#include "version/context.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string payload(reinterpret_cast<const char*>(data), size);
  const uint64_t check = XXH3_64bits(payload.data(), payload.size());
  for (int index = 0; index < 4; ++index)
    payload.push_back(static_cast<char>(check >> (8 * index)));
  const std::string token = ringkv::base64url_encode(payload);
  const auto decoded = ringkv::decode_context(token);
  if (!decoded.ok())
    return 0;
  if (ringkv::encode_context(*decoded) != token)
    std::abort();
  if (decoded->size() > ringkv::kActorsPerKeyMax)
    std::abort();
  for (const auto& entry : decoded->entries()) {
    if (entry.counter == 0 || entry.counter > ringkv::kCounterMax)
      std::abort();
  }
  return 0;
}
