// Integration tests: a real `ringkv serve` process, real RocksDB, real HTTP
// and HTTPS, driven through the client library and raw sockets.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "client/kv_client.h"
#include "common/base64url.h"
#include "serve_process.h"

namespace ringkv {
namespace {

using testing::make_temp_directory;
using testing::run_cli;
using testing::ServeProcess;

constexpr uint32_t kRequestTimeoutMs = 1000;

std::vector<std::string> serve_arguments(const std::string& data_dir,
                                         std::vector<std::string> extra = {}) {
  std::vector<std::string> arguments{
      "serve",         "--data-dir",           data_dir,
      "--listen-http", "127.0.0.1:0",          "--listen-peer",
      "127.0.0.1:0",   "--request-timeout-ms", std::to_string(kRequestTimeoutMs)};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return arguments;
}

net::HttpClientOptions client_options(const ServeProcess& server) {
  auto options = parse_server_url(server.url());
  EXPECT_TRUE(options.ok());
  return *options;
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = make_temp_directory("api");
    server_ = std::make_unique<ServeProcess>(serve_arguments(data_dir_));
    ASSERT_TRUE(server_->start()) << server_->output();
    client_ = std::make_unique<KvClient>(client_options(*server_));
    // One node: a store it can serve alone (w and r above the node count are refused).
    auto created = client_->create_store("s", StoreConfig{.n = 1, .r = 1, .w = 1});
    ASSERT_TRUE(created.ok()) << created.status().to_string();
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  net::HttpResponse send(std::string method, std::string target, std::string body = {},
                         std::vector<net::HttpHeader> headers = {}) {
    auto response =
        client_->send({std::move(method), std::move(target), std::move(headers), std::move(body)});
    EXPECT_TRUE(response.ok()) << response.status().to_string();
    return response.ok() ? *response : net::HttpResponse{};
  }

  static std::string error_code(const net::HttpResponse& response) {
    boost::system::error_code error;
    const auto parsed = boost::json::parse(response.body, error);
    if (error || !parsed.is_object() || !parsed.as_object().contains("error"))
      return "<no json error>";
    return std::string(parsed.as_object().at("error").as_string());
  }

  std::string data_dir_;
  std::unique_ptr<ServeProcess> server_;
  std::unique_ptr<KvClient> client_;
};

TEST_F(HttpApiTest, StoreCreationIsIdempotentImmutableAndValidated) {
  auto response = send("PUT", "/v1/stores/orders", R"({"n":3,"r":2,"w":2,"quorum":"strict"})");
  EXPECT_EQ(response.status, 201);
  EXPECT_NE(response.body.find("\"quorum\":\"strict\""), std::string::npos);
  EXPECT_NE(response.body.find("guarantees"), std::string::npos);
  EXPECT_EQ(send("PUT", "/v1/stores/orders", R"({"n":3,"r":2,"w":2,"quorum":"strict"})").status,
            200);
  response = send("PUT", "/v1/stores/orders", R"({"n":3,"r":1,"w":1})");
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(error_code(response), "store_config_conflict");
  EXPECT_NE(response.body.find("never changes"), std::string::npos);
  response = send("PUT", "/v1/stores/bad", R"({"n":3,"r":4})");
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("r (read quorum)"), std::string::npos);
  EXPECT_EQ(send("PUT", "/v1/stores/bad", R"({"n":3,"color":"red"})").status, 400);
  EXPECT_EQ(send("PUT", "/v1/stores/bad", "not json").status, 400);
  EXPECT_EQ(send("PUT", "/v1/stores/bad", R"({"quorum":"maybe"})").status, 400);
  EXPECT_EQ(send("PUT", "/v1/stores/.bad", "{}").status, 400);
  EXPECT_EQ(send("GET", "/v1/stores/bad").status, 404);
  response = send("GET", "/v1/stores/orders");
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("\"n\":3"), std::string::npos);
  response = send("GET", "/v1/stores");
  EXPECT_NE(response.body.find("\"orders\""), std::string::npos);
  EXPECT_NE(response.body.find("\"s\""), std::string::npos);
}

