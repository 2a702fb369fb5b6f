#include "storage/store_catalog.h"

#include <fmt/format.h>

#include "common/bytes.h"
#include "common/check.h"

namespace ringkv {
namespace {

constexpr std::string_view kStorePrefix = "store/";
constexpr std::string_view kNextIdKey = "catalog/next_store_id";
constexpr uint8_t kStoreFormat = 1;

std::string encode_store(StoreId id, const StoreConfig& config) {
  std::string out;
  ByteWriter writer(out);
  writer.u8(kStoreFormat);
  writer.u32_be(id);
  writer.varint(config.n);
  writer.varint(config.r);
  writer.varint(config.w);
  writer.u8(static_cast<uint8_t>(config.quorum));
  writer.u8(static_cast<uint8_t>(config.conflicts));
  writer.u8(static_cast<uint8_t>(config.durability));
  return out;
}

bool decode_store(std::string_view bytes, StoreId& id, StoreConfig& config) {
  ByteReader reader(bytes);
  uint8_t format = 0;
  uint64_t n = 0, r = 0, w = 0;
  uint8_t quorum = 0, conflicts = 0, durability = 0;
  if (!reader.u8(format) || format != kStoreFormat || !reader.u32_be(id) || !reader.varint(n) ||
      !reader.varint(r) || !reader.varint(w) || !reader.u8(quorum) || !reader.u8(conflicts) ||
      !reader.u8(durability) || !reader.empty()) {
    return false;
  }
  // Range-check before narrowing, so a corrupt 2^32 + 1 never reads as 1.
  if (n > kReplicationMax || r > kReplicationMax || w > kReplicationMax || quorum > 1 ||
      conflicts > 1 || durability > 1) {
    return false;
  }
  config.n = static_cast<uint32_t>(n);
  config.r = static_cast<uint32_t>(r);
  config.w = static_cast<uint32_t>(w);
  config.quorum = static_cast<QuorumMode>(quorum);
  config.conflicts = static_cast<ConflictMode>(conflicts);
  config.durability = static_cast<Durability>(durability);
  return validate(config).ok();
}

}  // namespace

std::string describe(const StoreConfig& config) {
  return fmt::format("n={} r={} w={} quorum={} conflicts={} durability={}", config.n, config.r,
                     config.w, to_string(config.quorum), to_string(config.conflicts),
                     to_string(config.durability));
}

Result<StoreCatalog> StoreCatalog::load(Engine& engine) {
  StoreCatalog catalog;
  Status failure;
  std::string end(kStorePrefix);
  end.back() = static_cast<char>(end.back() + 1);
  Status scanned = engine.scan(
      Column::meta, kStorePrefix, end, [&](std::string_view key, std::string_view value) {
        auto entry = std::make_unique<StoreEntry>();
        entry->name.assign(key.substr(kStorePrefix.size()));
        if (!decode_store(value, entry->id, entry->config)) {
          failure =
              Status(Code::corruption, "catalog entry for store '" + entry->name + "' is corrupt");
          return false;
        }
        catalog.next_id_ = std::max(catalog.next_id_, entry->id + 1);
        catalog.stores_.emplace(entry->name, std::move(entry));
        return true;
      });
  if (!scanned.ok())
    return scanned;
  if (!failure.ok())
    return failure;
  auto next = engine.get(Column::meta, kNextIdKey);
  if (!next.ok())
    return next.status();
  if (next.value()) {
    ByteReader reader(*next.value());
    StoreId stored = 0;
    if (!reader.u32_be(stored) || !reader.empty()) {
      return Status(Code::corruption, "catalog next store id is corrupt");
    }
    catalog.next_id_ = std::max(catalog.next_id_, stored);
  }
  return catalog;
}

const StoreEntry* StoreCatalog::find(std::string_view name) const {
  const auto found = stores_.find(name);
  return found == stores_.end() ? nullptr : found->second.get();
}

std::vector<const StoreEntry*> StoreCatalog::list() const {
  std::vector<const StoreEntry*> out;
  out.reserve(stores_.size());
  for (const auto& [name, entry] : stores_)
    out.push_back(entry.get());
  return out;
}

Result<StoreCatalog::CreatePlan> StoreCatalog::plan_create(std::string_view name,
                                                           const StoreConfig& config) {
  if (Status status = validate_store_name(name); !status.ok())
    return status;
  if (Status status = validate(config); !status.ok())
    return status;
  CreatePlan plan;
  if (const StoreEntry* existing = find(name)) {
    if (existing->config == config) {
      plan.existing = existing;
      return plan;
    }
    return Status(Code::already_exists,
                  fmt::format("store '{}' exists with {}; a store's configuration never changes: "
                              "create a store with another name for {}",
                              name, describe(existing->config), describe(config)));
  }
  plan.entry = StoreEntry{std::string(name), next_id_++, config};
  plan.batch.push_back({Column::meta, std::string(kStorePrefix) + std::string(name),
                        encode_store(plan.entry.id, config)});
  std::string next;
  ByteWriter(next).u32_be(next_id_);
  plan.batch.push_back({Column::meta, std::string(kNextIdKey), next});
  return plan;
}

WriteBatch StoreCatalog::plan_replace(std::string_view name, const StoreConfig& config) const {
  const StoreEntry* existing = find(name);
  RINGKV_ASSERT(existing != nullptr, "the store to replace exists");
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kStorePrefix) + std::string(name),
                   encode_store(existing->id, config)});
  return batch;
}

void StoreCatalog::apply_replace(std::string_view name, const StoreConfig& config) {
  auto found = stores_.find(name);
  RINGKV_ASSERT(found != stores_.end(), "the store to replace exists");
  found->second->config = config;
}

const StoreEntry* StoreCatalog::apply_create(StoreEntry entry) {
  auto stored = std::make_unique<StoreEntry>(std::move(entry));
  const StoreEntry* pointer = stored.get();
  stores_.insert_or_assign(pointer->name, std::move(stored));
  return pointer;
}

}  // namespace ringkv
