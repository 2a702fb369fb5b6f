// Client API tokens: the entries the cluster state holds (cluster/api_tokens.h)
// and the HTTP edge's checks (server/api_auth.h).
#include <gtest/gtest.h>

#include "cluster/api_tokens.h"
#include "cluster/cluster_state.h"
#include "server/api_auth.h"

namespace ringkv {
namespace {

ApiToken issued_entry(const IssuedToken& issued, uint64_t version) {
  ApiToken entry = issued.entry;
  entry.version = version;
  return entry;
}

std::string bearer(const IssuedToken& issued) {
  return "Bearer " + issued.text;
}

TEST(ApiTokens, AnIssuedTokenHoldsOnlyTheHashOfItsSecret) {
  auto issued = issue_token(TokenScope::write, "orders", "checkout");
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  const auto presented = parse_token(issued->text);
  ASSERT_TRUE(presented.has_value());
  EXPECT_EQ(presented->id, issued->entry.id);
  EXPECT_EQ(issued->entry.secret_hash, secret_hash(presented->secret));
  EXPECT_EQ(issued->text.find(issued->entry.secret_hash), std::string::npos);
  EXPECT_EQ(issued->entry.secret_hash.find(presented->secret), std::string::npos);
  EXPECT_TRUE(validate_token(issued->entry).ok());
  // Two tokens never share an id or a secret.
  auto other = issue_token(TokenScope::write, "orders", "checkout");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->entry.id, issued->entry.id);
  EXPECT_NE(other->entry.secret_hash, issued->entry.secret_hash);
  // A store token needs a valid store; an admin token names none.
  EXPECT_FALSE(issue_token(TokenScope::read, "", "").ok());
  EXPECT_FALSE(issue_token(TokenScope::read, "no spaces", "").ok());
  EXPECT_TRUE(issue_token(TokenScope::admin, "", "ops")->entry.store.empty());
}

TEST(ApiTokens, TextThatIsNotATokenIsRejected) {
  auto issued = issue_token(TokenScope::admin, "", "");
  ASSERT_TRUE(issued.ok());
  const std::string good = issued->text;
  EXPECT_TRUE(parse_token(good).has_value());
  for (const std::string& bad :
       {std::string(), std::string("rkv_"), good.substr(4), "xkv_" + good.substr(4),
        good.substr(0, good.size() - 1), good + "A", "rkv__" + good.substr(good.rfind('_') + 1),
        "rkv_ABCD_" + good.substr(good.rfind('_') + 1), good.substr(0, good.size() - 1) + "!"}) {
    EXPECT_FALSE(parse_token(bad).has_value()) << bad;
  }
}

TEST(ApiTokens, AnOpenClusterAllowsEverythingAndAGuardedOneOnlyValidTokens) {
  auto admin = issue_token(TokenScope::admin, "", "ops");
  ASSERT_TRUE(admin.ok());
  const Access write_orders{Access::Kind::write, "orders"};
  EXPECT_EQ(authorize({}, std::nullopt, write_orders).status, 0);
  const std::vector<ApiToken> tokens{issued_entry(*admin, 1)};
  EXPECT_EQ(authorize(tokens, std::nullopt, {Access::Kind::open, {}}).status, 0);
  EXPECT_EQ(authorize(tokens, std::nullopt, write_orders).status, 401);
  EXPECT_EQ(authorize(tokens, bearer(*admin), write_orders).status, 0);
  EXPECT_EQ(authorize(tokens, "bearer " + admin->text, write_orders).status, 0);
  EXPECT_EQ(authorize(tokens, "Basic dXNlcjpwYXNz", write_orders).status, 401);
  // The right id with another secret, and an unknown id.
  auto stranger = issue_token(TokenScope::admin, "", "");
  ASSERT_TRUE(stranger.ok());
  const std::string forged =
      "Bearer rkv_" + admin->entry.id + stranger->text.substr(stranger->text.rfind('_'));
  EXPECT_EQ(authorize(tokens, forged, write_orders).status, 401);
  const AuthDecision unknown = authorize(tokens, bearer(*stranger), write_orders);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_NE(unknown.message.find(stranger->entry.id), std::string::npos) << unknown.message;
  // Revoked: refused, however valid it was.
  ApiToken revoked = issued_entry(*admin, 2);
  revoked.revoked = true;
  revoked.secret_hash.clear();
  EXPECT_EQ(authorize({revoked}, bearer(*admin), write_orders).status, 401);
}

TEST(ApiTokens, AStoreTokenMayDoWhatItsScopeSaysOnItsStoreOnly) {
  auto reader = issue_token(TokenScope::read, "orders", "");
  auto writer = issue_token(TokenScope::write, "orders", "");
  ASSERT_TRUE(reader.ok() && writer.ok());
  std::vector<ApiToken> tokens{issued_entry(*reader, 1), issued_entry(*writer, 1)};
  std::sort(tokens.begin(), tokens.end(),
            [](const ApiToken& a, const ApiToken& b) { return a.id < b.id; });
  using Kind = Access::Kind;
  struct Case {
    const IssuedToken* token;
    Access access;
    int status;
  };
  for (const Case& c : std::vector<Case>{
           {&*reader, {Kind::read, "orders"}, 0},
           {&*reader, {Kind::write, "orders"}, 403},
           {&*reader, {Kind::read, "users"}, 403},
           {&*reader, {Kind::any, {}}, 0},
           {&*reader, {Kind::admin, {}}, 403},
           {&*writer, {Kind::read, "orders"}, 0},
           {&*writer, {Kind::write, "orders"}, 0},
           {&*writer, {Kind::write, "users"}, 403},
           {&*writer, {Kind::admin, {}}, 403},
       }) {
    const AuthDecision decision = authorize(tokens, bearer(*c.token), c.access);
    EXPECT_EQ(decision.status, c.status)
        << to_string(c.token->entry.scope) << " " << c.access.store << ": " << decision.message;
    if (decision.status == 403) {
      EXPECT_NE(decision.message.find(c.token->entry.id), std::string::npos);
    }
  }
}

TEST(ApiTokens, ARevocationWinsTheMergeAndAnInvalidEntryDoesNotDecode) {
  ApiToken live{"a1", std::string(64, 'b'), TokenScope::write, "orders", "ci", false, 5};
  ApiToken revoked = live;
  revoked.revoked = true;
  revoked.secret_hash.clear();
  revoked.version = 6;
  ApiToken other{"b2", std::string(64, 'c'), TokenScope::admin, "", "", false, 1};
  const std::vector<ApiToken> left{live, other}, right{revoked};
  const std::vector<ApiToken> merged = merge_tokens(left, right);
  EXPECT_EQ(merged, merge_tokens(right, left));
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_TRUE(merged[0].revoked);
  EXPECT_EQ(merge_tokens(merged, left), merged);  // an old copy does not revive it
  auto decoded = decode_token_list(encode_token_list(merged));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, merged);
  // Refused on decode: a hash that is not one, a revoked token with a hash,
  // an admin token for a store, unsorted or repeated ids.
  ApiToken bad_hash = live;
  bad_hash.secret_hash = std::string(64, 'G');
  ApiToken revoked_with_hash = live;
  revoked_with_hash.revoked = true;
  ApiToken admin_for_store = other;
  admin_for_store.store = "orders";
  for (const std::vector<ApiToken>& bad : std::vector<std::vector<ApiToken>>{
           {bad_hash}, {revoked_with_hash}, {admin_for_store}, {other, live}, {live, live}}) {
    EXPECT_FALSE(decode_token_list(encode_token_list(bad)).ok());
  }
}

}  // namespace
}  // namespace ringkv
