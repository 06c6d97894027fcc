#include "support/child_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace flowgrpo::testing {

ChildProcess::ChildProcess(const std::string& command, const std::map<std::string, std::string>& env,
                           std::filesystem::path log)
    : log_(std::move(log)) {
  std::string script =
      "cd '" + std::string(FLOWGRPO_SOURCE_DIR) + "' && exec " + command + " > '" + log_.string() + "' 2>&1";
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) vars[k] = v;
  std::vector<std::string> strings;
  for (const auto& [k, v] : vars) strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", flag = "-c";
  std::vector<char*> argv{sh.data(), flag.data(), script.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), envp.data()) != 0)
    throw std::runtime_error("cannot start: " + command);
  pid_ = pid;
}

ChildProcess::~ChildProcess() {
  if (!status_) {
    ::kill(pid_, SIGKILL);
    wait(10);
  }
}

std::optional<int> ChildProcess::wait(double seconds) {
  if (status_) return status_;
  const bool done = eventually(seconds, [&] {
    int st = 0;
    const auto r = ::waitpid(pid_, &st, WNOHANG);
    if (r != pid_) return false;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
  });
  return done ? status_ : std::nullopt;
}

void ChildProcess::signal(int sig) const {
  ::kill(pid_, sig);
}

std::string ChildProcess::output() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace flowgrpo::testing
