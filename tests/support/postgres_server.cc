#include "support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace dew::testing {
namespace {

constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

struct ProcessOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Reads a whole fd until EOF.
std::string Drain(int fd) {
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      data.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  return data;
}

// Runs argv[0] (an absolute path) and captures stdout/stderr. When `as_postgres` and we are root,
// the child drops to the `postgres` user first, because the server refuses to run as root.
// stderr goes to a temp file rather than a second pipe so the child cannot block on a full pipe.
Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv, bool as_postgres,
                                 const std::string& scratch_dir) {
  uid_t uid = 0;
  gid_t gid = 0;
  bool drop = as_postgres && geteuid() == 0;
  if (drop) {
    struct passwd* pw = getpwnam("postgres");
    if (pw == nullptr) return Status::NotFound("system user 'postgres' does not exist");
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  std::string err_path = scratch_dir + "/stderr.XXXXXX";
  std::vector<char> err_tmpl(err_path.begin(), err_path.end());
  err_tmpl.push_back('\0');
  int err_fd = mkstemp(err_tmpl.data());
  if (err_fd < 0) return Status::IOError("mkstemp " + err_path + ": " + strerror(errno));
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    close(err_fd);
    return Status::IOError(std::string("pipe: ") + strerror(errno));
  }
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Status::IOError(std::string("fork: ") + strerror(errno));
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    if (drop) {
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(126);
    }
    // pg_ctl's server must not inherit the test's cwd if that is unreadable to postgres.
    if (chdir(scratch_dir.c_str()) != 0) _exit(126);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  ProcessOutput result;
  result.out = Drain(pipe_fds[0]);
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  lseek(err_fd, 0, SEEK_SET);
  result.err = Drain(err_fd);
  close(err_fd);
  unlink(err_tmpl.data());
  return result;
}

Result<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Status::IOError(std::string("socket: ") + strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return Status::IOError(std::string("bind 127.0.0.1:0: ") + strerror(errno));
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

Result<std::string> RandomHex(size_t bytes) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string raw(bytes, '\0');
  if (!in.read(raw.data(), static_cast<std::streamsize>(bytes))) {
    return Status::IOError("cannot read /dev/urandom");
  }
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return hex;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status ChownToPostgres(const std::string& path) {
  if (geteuid() != 0) return Status::OK();
  struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) return Status::NotFound("system user 'postgres' does not exist");
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return Status::IOError("chown " + path + ": " + strerror(errno));
  }
  return Status::OK();
}

}  // namespace

