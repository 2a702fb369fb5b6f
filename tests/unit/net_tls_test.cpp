// Tests of src/net over TLS: round trips with and without verification, large
// bodies, clear failures naming bad certificate, key and CA files, plain HTTP to
// the TLS port, and the connection limit. The certificate is generated per test
// by openssl.
#include "net_test_support.h"

namespace ringkv::net {
namespace {

using namespace test_support;
using namespace std::chrono_literals;

// ---------------------------------------------------------------- TLS

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/ringkv_net_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    certificate_file_ = directory_ + "/cert.pem";
    key_file_ = directory_ + "/key.pem";
    const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + key_file_ +
                                "' -out '" + certificate_file_ +
                                "' -days 1 -subj /CN=localhost >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(directory_); }

  static HttpServerOptions tls_options() {
    HttpServerOptions options;
    options.tls_cert_file = certificate_file_;
    options.tls_key_file = key_file_;
    return options;
  }
  static HttpClientOptions tls_client(const RunningServer& running) {
    HttpClientOptions options = running.client_options();
    options.tls = true;
    options.insecure = true;
    return options;
  }

  static inline std::string directory_;
  static inline std::string certificate_file_;
  static inline std::string key_file_;
};

TEST_F(TlsTest, RoundTripWithoutVerification) {
  RunningServer running(tls_options());
  EXPECT_TRUE(running.server->tls());
  HttpClient client(tls_client(running));
  for (const std::string body : {"one", "two"}) {
    Result<HttpResponse> response = client.send(make_request("POST", "/echo", body));
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, body);
  }
  EXPECT_EQ(running.open_connections(), 1u);
}

// Bodies of many TLS records each way (the server seals a small response into
// one record with its head, a large one separately), alternating with small
// ones on the same connection.
TEST_F(TlsTest, LargeAndSmallBodiesRoundTripOnOneConnection) {
  RunningServer running(tls_options());
  HttpClient client(tls_client(running));
  std::string large(200 * 1024, 'x');
  for (size_t index = 0; index < large.size(); index += 7)
    large[index] = static_cast<char>('a' + index % 26);
  for (const std::string& body : {large, std::string("small"), large}) {
    Result<HttpResponse> response = client.send(make_request("POST", "/echo", body));
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, body);
  }
  EXPECT_EQ(running.open_connections(), 1u);
}

