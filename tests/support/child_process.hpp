#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace test {

/// A program run as a real child process, its output sent to a log file. Killed
/// (SIGKILL) on destruction if still running.
class child_process {
public:
  /// Starts `program` with `args`; throws std::runtime_error if it cannot.
  child_process(const std::string& program, const std::vector<std::string>& args,
                const std::string& log_file);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  /// Waits until `port_file` holds a port (the child writes it once listening) and
  /// returns it. Throws if the child exits first or `timeout` passes, with its log.
  std::uint16_t
  wait_for_port(const std::string& port_file,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

  /// Sends `sig` and waits for the exit; returns the exit status as the shell shows it
  /// (the code, or 128 + signal number).
  int stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(20));

  /// True while the child has not exited.
  bool running();

  /// The child's output so far.
  std::string log() const;

private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_file_;
};

/// Runs a command to completion (tests use it for the openssl tool); throws with the
/// command's output if it exits non-zero.
void run_command(const std::vector<std::string>& argv, const std::string& log_file);

} // namespace test
