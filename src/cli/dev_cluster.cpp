// `ringkv dev`; see dev_cluster.h.
#include "cli/dev_cluster.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/cluster_admin.h"
#include "cli/token_command.h"
#include "client/kv_client.h"
#include "net/peer_certs.h"

namespace ringkv {
namespace {

struct Child {
  std::string id;
  std::string log;
  pid_t pid = -1;
  std::string http_url;      // from its "ringkv ready on" line
  std::string peer_address;  // from its "peers reach this node at" line
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The rest of the line after `marker` in `text`, or "".
std::string after(const std::string& text, std::string_view marker) {
  const size_t at = text.find(marker);
  if (at == std::string::npos)
    return {};
  const size_t begin = at + marker.size();
  const size_t end = text.find('\n', begin);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

std::string tail(const std::string& text, size_t lines) {
  size_t at = text.size();
  for (size_t count = 0; count <= lines && at > 0; ++count) {
    at = text.rfind('\n', at - 1);
    if (at == std::string::npos) {
      at = 0;
      break;
    }
  }
  return text.substr(at);
}

pid_t spawn(const std::string& binary, const std::vector<std::string>& arguments,
            const std::string& log) {
  const pid_t pid = fork();
  if (pid != 0)
    return pid;
  // The child: its own log, no terminal input, and the default signal
  // dispositions (the parent blocks SIGINT/SIGTERM to wait for them).
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  setpgid(0, 0);  // Ctrl-C reaches the parent only; it stops the children in order
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  std::vector<char*> argv;
  std::string program = binary;
  argv.push_back(program.data());
  std::vector<std::string> copies = arguments;
  for (std::string& argument : copies)
    argv.push_back(argument.data());
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  std::fprintf(stderr, "cannot run %s\n", binary.c_str());
  _exit(127);
}

// Waits until the child's log says it is ready; false (with the reason
// printed) if it exits or 60 s pass.
bool wait_ready(Child& child) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < give_up) {
    const std::string log = read_file(child.log);
    child.http_url = after(log, "ringkv ready on ");
    child.peer_address = after(log, "peers reach this node at ");
    if (!child.http_url.empty() && !child.peer_address.empty())
      return true;
    int status = 0;
    if (waitpid(child.pid, &status, WNOHANG) == child.pid) {
      child.pid = -1;
      std::fprintf(stderr, "%s exited before it was ready; the end of %s:\n%s\n", child.id.c_str(),
                   child.log.c_str(), tail(log, 8).c_str());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "%s was not ready after 60 s; see %s\n", child.id.c_str(),
               child.log.c_str());
  return false;
}

// SIGTERM to every child, then waits; true when all exited 0.
bool stop_all(std::vector<Child>& children) {
  for (const Child& child : children) {
    if (child.pid > 0)
      kill(child.pid, SIGTERM);
  }
  bool clean = true;
  for (Child& child : children) {
    if (child.pid <= 0)
      continue;
    int status = 0;
    waitpid(child.pid, &status, 0);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok)
      std::fprintf(stderr, "%s did not stop cleanly; see %s\n", child.id.c_str(),
                   child.log.c_str());
    clean = clean && ok;
    child.pid = -1;
  }
  return clean;
}

// The endpoints, and the exact lines that use them.
void print_usage(const DevOptions& options, const std::vector<Child>& children,
                 const StoreConfig& store, const std::string& certs, bool own_https,
                 const std::string& token_file, const std::string& binary) {
  const std::string& first = children.front().http_url;
  const std::string& last = children.back().http_url;
  // curl's and the CLI's options for this cluster's TLS and token.
  std::string curl = "curl";
  std::string cli_tls;
  if (own_https) {
    curl += " --cacert " + certs + "/ca.crt";
    cli_tls = " --cacert " + certs + "/ca.crt";
  } else if (!options.tls_cert_file.empty()) {
    curl += " -k";
    cli_tls = " -k";
  }
  if (!options.open)
    curl += " -H \"Authorization: Bearer $RINGKV_TOKEN\"";
  std::printf("\nringkv dev cluster: %zu node%s\n", children.size(),
              children.size() == 1 ? "" : "s");
  for (const Child& child : children) {
    std::printf("  %-7s %-26s peers %-21s log %s\n", child.id.c_str(), child.http_url.c_str(),
                child.peer_address.c_str(), child.log.c_str());
  }
  std::printf("store 'default': n=%u r=%u w=%u (every node answers for every key)\n", store.n,
              store.r, store.w);
  std::printf("peers speak mutual TLS (cluster CA and node certificates in %s)\n", certs.c_str());
  if (options.open) {
    std::printf("clients: plain HTTP, no API tokens (--open)\n");
  } else {
    std::printf("clients: HTTPS%s; API tokens required, the admin token is in %s\n",
                own_https ? (" (certificate signed by " + certs + "/ca.crt)").c_str() : "",
                token_file.c_str());
  }
  std::printf("\nTry:\n");
  if (!options.open)
    std::printf("  export RINGKV_TOKEN=$(cat %s)\n", token_file.c_str());
  std::printf(
      "  %s -X PUT --data-binary 'hello' %s/v1/stores/default/keys/greeting -i\n"
      "  %s %s/v1/stores/default/keys/greeting -i\n"
      "  %s get default greeting --server %s%s\n"
      "  %s %s/v1/cluster\n\n"
      "Ctrl-C stops every node (data stays in %s; run this again to restart the cluster).\n"
      "ringkv ready on %s\n",
      curl.c_str(), first.c_str(), curl.c_str(), last.c_str(), binary.c_str(), last.c_str(),
      cli_tls.c_str(), curl.c_str(), first.c_str(), options.data_dir.c_str(), first.c_str());
  std::fflush(stdout);
}

uint16_t port_of(uint16_t first, uint32_t index) {
  return first == 0 ? 0 : static_cast<uint16_t>(first + index);
}

}  // namespace

int run_dev_cluster(const DevOptions& options, const std::string& binary) {
  if (options.nodes < 1 || options.nodes > 64) {
    std::fprintf(stderr, "error: --nodes must be from 1 to 64, got %u\n", options.nodes);
    return 1;
  }
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    std::fprintf(stderr, "error: cannot create '%s': %s\n", options.data_dir.c_str(),
                 error.message().c_str());
    return 1;
  }
  // Signals wait until every node is up, then stop them all in order.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

