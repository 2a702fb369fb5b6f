// StoreCatalog: the stores this node knows, persisted in the meta column.
//
//   meta key "store/<name>" -> u8 format (1) | u32 store id (big-endian) |
//                              varint n, r, w | u8 quorum | u8 conflicts | u8 durability
//   meta key "catalog/next_store_id" -> u32 big-endian
//
// A store's configuration never changes once created: create()
// with the same name and config is idempotent, with another config it fails.
// Store ids are local to this node's data layout (data_key.h); names are what
// clients and peers use.
//
// Thread safety: not thread-safe; used on the node's loop thread.
// REQUIRES: one creation of a given name planned at a time (Node serialises them).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/store_config.h"
#include "storage/data_key.h"
#include "storage/engine.h"

namespace ringkv {

struct StoreEntry {
  std::string name;
  StoreId id = 0;
  StoreConfig config;
};

class StoreCatalog {
 public:
  // Reads every store from `engine`. Fails on an unreadable or corrupt entry.
  static Result<StoreCatalog> load(Engine& engine);

  // nullptr when no such store.
  const StoreEntry* find(std::string_view name) const;
  // Sorted by name.
  std::vector<const StoreEntry*> list() const;

  struct Created {
    const StoreEntry* store = nullptr;
    bool created = false;  // false: an identical store already existed
  };

  // Creation in two steps, so that the write can go through the node's commit
  // queue: plan_create() validates and either finds an identical store
  // (`existing`) or reserves a new store id and returns the batch to write
  // durably; apply_create() records the store once that batch is durable.
  // Fails with invalid_argument for a bad name or config, already_exists when
  // the name exists with another config (the message shows both).
  struct CreatePlan {
    const StoreEntry* existing = nullptr;
    StoreEntry entry;
    WriteBatch batch;
  };
  Result<CreatePlan> plan_create(std::string_view name, const StoreConfig& config);
  // REQUIRES: `entry` comes from plan_create() and its batch is durable.
  const StoreEntry* apply_create(StoreEntry entry);

  // A concurrent creation of `name` elsewhere won (wins_over): the store
  // keeps its id and data and takes `config`. The batch to write durably,
  // then apply_replace(); the entry is changed in place (pointers stay).
  // REQUIRES: `name` exists.
  WriteBatch plan_replace(std::string_view name, const StoreConfig& config) const;
  void apply_replace(std::string_view name, const StoreConfig& config);

 private:
  std::map<std::string, std::unique_ptr<StoreEntry>, std::less<>> stores_;
  StoreId next_id_ = 1;
};

std::string describe(const StoreConfig& config);

}  // namespace ringkv
