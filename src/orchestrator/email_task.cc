// email tasks: one message through the TaskEnv's SmtpClient to the server dew.yml's `smtp:`
// names; the password comes from the worker's environment (`${env:NAME}`). Subject and body
// hold the run's ${params.x}, already substituted. Cancel aborts the SMTP conversation.
#include "orchestrator/email_task.h"

#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cstdlib>
#include <vector>

#include "core/smtp_client.h"
#include "orchestrator/task_runner.h"

namespace dew::orchestrator {

namespace {

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

class EmailTask final : public TaskRunner {
 public:
  EmailTask(const TaskEnv& env, TaskInvocation inv) : env_(env), inv_(std::move(inv)) {}

  Result<TaskOutcome> Run() override {
    const std::string name = "task " + inv_.task.name;
    if (!env_.smtp) return Status::Internal(name + ": this worker has no SMTP client");
    const std::string config_path = env_.project_dir + "/dew.yml";
    auto text = env_.fs->ReadFile(config_path);
    if (!text.ok()) return text.status().WithContext(name + ": reading the smtp settings");
    DEW_ASSIGN_OR_RETURN(std::optional<SmtpSettings> settings,
                         ParseSmtpSettings(*text, config_path));
    if (!settings) {
      return Status::InvalidArgument(name + ": " + config_path +
                                     " has no smtp: section (host, port, from, user, password, "
                                     "starttls) to send e-mail with");
    }
    SmtpServer server;
    server.host = settings->host;
    server.port = settings->port;
    server.user = settings->user;
    server.starttls = settings->starttls;
    if (inv_.task.timeout_ms > 0) server.timeout_ms = inv_.task.timeout_ms;
    if (!settings->password_ref.empty()) {
      const std::string var = settings->password_ref.substr(6, settings->password_ref.size() - 7);
      auto it = env_.worker_env.find(var);
      if (it == env_.worker_env.end()) {
        return Status::InvalidArgument(name + ": smtp.password refers to ${env:" + var +
                                       "}, which is not set in the worker's environment");
      }
      server.password = it->second;
    }
    auto to = ParseRecipients(inv_.task.Field("to"));
    if (!to.ok()) return to.status().WithContext(name + ": to");
    EmailMessage message;
    message.from = settings->from;
    message.to = *to;
    message.subject = inv_.task.Field("subject");
    message.body = inv_.task.Field("body");
    message.headers = {{"X-Dew-Pipeline", inv_.pipeline},
                       {"X-Dew-Run", inv_.run_id},
                       {"X-Dew-Task", inv_.task.name}};
    message.date = Rfc5322Date(env_.clock->NowMillis());
    // One id per attempt: a retried send is recognisably the same message.
    message.message_id =
        "<" + inv_.run_id + "." + inv_.task.name + "." + std::to_string(inv_.attempt) + "@dew>";
    if (cancelled_.load()) return Status::Interrupted(name + " was cancelled");
    Status s = env_.smtp->Send(server, message, [this] { return cancelled_.load(); });
    if (!s.ok()) return s.WithContext(name);
    std::string list;
    for (const std::string& r : message.to) list += (list.empty() ? "" : ", ") + r;
    if (inv_.log != nullptr) {
      inv_.log->Log(LogLevel::kInfo, "sent e-mail '" + message.subject + "' to " + list +
                                         " through " + server.host + ":" +
                                         std::to_string(server.port));
    }
    return TaskOutcome{};
  }

  void Cancel() override { cancelled_.store(true); }

 private:
  const TaskEnv& env_;
  const TaskInvocation inv_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace

Result<std::optional<SmtpSettings>> ParseSmtpSettings(const std::string& yaml_text,
                                                      const std::string& source) {
  auto error = [&](const YAML::Mark& m, const std::string& field, const std::string& problem) {
    return Status::InvalidArgument(source + ":" + std::to_string(m.line + 1) + ":" +
                                   std::to_string(m.column + 1) + ": smtp" +
                                   (field.empty() ? "" : "." + field) + ": " + problem);
  };
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root.IsMap() || !root["smtp"]) return std::optional<SmtpSettings>();
    const YAML::Node smtp = root["smtp"];
    if (!smtp.IsMap()) {
      return error(smtp.Mark(), "",
                   "expected a mapping {host, port, from, user, password, starttls}");
    }
    SmtpSettings s;
    for (auto it = smtp.begin(); it != smtp.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      const std::string k = key.Scalar();
      if (!value.IsScalar()) return error(value.Mark(), k, "expected a scalar");
      const std::string v = value.Scalar();
      if (k == "host") {
        s.host = v;
      } else if (k == "port") {
        char* end = nullptr;
        const long p = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || p < 1 || p > 65535) {
          return error(value.Mark(), k, "'" + v + "' is not a port (1-65535)");
        }
        s.port = static_cast<int>(p);
      } else if (k == "from") {
        s.from = v;
      } else if (k == "user") {
        s.user = v;
      } else if (k == "password") {
        const bool is_ref = v.size() > 7 && v.rfind("${env:", 0) == 0 && v.back() == '}';
        if (!is_ref) {
          return error(value.Mark(), k,
                       "write the password as ${env:NAME} (a literal secret in a file is refused)");
        }
        s.password_ref = v;
      } else if (k == "starttls") {
        if (v == "true") {
          s.starttls = true;
        } else if (v == "false") {
          s.starttls = false;
        } else {
          return error(value.Mark(), k, "expected true or false, got '" + v + "'");
        }
      } else {
        return error(
            key.Mark(), k,
            "unknown key '" + k + "' (expected host, port, from, user, password, starttls)");
      }
    }
    if (s.host.empty()) return error(smtp.Mark(), "host", "missing required field 'host'");
    if (s.from.empty()) return error(smtp.Mark(), "from", "missing required field 'from'");
    if (!s.password_ref.empty() && s.user.empty()) {
      return error(smtp.Mark(), "user", "a password needs a user");
    }
    return std::optional<SmtpSettings>(std::move(s));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

Result<std::vector<std::string>> ParseRecipients(const std::string& to) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= to.size()) {
    size_t sep = to.find_first_of(",;", pos);
    if (sep == std::string::npos) sep = to.size();
    const std::string addr = Trim(to.substr(pos, sep - pos));
    pos = sep + 1;
    if (addr.empty()) continue;
    const size_t at = addr.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == addr.size() ||
        addr.find_first_of(" \t<>\"") != std::string::npos) {
      return Status::InvalidArgument("'" + addr + "' is not an e-mail address");
    }
    out.push_back(addr);
  }
  if (out.empty()) return Status::InvalidArgument("no recipient");
  return out;
}

std::unique_ptr<TaskRunner> MakeEmailTask(const TaskEnv& env, TaskInvocation inv) {
  return std::make_unique<EmailTask>(env, std::move(inv));
}

}  // namespace dew::orchestrator