  // Peers speak mutual TLS: a cluster CA and a certificate per node, made
  // once in DIR/certs and reused by later runs.
  const std::string certs = options.data_dir + "/certs";
  if (!std::filesystem::exists(certs + "/ca.crt")) {
    auto ca = net::create_cluster_ca(certs);
    if (!ca.ok()) {
      std::fprintf(stderr, "error: %s\n", ca.status().message().c_str());
      return 1;
    }
  }
  // The peer certificates, and the HTTPS certificate (the same CA signs it,
  // so clients verify it with ca.crt).
  std::vector<std::string> certified;
  for (uint32_t index = 0; index < options.nodes; ++index)
    certified.push_back(fmt::format("node{}", index + 1));
  if (!options.open && options.tls_cert_file.empty())
    certified.push_back("https");
  for (const std::string& id : certified) {
    if (std::filesystem::exists(fmt::format("{}/{}.crt", certs, id)))
      continue;
    auto issued = net::issue_node_certificate(
        certs, id,
        id == "https" ? std::vector<std::string>{"127.0.0.1", "localhost"}
                      : std::vector<std::string>{"127.0.0.1"});
    if (!issued.ok()) {
      std::fprintf(stderr, "error: %s\n", issued.status().message().c_str());
      return 1;
    }
  }
  const bool own_https = !options.open && options.tls_cert_file.empty();
  const std::string https_cert = own_https ? certs + "/https.crt" : options.tls_cert_file;
  const std::string https_key = own_https ? certs + "/https.key" : options.tls_key_file;
  const std::string token_file = options.data_dir + "/node1/admin.token";
  if (!options.open && std::filesystem::exists(options.data_dir + "/node1") &&
      !std::filesystem::exists(token_file)) {
    std::fprintf(stderr,
                 "error: %s holds a cluster formed without API tokens (no %s): run with --open, "
                 "or remove %s to start a new cluster\n",
                 options.data_dir.c_str(), token_file.c_str(), options.data_dir.c_str());
    return 1;
  }

