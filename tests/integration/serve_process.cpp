#include "serve_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace ringkv::testing {

ServeProcess::ServeProcess(std::vector<std::string> arguments) : arguments_(std::move(arguments)) {}

ServeProcess::~ServeProcess() {
  if (pid_ > 0)
    stop();
  if (output_fd_ >= 0)
    ::close(output_fd_);
}

bool ServeProcess::start() {
  return start_until("ringkv ready on ");
}

bool ServeProcess::start_until(const std::string& marker) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0)
    return false;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> argv;
    std::string binary = RINGKV_BINARY;
    argv.push_back(binary.data());
    for (std::string& argument : arguments_)
      argv.push_back(argument.data());
    argv.push_back(nullptr);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  output_fd_ = pipe_fds[0];
  ::fcntl(output_fd_, F_SETFL, O_NONBLOCK);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const bool ready_line = marker == "ringkv ready on ";
  const size_t this_start = output_.size();  // a restart's ready line, not an earlier run's
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd descriptor{output_fd_, POLLIN, 0};
    ::poll(&descriptor, 1, 200);
    char buffer[4096];
    ssize_t count = 0;
    while ((count = ::read(output_fd_, buffer, sizeof buffer)) > 0)
      output_.append(buffer, count);
    const size_t at = output_.find(marker, this_start);
    if (at != std::string::npos && !ready_line)
      return true;
    if (at != std::string::npos) {
      const size_t end = output_.find('\n', at);
      if (end != std::string::npos) {
        url_ = output_.substr(at + marker.size(), end - at - marker.size());
        port_ = static_cast<uint16_t>(std::stoi(url_.substr(url_.rfind(':') + 1)));
        return true;
      }
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
  }
  return false;
}

std::string ServeProcess::output() {
  if (output_fd_ >= 0) {
    char buffer[4096];
    ssize_t count = 0;
    while ((count = ::read(output_fd_, buffer, sizeof buffer)) > 0)
      output_.append(buffer, count);
  }
  return output_;
}

int ServeProcess::stop() {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    pollfd descriptor{output_fd_, POLLIN, 0};
    ::poll(&descriptor, 1, 50);  // wakes on output or after 50 ms to re-check the child
    output();
  }
  pid_ = -1;
  return status;
}

void ServeProcess::kill9() {
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void ServeProcess::signal(int signal_number) {
  if (pid_ > 0)
    ::kill(pid_, signal_number);
}

std::pair<int, std::string> run_cli(const std::string& arguments, bool stderr_too) {
  const std::string command =
      std::string(RINGKV_BINARY) + " " + arguments + (stderr_too ? " 2>&1" : "");
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    return {-1, "popen failed"};
  std::string output;
  char buffer[4096];
  size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    output.append(buffer, count);
  const int status = ::pclose(pipe);
  return {WEXITSTATUS(status), output};
}

std::string make_temp_directory(const std::string& name) {
  static int counter = 0;
  const auto path =
      std::filesystem::temp_directory_path() /
      ("ringkv-it-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path.string();
}

}  // namespace ringkv::testing