TEST_F(HttpApiTest, TwoBlindPutsMakeSiblingsAndAContextPutSupersedesThem) {
  ASSERT_TRUE(client_->put("s", "k", "one").ok());
  ASSERT_TRUE(client_->put("s", "k", "two").ok());
  auto response = send("GET", "/v1/stores/s/keys/k");
  EXPECT_EQ(response.status, 300);
  boost::json::value body = boost::json::parse(response.body);
  const auto& siblings = body.at("siblings").as_array();
  ASSERT_EQ(siblings.size(), 2u);
  std::vector<std::string> values;
  for (const auto& sibling : siblings) {
    values.push_back(*base64_decode(std::string_view(sibling.at("value").as_string())));
  }
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<std::string>{"one", "two"}));
  const std::string context(body.at("context").as_string());
  EXPECT_EQ(response.header("X-Context"), context);

  auto put = client_->put("s", "k", "merged", context);
  ASSERT_TRUE(put.ok()) << put.status().to_string();
  EXPECT_FALSE(put->empty());
  response = send("GET", "/v1/stores/s/keys/k");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "merged");
  EXPECT_TRUE(response.header("X-Context").has_value());
  response = send("GET", "/v1/stores/s/keys/k", {}, {{"Accept", "application/json"}});
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("Content-Type"), "application/json");
  EXPECT_NE(response.body.find(base64_encode("merged")), std::string::npos);
}

TEST_F(HttpApiTest, DeleteWithContextThenNotFoundWithContext) {
  auto put = client_->put("s", "gone", "v");
  ASSERT_TRUE(put.ok());
  auto response = send("DELETE", "/v1/stores/s/keys/gone", {}, {{"X-Context", *put}});
  EXPECT_EQ(response.status, 204);
  EXPECT_TRUE(response.header("X-Context").has_value());
  response = send("GET", "/v1/stores/s/keys/gone");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(error_code(response), "key_not_found");
  EXPECT_TRUE(response.header("X-Context").has_value());
  response = send("GET", "/v1/stores/s/keys/never");
  EXPECT_EQ(response.status, 404);
  EXPECT_FALSE(response.header("X-Context").has_value());
  // A put with the tombstone's context brings the key back cleanly.
  const std::string tombstone_context(*send("GET", "/v1/stores/s/keys/gone").header("X-Context"));
  ASSERT_TRUE(client_->put("s", "gone", "again", tombstone_context).ok());
  EXPECT_EQ(send("GET", "/v1/stores/s/keys/gone").status, 200);
}

TEST_F(HttpApiTest, KeysArePercentDecodedPathSegments) {
  ASSERT_TRUE(client_->put("s", "a/b c%", "slashy").ok());
  auto response = send("GET", "/v1/stores/s/keys/a%2Fb%20c%25");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "slashy");
  EXPECT_EQ(send("GET", "/v1/stores/s/keys/%zz").status, 400);
}

TEST_F(HttpApiTest, EveryClientErrorIsAClearJsonError) {
  auto response = send("PUT", "/v1/stores/s/keys/k", "v", {{"X-Context", "garbage!"}});
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(error_code(response), "invalid_context");
  response = send("PUT", "/v1/stores/missing/keys/k", "v");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(error_code(response), "store_not_found");
  EXPECT_EQ(send("GET", "/v1/stores/missing/keys/k").status, 404);
  response = send("PUT", "/v1/stores/s/keys/" + std::string(1025, 'k'), "v");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(error_code(response), "key_too_large");
  EXPECT_EQ(send("PUT", "/v1/stores/s/keys/" + std::string(1024, 'k'), "v").status, 204);
  response = send("POST", "/v1/stores/s/keys/k", "v");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.header("Allow"), "GET, PUT, DELETE");
  EXPECT_EQ(send("GET", "/v2/nothing").status, 404);
  EXPECT_EQ(send("DELETE", "/v1/stores/s/keys/k", "body").status, 400);
}

TEST_F(HttpApiTest, OversizedValueIs413AndNothingIsWritten) {
  auto response = send("PUT", "/v1/stores/s/keys/big", std::string(1024 * 1024 + 1, 'x'));
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(send("GET", "/v1/stores/s/keys/big").status, 404);
  EXPECT_EQ(send("PUT", "/v1/stores/s/keys/big", std::string(1024 * 1024, 'x')).status, 204);
}

TEST_F(HttpApiTest, OversizedHeadersAre431) {
  auto response = send("GET", "/healthz", {}, {{"X-Padding", std::string(32 * 1024, 'p')}});
  EXPECT_EQ(response.status, 431);
  EXPECT_EQ(error_code(response), "header_too_large");
  // The server is still fine afterwards.
  EXPECT_EQ(send("GET", "/healthz").status, 200);
}

// Connects a raw TCP socket to the server.
int connect_raw(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes; returns the elapsed time, or -1 ms if the bound passed.
std::chrono::milliseconds wait_for_close(int fd, std::chrono::milliseconds bound) {
  const auto start = std::chrono::steady_clock::now();
  char buffer[1024];
  while (std::chrono::steady_clock::now() - start < bound) {
    pollfd descriptor{fd, POLLIN, 0};
    if (::poll(&descriptor, 1, 100) > 0) {
      if (::read(fd, buffer, sizeof buffer) <= 0) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
      }
    }
  }
  return std::chrono::milliseconds(-1);
}

