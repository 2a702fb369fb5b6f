// Client API tokens on real processes: a cluster formed with --auth refuses
// requests without a valid token on every node (a node that joins later
// too), store tokens do what their scope says on their store only, a
// revocation made on one node is obeyed by the others, the last admin token
// cannot be revoked, and all of it survives a restart.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "cluster_fixture.h"

namespace ringkv {
namespace {

using namespace testing;  // ClusterTest, ServeProcess and the helpers

class ApiTokenTest : public ClusterTest {
 protected:
  void SetUp() override {
    node_count_ = 2;
    extra_arguments_ = {"--auth"};  // forms n1's cluster with a token; n2 joins it
    ClusterTest::SetUp();
  }
  // The status of `method target` on `node` with `token` (none when empty).
  int status(ServeProcess& node, const std::string& token, const std::string& method,
             const std::string& target, const std::string& body = {}) {
    auto response = client_for(node, token).send({method, target, {}, body});
    return response.ok() ? response->status : -1;
  }
  // A new token's text, made through `node` with the admin token.
  std::string create(ServeProcess& node, const std::string& body) {
    auto created = client_for(node, token_).create_token(body);
    EXPECT_TRUE(created.ok()) << created.status().message();
    if (!created.ok())
      return {};
    return std::string(boost::json::parse(*created).at("token").as_string());
  }
};

TEST_F(ApiTokenTest, EveryNodeAsksForATokenAndEachScopeIsEnforced) {
  ServeProcess& n1 = *nodes_[0];
  ServeProcess& n2 = *nodes_[1];
  ASSERT_FALSE(token_.empty()) << "--auth wrote no admin.token";
  struct stat info {};
  ASSERT_EQ(::stat(fmt::format("{}/n1/admin.token", directory_).c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(fmt::format("{}/n2/admin.token", directory_)));

  // No token: 401 with a message that says what to send, on both nodes
  // (n2 learned the tokens when it joined). Probes need none.
  for (ServeProcess* node : {&n1, &n2}) {
    auto response = client_for(*node).send({"GET", "/v1/stores", {}, {}});
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->status, 401);
    EXPECT_NE(response->body.find("Authorization: Bearer"), std::string::npos) << response->body;
    EXPECT_TRUE(response->header("WWW-Authenticate").has_value());
    EXPECT_EQ(status(*node, "", "GET", "/healthz"), 200);
    EXPECT_EQ(status(*node, "", "GET", "/metrics"), 200);
    EXPECT_EQ(status(*node, "", "PUT", "/v1/stores/orders/keys/k", "v"), 401);
    EXPECT_EQ(status(*node, "", "POST", "/v1/tokens", R"({"scope":"admin"})"), 401);
  }
  const std::string store_config = R"({"n":2,"r":1,"w":1})";
  EXPECT_EQ(status(n2, token_, "PUT", "/v1/stores/orders", store_config), 201);
  EXPECT_EQ(status(n2, token_, "PUT", "/v1/stores/users", store_config), 201);

  const std::string writer = create(n1, R"({"scope":"write","store":"orders","name":"app"})");
  const std::string reader = create(n2, R"({"scope":"read","store":"orders"})");
  ASSERT_FALSE(writer.empty());
  ASSERT_FALSE(reader.empty());
  // Both nodes know both tokens once the change has spread.
  ASSERT_TRUE(eventually([&] {
    return status(n1, reader, "GET", "/v1/stores/orders/keys/none") == 404 &&
           status(n2, writer, "GET", "/v1/stores/orders/keys/none") == 404;
  }));
  for (ServeProcess* node : {&n1, &n2}) {
    const std::string mine = fmt::format("/v1/stores/orders/keys/via-{}", node->port());
    EXPECT_EQ(status(*node, writer, "PUT", mine, "v"), 204);
    EXPECT_EQ(status(*node, reader, "GET", mine), 200);
    EXPECT_EQ(status(*node, reader, "GET", "/v1/stores/orders"), 200);
    EXPECT_EQ(status(*node, reader, "PUT", "/v1/stores/orders/keys/k", "v"), 403);
    EXPECT_EQ(status(*node, reader, "DELETE", "/v1/stores/orders/keys/k"), 403);
    EXPECT_EQ(status(*node, writer, "PUT", "/v1/stores/users/keys/k", "v"), 403);
    EXPECT_EQ(status(*node, reader, "GET", "/v1/stores/users/keys/k"), 403);
    EXPECT_EQ(status(*node, writer, "PUT", "/v1/stores/more", store_config), 403);
    EXPECT_EQ(status(*node, writer, "POST", "/v1/cluster/changes", R"({"remove":["n2"]})"), 403);
    EXPECT_EQ(status(*node, writer, "GET", "/v1/tokens"), 403);
    EXPECT_EQ(status(*node, writer, "GET", "/v1/cluster"), 200);
  }
  // A wrong secret for a real id is no token at all.
  std::string forged = writer;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(status(n1, forged, "GET", "/v1/stores/orders/keys/k"), 401);

  // Revoked on n2: n1 refuses it too once the change reaches it.
  const std::string writer_id = writer.substr(4, writer.find('_', 4) - 4);
  auto revoked = client_for(n2, token_).revoke_token(writer_id);
  ASSERT_TRUE(revoked.ok()) << revoked.status().message();
  EXPECT_TRUE(eventually(
      [&] { return status(n1, writer, "PUT", "/v1/stores/orders/keys/k", "v") == 401; }));
  EXPECT_EQ(status(n2, writer, "GET", "/v1/stores/orders/keys/k"), 401);

  // The last admin token stays; another one lets it go.
  const std::string admin_id = token_.substr(4, token_.find('_', 4) - 4);
  auto last = client_for(n1, token_).revoke_token(admin_id);
  ASSERT_FALSE(last.ok());
  EXPECT_NE(last.status().message().find("last admin token"), std::string::npos)
      << last.status().message();

  // Everything holds after a restart: the tokens are in the cluster state.
  const std::string written_via_n1 = fmt::format("/v1/stores/orders/keys/via-{}", n1.port());
  ASSERT_EQ(n1.stop(), 0);
  ASSERT_TRUE(n1.start()) << n1.output();
  EXPECT_EQ(status(n1, "", "GET", "/v1/stores"), 401);
  EXPECT_EQ(status(n1, writer, "GET", "/v1/stores/orders/keys/k"), 401);
  EXPECT_EQ(status(n1, reader, "GET", written_via_n1), 200);
  EXPECT_GE(metric(n1, "ringkv_http_auth_refused_total"), 1);
}

TEST_F(ApiTokenTest, TheCommandLineCreatesListsAndRevokesTokens) {
  ServeProcess& n1 = *nodes_[0];
  const std::string server = "--server " + n1.url();
  const std::string admin = fmt::format(" --token-file {}/n1/admin.token", directory_);
  auto [code, output] = run_cli("token list " + server);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("401"), std::string::npos) << output;
  std::tie(code, output) = run_cli("store create orders --n 2 --w 1 --r 1 " + server + admin);
  ASSERT_EQ(code, 0) << output;
  std::tie(code, output) =
      run_cli("token create --scope write --store orders --name ci " + server + admin, false);
  ASSERT_EQ(code, 0) << output;
  const std::string token = output.substr(0, output.find('\n'));
  ASSERT_EQ(token.rfind("rkv_", 0), 0u) << output;
  std::tie(code, output) = run_cli("put orders k v " + server + " --token " + token);
  EXPECT_EQ(code, 0) << output;
  std::tie(code, output) = run_cli("token list " + server + admin);
  ASSERT_EQ(code, 0) << output;
  const std::string id = token.substr(4, token.find('_', 4) - 4);
  EXPECT_NE(output.find(id), std::string::npos) << output;
  EXPECT_NE(output.find("ci"), std::string::npos) << output;
  EXPECT_EQ(output.find(token.substr(token.rfind('_') + 1)), std::string::npos)
      << "a list shows a secret: " << output;
  std::tie(code, output) = run_cli("token create --scope read " + server + admin);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("--store"), std::string::npos) << output;
  std::tie(code, output) = run_cli("token revoke " + id + " " + server + admin);
  EXPECT_EQ(code, 0) << output;
  std::tie(code, output) = run_cli("get orders k " + server + " --token " + token);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("revoked"), std::string::npos) << output;
}

// A new cluster that other machines can reach needs --auth or --insecure.
TEST(ServeStartup, AnExposedNewClusterWithoutTokensIsRefused) {
  const std::string directory = make_temp_directory("exposed");
  const std::string cert = directory + "/cert.pem", key = directory + "/key.pem";
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " +
                         cert + " -days 1 -subj /CN=localhost >/dev/null 2>&1")
                            .c_str()),
            0);
  {
    ServeProcess server({"serve", "--data-dir", directory + "/a", "--listen-http", "0.0.0.0:0",
                         "--listen-peer", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key});
    EXPECT_FALSE(server.start());
    EXPECT_NE(server.output().find("--auth"), std::string::npos) << server.output();
  }
  {
    ServeProcess server({"serve", "--data-dir", directory + "/b", "--listen-http", "0.0.0.0:0",
                         "--listen-peer", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key,
                         "--auth"});
    EXPECT_TRUE(server.start()) << server.output();
    EXPECT_TRUE(std::filesystem::exists(directory + "/b/admin.token"));
  }
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace ringkv
