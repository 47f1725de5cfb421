#include "child_process.hpp"

#include "temp_dir.hpp"

#include <csignal>
#include <fcntl.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace test {

namespace {

pid_t spawn(const std::string& program, const std::vector<std::string>& args,
            const std::string& log_file) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open log " + log_file);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    // The child: dies with the test (even one that aborts), output to the log, a clean
    // signal mask, then the program.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execvp(program.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

int shell_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

} // namespace

child_process::child_process(const std::string& program,
                             const std::vector<std::string>& args,
                             const std::string& log_file)
    : log_file_(log_file) {
  pid_ = spawn(program, args, log_file);
}

child_process::~child_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
}

bool child_process::running() {
  if (status_ != -1) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

std::uint16_t child_process::wait_for_port(const std::string& port_file,
                                           std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::access(port_file.c_str(), R_OK) == 0) {
      auto text = read_file(port_file);
      auto port = std::stoul(text);
      if (port > 0 && port < 65536) return static_cast<std::uint16_t>(port);
    }
    if (!running())
      throw std::runtime_error("child exited (status " +
                               std::to_string(shell_status(status_)) +
                               ") before listening; its log:\n" + log());
    // Polling the file system for the child's readiness signal; the deadline bounds it.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  throw std::runtime_error("child did not write " + port_file + " in time; its log:\n" +
                           log());
}

int child_process::stop(int sig, std::chrono::milliseconds timeout) {
  if (running()) ::kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      throw std::runtime_error("child did not exit after signal " + std::to_string(sig));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return shell_status(status_);
}

std::string child_process::log() const {
  try {
    return read_file(log_file_);
  } catch (const std::exception&) {
    return {};
  }
}

void run_command(const std::vector<std::string>& argv, const std::string& log_file) {
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  pid_t pid = spawn(argv.front(), args, log_file);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (shell_status(status) != 0)
    throw std::runtime_error(argv.front() + " failed (status " +
                             std::to_string(shell_status(status)) + "):\n" +
                             read_file(log_file));
}

} // namespace test