TEST_F(HttpApiTest, SlowClientIsCutOffByTheDeadline) {
  const int fd = connect_raw(server_->port());
  ASSERT_GE(fd, 0);
  const std::string partial = "GET /healthz HTTP/1.1\r\nHost: x\r\n";  // never finished
  ASSERT_EQ(::write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
  const auto elapsed = wait_for_close(fd, std::chrono::milliseconds(kRequestTimeoutMs * 10));
  ::close(fd);
  ASSERT_GE(elapsed.count(), 0) << "the server never closed a stalled connection";
  EXPECT_GE(elapsed.count(), kRequestTimeoutMs * 8 / 10);
  EXPECT_EQ(send("GET", "/healthz").status, 200);
}

TEST_F(HttpApiTest, HealthClusterAndMetrics) {
  EXPECT_EQ(send("GET", "/healthz").status, 200);
  auto response = send("GET", "/v1/cluster");
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("\"members\""), std::string::npos);
  ASSERT_TRUE(client_->put("s", "m", "v").ok());
  response = send("GET", "/metrics");
  EXPECT_EQ(response.status, 200);
  EXPECT_NE(response.body.find("ringkv_puts_acknowledged_total 1"), std::string::npos)
      << response.body;
  EXPECT_NE(response.body.find("ringkv_fsyncs_total"), std::string::npos);
}

TEST_F(HttpApiTest, AcknowledgedWritesSurviveKill9AndStoresSurviveRestart) {
  for (int index = 0; index < 50; ++index) {
    ASSERT_TRUE(
        client_->put("s", fmt::format("durable-{}", index), fmt::format("v{}", index)).ok());
  }
  client_.reset();
  server_->kill9();
  server_ = std::make_unique<ServeProcess>(serve_arguments(data_dir_));
  ASSERT_TRUE(server_->start()) << server_->output();
  EXPECT_NE(server_->output().find("new actor"), std::string::npos);  // unclean stop: new actor
  client_ = std::make_unique<KvClient>(client_options(*server_));
  for (int index = 0; index < 50; ++index) {
    auto got = client_->get("s", fmt::format("durable-{}", index));
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->siblings.size(), 1u);
    EXPECT_EQ(*got->siblings[0], fmt::format("v{}", index));
  }
  client_.reset();
  EXPECT_EQ(server_->stop(), 0);  // clean stop: exit 0 ...
  server_ = std::make_unique<ServeProcess>(serve_arguments(data_dir_));
  ASSERT_TRUE(server_->start()) << server_->output();
  EXPECT_EQ(server_->output().find("new actor"), std::string::npos);  // ... keeps the actor
  client_ = std::make_unique<KvClient>(client_options(*server_));
  EXPECT_EQ(send("GET", "/v1/stores/s").status, 200);
}

TEST_F(HttpApiTest, CommandLineClientPutGetDeleteAndStores) {
  const std::string server = " --server " + server_->url();
  auto [code, output] =
      run_cli("store create cli --n 1 --r 1 --w 1 --durability periodic" + server);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("created"), std::string::npos) << output;
  std::tie(code, output) = run_cli("store create cli --n 1 --r 1 --w 1" + server);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("409"), std::string::npos) << output;
  std::tie(code, output) = run_cli("put cli greeting hello" + server);
  EXPECT_EQ(code, 0) << output;
  std::tie(code, output) = run_cli("put cli greeting hi" + server);
  ASSERT_EQ(code, 0) << output;
  std::tie(code, output) = run_cli("get cli greeting" + server);
  EXPECT_EQ(code, 0) << output;
  EXPECT_NE(output.find("2 concurrent versions"), std::string::npos) << output;
  const size_t at = output.find("context: ");
  ASSERT_NE(at, std::string::npos) << output;
  const std::string context = output.substr(at + 9, output.find('\n', at) - at - 9);
  std::tie(code, output) = run_cli("put cli greeting merged --context " + context + server);
  EXPECT_EQ(code, 0) << output;
  std::tie(code, output) = run_cli("get cli greeting" + server);
  EXPECT_EQ(output.rfind("merged\n", 0), 0u) << output;
  std::tie(code, output) = run_cli(
      "delete cli greeting --context " +
      std::string(*send("GET", "/v1/stores/cli/keys/greeting").header("X-Context")) + server);
  EXPECT_EQ(code, 0) << output;
  std::tie(code, output) = run_cli("get cli greeting" + server);
  EXPECT_EQ(code, 3) << output;
  std::tie(code, output) = run_cli("store show cli" + server);
  EXPECT_NE(output.find("\"durability\":\"periodic\""), std::string::npos) << output;
  std::tie(code, output) = run_cli("put cli k v --context not-a-context" + server);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("invalid_context"), std::string::npos) << output;
  std::tie(code, output) = run_cli("get --help");
  EXPECT_EQ(code, 0);
  EXPECT_NE(output.find("--server"), std::string::npos) << output;
}

