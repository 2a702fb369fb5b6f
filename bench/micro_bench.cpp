// Micro-benchmarks of the version and codec hot paths (Google Benchmark).
// Reproduce: cmake --preset release && cmake --build --preset release --target micro_bench
//            && build/release/bench/micro_bench
// Record results in docs/BENCHMARKS.md as ratios or per-op times of one run.
#include <benchmark/benchmark.h>

#include <algorithm>

#include "common/md5.h"
#include "server/api_auth.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"
#include "version/context.h"
#include "version/sibling_set.h"

namespace ringkv {
namespace {

// A set with `siblings` concurrent versions from as many actors, 100-byte values.
SiblingSet make_set(int siblings, int actor_offset = 0) {
  SiblingSet set;
  for (int index = 0; index < siblings; ++index) {
    set.put({}, static_cast<ActorId>(1000 + index + actor_offset),
            Version{std::string(100, 'v'), false, static_cast<uint64_t>(index)});
  }
  return set;
}

void BM_SiblingMergeEqual(benchmark::State& state) {
  const SiblingSet left = make_set(static_cast<int>(state.range(0)));
  const SiblingSet right = left;
  for (auto _ : state)
    benchmark::DoNotOptimize(SiblingSet::merged(left, right));
}
BENCHMARK(BM_SiblingMergeEqual)->Arg(1)->Arg(3)->Arg(10);

void BM_SiblingMergeDisjoint(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const SiblingSet left = make_set(count);
  const SiblingSet right = make_set(count, count);
  for (auto _ : state)
    benchmark::DoNotOptimize(SiblingSet::merged(left, right));
}
BENCHMARK(BM_SiblingMergeDisjoint)->Arg(1)->Arg(3)->Arg(10);

void BM_PutWithReadContext(benchmark::State& state) {
  const SiblingSet base = make_set(static_cast<int>(state.range(0)));
  const VersionVector read = base.context();
  for (auto _ : state) {
    SiblingSet set = base;
    benchmark::DoNotOptimize(set.put(read, 1000, Version{std::string(100, 'n'), false, 1}));
  }
}
BENCHMARK(BM_PutWithReadContext)->Arg(1)->Arg(3)->Arg(10);

VersionVector make_context(int actors) {
  VersionVector context;
  for (int index = 0; index < actors; ++index)
    context.raise(0x9e3779b97f4a7c15ull * (index + 1), 12345);
  return context;
}

void BM_ContextEncode(benchmark::State& state) {
  const VersionVector context = make_context(static_cast<int>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(encode_context(context));
}
BENCHMARK(BM_ContextEncode)->Arg(1)->Arg(3)->Arg(10);

void BM_ContextDecode(benchmark::State& state) {
  const std::string token = encode_context(make_context(static_cast<int>(state.range(0))));
  for (auto _ : state)
    benchmark::DoNotOptimize(decode_context(token));
}
BENCHMARK(BM_ContextDecode)->Arg(1)->Arg(3)->Arg(10);

void BM_RecordEncode(benchmark::State& state) {
  const SiblingSet set = make_set(static_cast<int>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(encode_record(set));
}
BENCHMARK(BM_RecordEncode)->Arg(1)->Arg(3)->Arg(10);

void BM_RecordDecode(benchmark::State& state) {
  const std::string bytes = encode_record(make_set(static_cast<int>(state.range(0))));
  for (auto _ : state)
    benchmark::DoNotOptimize(decode_record(bytes));
}
BENCHMARK(BM_RecordDecode)->Arg(1)->Arg(3)->Arg(10);

void BM_Md5Key(benchmark::State& state) {
  const std::string key = "user:0000012345";
  for (auto _ : state)
    benchmark::DoNotOptimize(md5(key));
}
BENCHMARK(BM_Md5Key);

void BM_DataKey(benchmark::State& state) {
  const std::string key = "user:0000012345";
  for (auto _ : state)
    benchmark::DoNotOptimize(encode_data_key(7, key));
}
BENCHMARK(BM_DataKey);

// The API token check of one request (server/api_auth.h): parse, SHA-256 of
// the secret, lookup among N tokens, constant-time compare. /0: an open
// cluster (no tokens), the common path's cost of having the feature.
void BM_AuthorizeRequest(benchmark::State& state) {
  std::vector<ApiToken> tokens;
  std::string header;
  for (int64_t index = 0; index < state.range(0); ++index) {
    auto issued = issue_token(TokenScope::write, "orders", "");
    tokens.push_back(issued->entry);
    header = "Bearer " + issued->text;
  }
  std::sort(tokens.begin(), tokens.end(),
            [](const ApiToken& a, const ApiToken& b) { return a.id < b.id; });
  const Access access{Access::Kind::write, "orders"};
  for (auto _ : state)
    benchmark::DoNotOptimize(authorize(tokens, std::string_view(header), access));
}
BENCHMARK(BM_AuthorizeRequest)->Arg(0)->Arg(1)->Arg(1000);

}  // namespace
}  // namespace ringkv

BENCHMARK_MAIN();
