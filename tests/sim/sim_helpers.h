// Helpers shared by the targeted simulation tests.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "sim/sim_cluster.h"

namespace ringkv::sim {

// Creates store `name` through n1 and runs the cluster until it answered.
inline void create(SimCluster& cluster, const std::string& name, const StoreConfig& config) {
  std::optional<Status> created;
  cluster.create_store("n1", name, config,
                       [&created](const CreateStoreDone& done) { created = done.status; });
  cluster.run_until(cluster.now() + 3000);
  ASSERT_TRUE(created.has_value() && created->ok());
}

}  // namespace ringkv::sim
