// The JSON request bodies of the HTTP API, parsed into plain values: a store's
// config (PUT /v1/stores/{store}), a cluster change (POST
// /v1/cluster/changes) and a token request (POST /v1/tokens). Kept apart from
// HttpApi so that they are pure functions of the body (fuzz/fuzz_api_bodies.cpp).
//
// Each parser returns false with `error` set to a sentence naming the field
// when the body is not what it expects; on success the fields it names are
// set (a store config's others keep their defaults). The parsers check the
// body's shape and ranges only: the handler still validates the result
// (validate(StoreConfig), the node's checks of a change, issue_token()).
//
// Thread safety: pure functions.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "cluster/api_tokens.h"
#include "cluster/effects.h"
#include "common/store_config.h"

namespace ringkv {

// A create-store body: all fields optional, defaults from StoreConfig; a
// blank body is the defaults. Integers are 0..1000000 (validate() has the
// tighter rules).
bool parse_store_config(std::string_view body, StoreConfig& config, std::string& error);
// The config's fields as parse_store_config() reads them (and as the API
// shows a store: n, r, w, quorum, conflicts, durability).
boost::json::object store_config_json(const StoreConfig& config);

// A change body: {"add":[{"id","capacity","zone"}], "remove":[ids],
// "capacity":{id: capacity}}, at least one of the three non-empty;
// capacities are 1..kCapacityMax.
bool parse_change(std::string_view body, ClusterChange& change, std::string& error);

// What POST /v1/tokens asks for.
struct TokenRequest {
  TokenScope scope = TokenScope::admin;
  std::string store;
  std::string name;
};
// {"scope":"admin"|"read"|"write","store":"s","name":"n"}: the scope is
// required, an admin token names no store, a read or write token names one.
bool parse_token_request(std::string_view body, TokenRequest& out, std::string& error);

}  // namespace ringkv
