// RINGKV_ASSERT: an invariant that stays checked in release builds.
//
// `assert` is compiled out with NDEBUG, so a broken invariant in a release
// node went on with corrupt state. RINGKV_ASSERT(condition, message) checks
// `condition` always; when it is false it writes the condition, the message
// and where to stderr and aborts, so the node stops loudly (and its stop is
// unclean: it takes a new actor at the next start). Use it for cheap checks
// at state-machine boundaries; anything costly belongs in a test.
#pragma once

namespace ringkv {

[[noreturn]] void invariant_failed(const char* condition, const char* message, const char* file,
                                   int line);

}  // namespace ringkv

#define RINGKV_ASSERT(condition, message)                                    \
  do {                                                                       \
    if (!(condition)) [[unlikely]]                                           \
      ::ringkv::invariant_failed(#condition, (message), __FILE__, __LINE__); \
  } while (false)