TEST_F(TlsTest, RoundTripVerifyingAgainstTheCaFile) {
  RunningServer running(tls_options());
  HttpClientOptions options = tls_client(running);
  options.host = "localhost";  // the certificate's name
  options.insecure = false;
  options.ca_file = certificate_file_;
  HttpClient client(options);
  Result<HttpResponse> response = client.send(make_request("GET", "/delayed"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->body, "later:");
}

// The certificate and key reload (SIGHUP) for new connections; files that
// do not load change nothing.
TEST_F(TlsTest, ACertificateReloadsForNewConnectionsAndABadOneChangesNothing) {
  const std::string cert = directory_ + "/reload-cert.pem", key = directory_ + "/reload-key.pem";
  const std::string next_cert = directory_ + "/next-cert.pem";
  const std::string next_key = directory_ + "/next-key.pem";
  std::filesystem::copy_file(certificate_file_, cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(key_file_, key, std::filesystem::copy_options::overwrite_existing);
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + next_key +
                              "' -out '" + next_cert +
                              "' -days 1 -subj /CN=localhost >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  HttpServerOptions server_options;
  server_options.tls_cert_file = cert;
  server_options.tls_key_file = key;
  RunningServer running(server_options);
  // A fresh client (a new connection) that trusts only `ca`.
  auto trusted_by = [&](const std::string& ca) {
    HttpClientOptions options = tls_client(running);
    options.host = "localhost";
    options.insecure = false;
    options.ca_file = ca;
    HttpClient client(options);
    return client.send(make_request("GET", "/delayed")).ok();
  };
  EXPECT_TRUE(trusted_by(certificate_file_));
  EXPECT_FALSE(trusted_by(next_cert));
  // A garbage key: the reload fails, and the old pair still serves.
  std::filesystem::copy_file(next_cert, cert, std::filesystem::copy_options::overwrite_existing);
  {
    std::ofstream garbage(key);
    garbage << "not a key";
  }
  const Status refused = running.on_loop([&] { return running.server->reload_tls(); });
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(trusted_by(certificate_file_));
  // The new pair: new connections get the new certificate.
  std::filesystem::copy_file(next_key, key, std::filesystem::copy_options::overwrite_existing);
  const Status reloaded = running.on_loop([&] { return running.server->reload_tls(); });
  ASSERT_TRUE(reloaded.ok()) << reloaded.to_string();
  EXPECT_TRUE(trusted_by(next_cert));
  EXPECT_FALSE(trusted_by(certificate_file_));
}

TEST_F(TlsTest, UnknownCertificateFailsTheHandshakeWithAHint) {
  RunningServer running(tls_options());
  HttpClientOptions options = tls_client(running);
  options.host = "localhost";
  options.insecure = false;  // system CAs only: the self-signed certificate is unknown
  HttpClient client(options);
  Result<HttpResponse> response = client.send(make_request("GET", "/"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::unavailable);
  const std::string& message = response.status().message();
  EXPECT_NE(message.find("TLS handshake with localhost:"), std::string::npos) << message;
  EXPECT_NE(message.find("--cacert"), std::string::npos) << message;
  EXPECT_NE(message.find("--insecure"), std::string::npos) << message;
}

TEST_F(TlsTest, MissingCaFileIsNamedByTheClient) {
  HttpClientOptions options;
  options.tls = true;
  options.ca_file = directory_ + "/missing-ca.pem";
  HttpClient client(options);
  Result<HttpResponse> response = client.send(make_request("GET", "/"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::invalid_argument);
  EXPECT_NE(response.status().message().find("'" + options.ca_file + "'"), std::string::npos)
      << response.status().message();
}

TEST_F(TlsTest, PlainHttpToTheTlsPortIsClosedAndTlsStillWorks) {
  RunningServer running(tls_options());
  {
    RawConnection connection(running.server->port());
    ASSERT_TRUE(connection.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(connection.read_until_closed());
    EXPECT_EQ(connection.received().find("HTTP/1.1"), std::string::npos);
  }
  HttpClient client(tls_client(running));
  Result<HttpResponse> response = client.send(make_request("GET", "/still"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(running.handler.requests_handled.load(), 1);
}

TEST_F(TlsTest, ConnectionsOverTheLimitGet503OverTls) {
  HttpServerOptions options = tls_options();
  options.connections_max = 1;
  RunningServer running(options);
  HttpClient first(tls_client(running));
  ASSERT_TRUE(first.send(make_request("GET", "/a")).ok());
  HttpClient second(tls_client(running));
  Result<HttpResponse> refused = second.send(make_request("GET", "/b"));
  ASSERT_TRUE(refused.ok()) << refused.status().to_string();
  EXPECT_EQ(refused->status, 503);
}

TEST_F(TlsTest, MissingCertificateFileIsNamed) {
  HttpServerOptions options = tls_options();
  options.tls_cert_file = directory_ + "/missing-cert.pem";
  EventLoop loop;
  TestHandler handler(loop);
  Result<std::unique_ptr<HttpServer>> server = HttpServer::start(loop, handler, options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), Code::invalid_argument);
  EXPECT_NE(
      server.status().message().find("cannot load TLS certificate '" + options.tls_cert_file + "'"),
      std::string::npos)
      << server.status().message();
}

TEST_F(TlsTest, MissingOrInvalidKeyFileIsNamed) {
  EventLoop loop;
  TestHandler handler(loop);
  HttpServerOptions options = tls_options();
  options.tls_key_file = directory_ + "/missing-key.pem";
  Result<std::unique_ptr<HttpServer>> server = HttpServer::start(loop, handler, options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("'" + options.tls_key_file + "'"), std::string::npos)
      << server.status().message();

  options.tls_key_file = directory_ + "/garbage-key.pem";
  std::ofstream(options.tls_key_file) << "not a key\n";
  server = HttpServer::start(loop, handler, options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), Code::invalid_argument);
  EXPECT_NE(
      server.status().message().find("cannot load TLS private key '" + options.tls_key_file + "'"),
      std::string::npos)
      << server.status().message();
}

TEST_F(TlsTest, InvalidCertificateFileIsNamed) {
  EventLoop loop;
  TestHandler handler(loop);
  HttpServerOptions options = tls_options();
  options.tls_cert_file = directory_ + "/garbage-cert.pem";
  std::ofstream(options.tls_cert_file) << "not a certificate\n";
  Result<std::unique_ptr<HttpServer>> server = HttpServer::start(loop, handler, options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(
      server.status().message().find("cannot load TLS certificate '" + options.tls_cert_file + "'"),
      std::string::npos)
      << server.status().message();
}

}  // namespace
}  // namespace ringkv::net
