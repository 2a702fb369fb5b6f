// RINGKV_ASSERT's failure path; see check.h.
#include "common/check.h"

#include <cstdio>
#include <cstdlib>

namespace ringkv {

void invariant_failed(const char* condition, const char* message, const char* file, int line) {
  std::fprintf(stderr, "ringkv: invariant violated at %s:%d: %s (%s); stopping\n", file, line,
               message, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace ringkv
