// Unit tests of the Engine contract, run against both engines, plus the
// memory engine's crash model and RocksDB persistence across reopen.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>

#include "storage/memory_engine.h"
#include "storage/rocksdb_engine.h"

namespace ringkv {
namespace {

std::string temp_directory(const std::string& name) {
  auto path = std::filesystem::temp_directory_path() /
              ("ringkv-test-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(path);
  return path.string();
}

struct EngineFactory {
  std::string name;
  std::function<std::unique_ptr<Engine>()> make;
};

class EngineContract : public ::testing::TestWithParam<EngineFactory> {
 protected:
  void SetUp() override { engine_ = GetParam().make(); }
  std::unique_ptr<Engine> engine_;
};

std::optional<std::string> read(Engine& engine, Column column, std::string_view key) {
  auto result = engine.get(column, key);
  EXPECT_TRUE(result.ok()) << result.status().to_string();
  return result.ok() ? *result : std::nullopt;
}

TEST_P(EngineContract, WriteGetEraseAndColumnsAreSeparate) {
  ASSERT_TRUE(engine_->write({{Column::data, "k", "v1"}, {Column::meta, "k", "m"}}, true).ok());
  EXPECT_EQ(read(*engine_, Column::data, "k"), "v1");
  EXPECT_EQ(read(*engine_, Column::meta, "k"), "m");
  ASSERT_TRUE(engine_->write({{Column::data, "k", "", true}}, false).ok());
  EXPECT_EQ(read(*engine_, Column::data, "k"), std::nullopt);
  EXPECT_EQ(read(*engine_, Column::meta, "k"), "m");
  EXPECT_EQ(read(*engine_, Column::data, "absent"), std::nullopt);
  EXPECT_TRUE(engine_->sync().ok());
}

TEST_P(EngineContract, ScanVisitsHalfOpenRangeInOrderAndStopsEarly) {
  WriteBatch batch;
  for (const char* key : {"a", "b1", "b2", "b3", "c"})
    batch.push_back({Column::data, key, key});
  ASSERT_TRUE(engine_->write(batch, true).ok());
  std::vector<std::string> seen;
  auto collect = [&](std::string_view key, std::string_view value) {
    EXPECT_EQ(key, value);
    seen.emplace_back(key);
    return true;
  };
  ASSERT_TRUE(engine_->scan(Column::data, "b", "c", collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"b1", "b2", "b3"}));
  seen.clear();
  ASSERT_TRUE(engine_->scan(Column::data, "b2", "", collect).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"b2", "b3", "c"}));
  int visits = 0;
  ASSERT_TRUE(engine_->scan(Column::data, "", "", [&](auto, auto) { return ++visits < 2; }).ok());
  EXPECT_EQ(visits, 2);
}

TEST_P(EngineContract, BinaryKeysAndValues) {
  const std::string key("\0\xff\x01", 3);
  const std::string value("\0\0\xfe", 3);
  ASSERT_TRUE(engine_->write({{Column::data, key, value}}, true).ok());
  EXPECT_EQ(read(*engine_, Column::data, key), value);
}

INSTANTIATE_TEST_SUITE_P(
    Engines, EngineContract,
    ::testing::Values(EngineFactory{"memory", [] { return std::make_unique<MemoryEngine>(); }},
                      EngineFactory{"rocksdb",
                                    [] {
                                      auto opened = RocksDbEngine::open(temp_directory("contract"));
                                      EXPECT_TRUE(opened.ok()) << opened.status().to_string();
                                      return std::unique_ptr<Engine>(std::move(opened).value());
                                    }}),
    [](const auto& info) { return info.param.name; });

TEST(MemoryEngine, CrashKeepsOnlySyncedWrites) {
  MemoryEngine engine;
  ASSERT_TRUE(engine.write({{Column::data, "synced", "1"}}, true).ok());
  ASSERT_TRUE(engine.write({{Column::data, "later-synced", "2"}}, false).ok());
  ASSERT_TRUE(engine.sync().ok());
  ASSERT_TRUE(engine.write({{Column::data, "lost", "3"}}, false).ok());
  EXPECT_EQ(read(engine, Column::data, "lost"), "3");  // visible before the crash
  EXPECT_EQ(engine.unsynced_batch_count(), 1u);
  engine.crash();
  EXPECT_EQ(read(engine, Column::data, "synced"), "1");
  EXPECT_EQ(read(engine, Column::data, "later-synced"), "2");
  EXPECT_EQ(read(engine, Column::data, "lost"), std::nullopt);
}

TEST(MemoryEngine, FailedSyncMakesNothingDurable) {
  MemoryEngine engine;
  engine.set_fail_syncs(true);
  EXPECT_EQ(engine.write({{Column::data, "k", "v"}}, true).code(), Code::io_error);
  EXPECT_EQ(engine.sync().code(), Code::io_error);
  engine.crash();
  EXPECT_EQ(read(engine, Column::data, "k"), std::nullopt);
  engine.set_fail_syncs(false);
  engine.set_fail_writes(true);
  EXPECT_EQ(engine.write({{Column::data, "k", "v"}}, false).code(), Code::io_error);
  EXPECT_EQ(read(engine, Column::data, "k"), std::nullopt);
}

TEST(RocksDbEngine, DataSurvivesReopen) {
  const std::string directory = temp_directory("reopen");
  {
    auto engine = RocksDbEngine::open(directory);
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    ASSERT_TRUE((*engine)->write({{Column::data, "k", "v"}, {Column::meta, "m", "x"}}, true).ok());
  }
  auto engine = RocksDbEngine::open(directory);
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ(read(**engine, Column::data, "k"), "v");
  EXPECT_EQ(read(**engine, Column::meta, "m"), "x");
  std::filesystem::remove_all(directory);
}

TEST(RocksDbEngine, OpenFailureNamesTheDirectory) {
  auto engine = RocksDbEngine::open("/proc/ringkv-cannot-exist/db");
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("/proc/ringkv-cannot-exist/db"), std::string::npos);
}

}  // namespace
}  // namespace ringkv
