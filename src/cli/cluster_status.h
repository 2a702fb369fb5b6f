// `ringkv cluster status`: how one node sees the cluster (GET /v1/cluster),
// as a table: each member's state by that node's failure detector, its phi,
// heartbeat, and the hints that node holds for it.
//
// format_cluster_status is pure (JSON text in, table out) so it is tested
// without a process. Thread safety: none needed.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace ringkv {

// The table for the JSON of GET /v1/cluster; fails on JSON that is not that.
Result<std::string> format_cluster_status(std::string_view cluster_json);

}  // namespace ringkv