PostgresServer::~PostgresServer() {
  (void)Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool PostgresServer::Available() {
  return access((std::string(kBinDir) + "/initdb").c_str(), X_OK) == 0 &&
         access((std::string(kBinDir) + "/pg_ctl").c_str(), X_OK) == 0 &&
         access("/usr/bin/psql", X_OK) == 0;
}

void PostgresServer::AddSetting(const std::string& name, const std::string& value) {
  settings_ += " -c " + name + "=" + value;
}

Status PostgresServer::Start() {
  if (running_) return Status::OK();
  if (!Available())
    return Status::NotFound(std::string("PostgreSQL 15 binaries not found in ") + kBinDir);
  if (dir_.empty()) {
    char tmpl[] = "/tmp/dew_pg_XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
      return Status::IOError(std::string("mkdtemp: ") + strerror(errno));
    dir_ = tmpl;
    DEW_RETURN_IF_ERROR(ChownToPostgres(dir_));
  }
  DEW_ASSIGN_OR_RETURN(password_, RandomHex(16));
  const std::string data = dir_ + "/data";
  const std::string pwfile = dir_ + "/pwfile";
  {
    std::ofstream out(pwfile, std::ios::trunc);
    out << password_ << "\n";
    if (!out) return Status::IOError("cannot write " + pwfile);
  }
  chmod(pwfile.c_str(), 0600);
  DEW_RETURN_IF_ERROR(ChownToPostgres(pwfile));

  std::error_code ec;
  std::filesystem::remove_all(data, ec);
  DEW_ASSIGN_OR_RETURN(
      ProcessOutput init,
      RunProcess({std::string(kBinDir) + "/initdb", "-D", data, "-U", user_, "--pwfile=" + pwfile,
                  "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"},
                 /*as_postgres=*/true, dir_));
  std::filesystem::remove(pwfile, ec);
  if (init.exit_code != 0) {
    return Status::IOError("initdb " + data + " failed (exit " + std::to_string(init.exit_code) +
                           "): " + init.err + init.out);
  }
  const std::string log = dir_ + "/server.log";
  // The free port may be taken by a parallel test between probing and binding: retry.
  std::string failure;
  for (int attempt = 0; attempt < 3; attempt++) {
    DEW_ASSIGN_OR_RETURN(port_, FreeLoopbackPort());
    const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                                " -k " + dir_ + " -c fsync=off -c full_page_writes=off" + settings_;
    DEW_ASSIGN_OR_RETURN(ProcessOutput start,
                         RunProcess({std::string(kBinDir) + "/pg_ctl", "-D", data, "-l", log, "-w",
                                     "-t", "60", "-o", options, "start"},
                                    /*as_postgres=*/true, dir_));
    if (start.exit_code == 0) {
      running_ = true;
      return Status::OK();
    }
    failure = "pg_ctl start on 127.0.0.1:" + std::to_string(port_) + " failed: " + start.err +
              start.out + "\nserver log:\n" + ReadFileOrEmpty(log);
  }
  return Status::IOError(failure);
}

Status PostgresServer::StartWithSourceDatabase(const std::string& database, const std::string& role,
                                               const std::string& schema_sql) {
  DEW_RETURN_IF_ERROR(Start());
  auto made = RunSql("CREATE DATABASE " + database + "; CREATE ROLE " + role + " LOGIN PASSWORD '" +
                     reader_password() + "';");
  if (made.ok() && !schema_sql.empty()) made = RunSql(schema_sql, database);
  if (made.ok()) made = RunSql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role, database);
  return made.status();
}

Status PostgresServer::Stop() {
  if (!running_) return Status::OK();
  const std::string data = dir_ + "/data";
  for (const char* mode : {"fast", "immediate"}) {
    auto stop = RunProcess(
        {std::string(kBinDir) + "/pg_ctl", "-D", data, "-w", "-t", "30", "-m", mode, "stop"},
        /*as_postgres=*/true, dir_);
    if (stop.ok() && stop->exit_code == 0) {
      running_ = false;
      return Status::OK();
    }
  }
  return Status::IOError("pg_ctl stop failed for " + data);
}

std::string PostgresServer::ConnectionString(const std::string& database) const {
  return "host=" + host_ + " port=" + std::to_string(port_) + " dbname=" + database +
         " user=" + user_ + " password=" + password_ + " connect_timeout=10";
}

Result<std::string> PostgresServer::RunSql(const std::string& sql,
                                           const std::string& database) const {
  if (!running_) return Status::InvalidArgument("PostgresServer::RunSql: server not started");
  char tmpl[] = "/tmp/dew_pg_sql_XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) return Status::IOError(std::string("mkstemp: ") + strerror(errno));
  close(fd);
  {
    std::ofstream out(tmpl, std::ios::trunc);
    // Then the counts of what `sql` did reach PostgreSQL's cumulative statistics before psql
    // returns (a backend otherwise flushes them at most once a second, or as it exits, after
    // psql has): tests of dew's use of them (n_tup_del) see each change at once.
    out << sql << "\n;\n\\o /dev/null\nSELECT pg_stat_force_next_flush();\n";
  }
  auto run = RunProcess({"/usr/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d",
                         ConnectionString(database), "-f", tmpl},
                        /*as_postgres=*/false, "/tmp");
  unlink(tmpl);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return Status::IOError("psql on " + host_ + ":" + std::to_string(port_) + "/" + database +
                           " failed: " + run->err);
  }
  return std::move(run->out);
}

}  // namespace dew::testing