TEST(ServeStartup, BadTlsFilesAndConfigFailWithAMessageNamingThem) {
  const std::string directory = make_temp_directory("startup");
  {
    ServeProcess server(
        serve_arguments(directory + "/data", {"--tls-cert", directory + "/missing-cert.pem",
                                              "--tls-key", directory + "/missing-key.pem"}));
    EXPECT_FALSE(server.start());
    EXPECT_NE(server.output().find("missing-cert.pem"), std::string::npos) << server.output();
  }
  {
    std::ofstream(directory + "/bad.toml") << "data_dir = \"x\"\nlisten_htp = \"127.0.0.1:1\"\n";
    ServeProcess server({"serve", "--config", directory + "/bad.toml"});
    EXPECT_FALSE(server.start());
    EXPECT_NE(server.output().find("listen_htp"), std::string::npos) << server.output();
  }
  {
    std::ofstream(directory + "/good.toml")
        << "data_dir = \"" << directory
        << "/from-toml\"\nlisten_http = \"127.0.0.1:0\"\nzone = \"z9\"\n";
    ServeProcess server({"serve", "--config", directory + "/good.toml", "--node-id", "from-flag"});
    ASSERT_TRUE(server.start()) << server.output();
    KvClient client(client_options(server));
    auto cluster = client.cluster();
    ASSERT_TRUE(cluster.ok());
    EXPECT_NE(cluster->find("\"zone\":\"z9\""), std::string::npos);
    EXPECT_NE(cluster->find("\"id\":\"from-flag\""), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(directory + "/from-toml"));
  }
  std::filesystem::remove_all(directory);
}

// HTTPS: the same flow with a certificate generated here.
class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = make_temp_directory("tls");
    cert_ = directory_ + "/cert.pem";
    key_ = directory_ + "/key.pem";
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key_ + " -out " + cert_ +
        " -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost "
        ">/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << "openssl could not make a test certificate";
    server_ = std::make_unique<ServeProcess>(
        serve_arguments(directory_ + "/data", {"--tls-cert", cert_, "--tls-key", key_}));
    ASSERT_TRUE(server_->start()) << server_->output();
    ASSERT_EQ(server_->url().rfind("https://", 0), 0u) << server_->url();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(directory_);
  }
  std::string directory_, cert_, key_;
  std::unique_ptr<ServeProcess> server_;
};

TEST_F(HttpsTest, PutGetSiblingsOverTlsWithAVerifiedCertificate) {
  auto options = client_options(*server_);
  options.ca_file = cert_;
  KvClient client(options);
  ASSERT_TRUE(client.create_store("s", StoreConfig{.n = 1, .r = 1, .w = 1}).ok());
  ASSERT_TRUE(client.put("s", "k", "one").ok());
  ASSERT_TRUE(client.put("s", "k", "two").ok());
  auto got = client.get("s", "k");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->siblings.size(), 2u);
  ASSERT_TRUE(client.put("s", "k", "merged", got->context).ok());
  got = client.get("s", "k");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->siblings.size(), 1u);
  EXPECT_EQ(*got->siblings[0], "merged");
}

TEST_F(HttpsTest, UnverifiedCertificateIsRefusedUnlessInsecure) {
  auto options = client_options(*server_);  // no CA given: the self-signed cert fails
  KvClient strict(options);
  auto refused = strict.list_stores();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--cacert"), std::string::npos)
      << refused.status().message();
  options.insecure = true;
  KvClient insecure(options);
  EXPECT_TRUE(insecure.list_stores().ok());
}

TEST_F(HttpsTest, PlainHttpToTheTlsPortIsRefusedCleanly) {
  auto options = client_options(*server_);
  options.tls = false;
  options.timeout_ms = 5000;
  KvClient plain(options);
  auto result = plain.list_stores();
  EXPECT_FALSE(result.ok());
  // The server is still serving TLS.
  options.tls = true;
  options.insecure = true;
  KvClient secure(options);
  EXPECT_TRUE(secure.list_stores().ok());
  EXPECT_TRUE(server_->running());
}

}  // namespace
}  // namespace ringkv
