#include "server/node.h"

#include <fmt/format.h>

#include "cluster/write_rules.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

Status unknown_store(std::string_view store) {
  return {Code::not_found, "no store named '" + std::string(store) +
                               "'; create it first with PUT /v1/stores/" + std::string(store)};
}

}  // namespace

Result<std::unique_ptr<Node>> Node::open(Engine& engine, CommitQueue& commit_queue, Clock now_ms,
                                         const std::function<uint64_t()>& random_actor) {
  auto identity = open_identity(engine, random_actor);
  if (!identity.ok())
    return identity.status();
  auto catalog = StoreCatalog::load(engine);
  if (!catalog.ok())
    return catalog.status();
  return std::unique_ptr<Node>(
      new Node(engine, commit_queue, std::move(now_ms), *identity, std::move(catalog).value()));
}

Node::Node(Engine& engine, CommitQueue& commit_queue, Clock now_ms, NodeIdentity identity,
           StoreCatalog catalog)
    : engine_(engine),
      commit_queue_(commit_queue),
      now_ms_(std::move(now_ms)),
      identity_(identity),
      catalog_(std::move(catalog)) {}

void Node::create_store(std::string_view name, const StoreConfig& config, CreateDone done) {
  if (Status fence = write_fence(); !fence.ok()) {
    done(fence);
    return;
  }
  const std::string key(name);
  if (auto creating = creating_stores_.find(key); creating != creating_stores_.end()) {
    creating->second.push_back([this, key, config, done = std::move(done)]() mutable {
      create_store(key, config, std::move(done));
    });
    return;
  }
  auto plan = catalog_.plan_create(name, config);
  if (!plan.ok()) {
    done(plan.status());
    return;
  }
  if (plan->existing != nullptr) {
    done(StoreCatalog::Created{plan->existing, false});
    return;
  }
  creating_stores_[key];
  commit_queue_.submit(
      std::move(plan->batch), /*durable=*/true,
      [this, key, entry = std::move(plan->entry), done = std::move(done)](Status status) mutable {
        auto waiting = std::move(creating_stores_[key]);
        creating_stores_.erase(key);
        if (status.ok()) {
          done(StoreCatalog::Created{catalog_.apply_create(std::move(entry)), true});
        } else {
          done(
              Status(Code::unavailable, "store not created (storage failed): " + status.message()));
        }
        for (auto& retry : waiting)
          retry();
      });
}

Result<const StoreEntry*> Node::find_store(std::string_view name) const {
  const StoreEntry* entry = catalog_.find(name);
  if (entry == nullptr)
    return unknown_store(name);
  return entry;
}

Result<SiblingSet> Node::get(std::string_view store, std::string_view key) {
  auto entry = find_store(store);
  if (!entry.ok())
    return entry.status();
  return get(**entry, key);
}

Result<SiblingSet> Node::get(const StoreEntry& store, std::string_view key) {
  ++stats_.gets;
  encode_data_key(store.id, key, read_key_);
  auto bytes = engine_.get(Column::data, read_key_);
  if (!bytes.ok())
    return bytes.status();
  if (!bytes.value())
    return SiblingSet();
  return decode_record(*bytes.value());
}

void Node::put(std::string_view store, std::string key, VersionVector seen, Version version,
               PutDone done) {
  const StoreEntry* entry = catalog_.find(store);
  if (entry == nullptr) {
    ++stats_.puts_failed;
    done(unknown_store(store));
    return;
  }
  if (Status fence = write_fence(); !fence.ok()) {
    ++stats_.puts_failed;
    done(fence);
    return;
  }
  version.timestamp_ms = now_ms_();
  std::string data_key = encode_data_key(entry->id, key);
  auto [busy, inserted] = busy_keys_.try_emplace(data_key);
  if (!inserted) {
    // Another write to this key is in flight: run after it (invariant 1).
    ++stats_.keys_waiting;
    busy->second.push_back([this, entry, data_key, seen = std::move(seen),
                            version = std::move(version), done = std::move(done)]() mutable {
      write_key(*entry, std::move(data_key), std::move(seen), std::move(version), std::move(done));
    });
    return;
  }
  write_key(*entry, std::move(data_key), std::move(seen), std::move(version), std::move(done));
}

void Node::write_key(const StoreEntry& store, std::string data_key, VersionVector seen,
                     Version version, PutDone done) {
  auto stored = engine_.get(Column::data, data_key);
  Result<SiblingSet> set = stored.ok() ? (stored.value() ? decode_record(*stored.value())
                                                         : Result<SiblingSet>(SiblingSet()))
                                       : Result<SiblingSet>(stored.status());
  if (!set.ok()) {
    // Never overwrite a record we could not read: that would lose its versions.
    ++stats_.puts_failed;
    release_key(data_key);
    done(set.status());
    return;
  }
  auto applied =
      apply_client_put(*set, store.config, std::move(seen), identity_.actor, std::move(version));
  if (!applied.ok()) {
    ++stats_.puts_failed;
    release_key(data_key);
    done(applied.status());
    return;
  }
  VersionVector reply = std::move(applied->context);
  std::string record = std::move(applied->record);
  WriteBatch batch;
  batch.push_back({Column::data, data_key, std::move(record)});
  const bool durable = store.config.durability == Durability::sync;
  commit_queue_.submit(
      std::move(batch), durable,
      [this, data_key, reply = std::move(reply), done = std::move(done)](Status status) mutable {
        if (status.ok()) {
          ++stats_.puts_acknowledged;
          done(std::move(reply));
        } else {
          ++stats_.puts_failed;
          done(Status(Code::unavailable,
                      "write not acknowledged (it may or may not be stored): " + status.message()));
        }
        release_key(data_key);
      });
}

void Node::release_key(const std::string& data_key) {
  auto busy = busy_keys_.find(data_key);
  if (busy == busy_keys_.end())
    return;
  if (busy->second.empty()) {
    busy_keys_.erase(busy);
    return;
  }
  auto next = std::move(busy->second.front());
  busy->second.pop_front();
  next();
}

void Node::sync_periodic() {
  commit_queue_.request_sync([](Status) {
    // A failure fences the queue; nothing else to do here.
  });
}

}  // namespace ringkv