  const std::string self = std::filesystem::canonical("/proc/self/exe").string();
  std::vector<Child> children;
  for (uint32_t index = 0; index < options.nodes; ++index) {
    Child child;
    child.id = fmt::format("node{}", index + 1);
    child.log = fmt::format("{}/{}.log", options.data_dir, child.id);
    std::vector<std::string> arguments = {
        "serve",
        "--node-id",
        child.id,
        "--data-dir",
        fmt::format("{}/{}", options.data_dir, child.id),
        "--listen-http",
        fmt::format("127.0.0.1:{}", port_of(options.http_port, index)),
        "--listen-peer",
        fmt::format("127.0.0.1:{}", port_of(options.peer_port, index))};
    if (index > 0) {
      arguments.push_back("--join");
      arguments.push_back(children.front().peer_address);
    } else if (!options.open) {
      arguments.push_back("--auth");  // (a restart keeps the cluster's tokens)
    }
    arguments.insert(arguments.end(), {"--peer-ca", certs + "/ca.crt", "--peer-cert",
                                       fmt::format("{}/{}.crt", certs, child.id), "--peer-key",
                                       fmt::format("{}/{}.key", certs, child.id)});
    if (!https_cert.empty())
      arguments.insert(arguments.end(), {"--tls-cert", https_cert, "--tls-key", https_key});
    std::printf("starting %s (log %s)\n", child.id.c_str(), child.log.c_str());
    std::fflush(stdout);
    child.pid = spawn(self, arguments, child.log);
    children.push_back(child);
    if (!wait_ready(children.back())) {
      stop_all(children);
      return 1;
    }
  }

  // The default store, through the first node.
  StoreConfig store;
  store.n = std::min<uint32_t>(3, options.nodes);
  store.w = std::min<uint32_t>(2, store.n);
  store.r = store.n - store.w + 1;
  auto client_options = parse_server_url(children.front().http_url);
  if (client_options.ok() && !https_cert.empty()) {
    if (own_https)
      client_options->ca_file = certs + "/ca.crt";
    else
      client_options->insecure = true;  // the operator's dev certificate
  }
  if (client_options.ok() && !options.open) {
    auto token = read_token_file(token_file);
    if (!token.ok()) {
      std::fprintf(stderr, "error: %s\n", token.status().message().c_str());
      stop_all(children);
      return 1;
    }
    client_options->bearer_token = *token;
  }
  Status created = client_options.status();
  if (client_options.ok()) {
    KvClient client(*client_options);
    auto result = client.create_store("default", store);
    created = result.status();
  }
  if (!created.ok()) {
    std::fprintf(stderr, "error: cannot create the store 'default': %s\n",
                 created.message().c_str());
    stop_all(children);
    return 1;
  }

  // Joins are layout changes: wait until every node owns its share of the
  // ring, so that the cluster announced ready takes writes at n = 3.
  if (client_options.ok() && children.size() > 1) {
    std::printf("waiting for every node to take its share of the ring\n");
    std::fflush(stdout);
    KvClient client(*client_options);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool balanced = false;
    while (!balanced && std::chrono::steady_clock::now() < give_up) {
      auto view = client.cluster();
      if (view.ok()) {
        auto progress = rebalance_progress(*view);
        balanced = progress.ok() && progress->balanced &&
                   view->find("\"ring_partitions\":0") == std::string::npos;
      }
      if (!balanced)
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (!balanced) {
      std::fprintf(stderr, "error: the nodes did not settle on one layout within 60 s; see %s\n",
                   children.front().log.c_str());
      stop_all(children);
      return 1;
    }
  }

  print_usage(options, children, store, certs, own_https, token_file, binary);

  // Wait for Ctrl-C or SIGTERM, or for a node to die on its own.
  while (true) {
    timespec poll{0, 200'000'000};
    const int signal_number = sigtimedwait(&stop_signals, nullptr, &poll);
    if (signal_number > 0) {
      std::printf("signal %d: stopping %zu nodes\n", signal_number, children.size());
      break;
    }
    bool died = false;
    for (Child& child : children) {
      int status = 0;
      if (child.pid > 0 && waitpid(child.pid, &status, WNOHANG) == child.pid) {
        child.pid = -1;
        std::fprintf(stderr, "%s exited unexpectedly; the end of %s:\n%s\n", child.id.c_str(),
                     child.log.c_str(), tail(read_file(child.log), 8).c_str());
        died = true;
      }
    }
    if (died) {
      stop_all(children);
      return 1;
    }
  }
  const bool clean = stop_all(children);
  std::printf(clean ? "all nodes stopped cleanly\n" : "some nodes did not stop cleanly\n");
  return clean ? 0 : 1;
}

}  // namespace ringkv
