// ServeProcess: runs a real `ringkv serve` for integration tests.
//
// start() forks and execs the binary with the given flags, then reads its
// standard output until the "ringkv ready on URL" line (or the process exits,
// or a bound passes), so a test never sleeps hoping the server is up.
// The destructor sends SIGTERM and waits; kill9() simulates a crash.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace ringkv::testing {

class ServeProcess {
 public:
  explicit ServeProcess(std::vector<std::string> arguments);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // True when the server printed its ready line within the bound.
  bool start();
  // Starts it and returns true once its output holds `marker` (within the
  // same bound): for a node that is not to become ready.
  bool start_until(const std::string& marker);
  const std::string& url() const { return url_; }
  uint16_t port() const { return port_; }
  // Everything the process wrote to stdout and stderr so far (for failure messages).
  std::string output();
  // SIGTERM and wait; returns the exit status (as from waitpid).
  int stop();
  void kill9();
  // Sends `signal_number` (SIGHUP: reload certificates).
  void signal(int signal_number);
  bool running() const { return pid_ > 0; }

 private:
  std::vector<std::string> arguments_;
  pid_t pid_ = -1;
  int output_fd_ = -1;
  std::string output_;
  std::string url_;
  uint16_t port_ = 0;
};

// Runs the ringkv binary with `arguments` (a shell word list); returns its exit
// code and stdout, with stderr appended unless `stderr_too` is false (so that
// JSON on stdout parses).
std::pair<int, std::string> run_cli(const std::string& arguments, bool stderr_too = true);

// A fresh directory under the system temp directory, removed by the caller.
std::string make_temp_directory(const std::string& name);

}  // namespace ringkv::testing
