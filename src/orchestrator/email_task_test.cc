// The email task against SmtpSink, a local stand-in that speaks SMTP (RFC 5321) on loopback:
// libcurl's real SMTP conversation, checked by the message the sink received.
#include "orchestrator/email_task.h"

#include <gtest/gtest.h>

#include <random>

#include "orchestrator/task_kind_test_util.h"
#include "support/smtp_sink.h"

namespace dew::orchestrator {
namespace {

const char* kPipeline = R"(name: close
params: {period: "2026-09"}
tasks:
  - name: notify
    kind: email
    to: "finance@example.test, cfo@example.test"
    subject: "Close ${params.period} done"
    body: "The close of ${params.period} succeeded.\n.dot line stays\nbye"
)";

class EmailTaskTest : public testing::TaskKindTest {
 protected:
  void SetUp() override {
    TaskKindTest::SetUp();
    ASSERT_TRUE(sink_.Start().ok());
    env_.smtp = NewCurlSmtpClient();
    std::random_device rd;
    password_ = "pw-" + std::to_string(rd());
    env_.worker_env = {{"SMTP_PW", password_}};
  }

  void WriteSettings(const std::string& extra = "") {
    Write("dew.yml",
          "name: t\nsmtp:\n  host: 127.0.0.1\n  port: " + std::to_string(sink_.port()) +
              "\n  from: dew@example.test\n  user: mailer\n  password: ${env:SMTP_PW}\n" + extra);
  }

  dew::testing::SmtpSink sink_;
  std::string password_;
};

TEST_F(EmailTaskTest, SendsTheMessageWithParamsHeadersAndLogin) {
  WriteSettings("  starttls: false\n");
  auto out = RunTask(Invocation(kPipeline, "notify", {{"period", "2026-10"}}, "run-42"));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const auto mails = sink_.messages();
  ASSERT_EQ(mails.size(), 1u);
  const auto& m = mails[0];
  EXPECT_EQ(m.user, "mailer");
  EXPECT_EQ(m.password, password_);
  EXPECT_EQ(m.mail_from, "dew@example.test");
  EXPECT_EQ(m.rcpt_to, (std::vector<std::string>{"finance@example.test", "cfo@example.test"}));
  EXPECT_EQ(m.Header("From"), "dew@example.test");
  EXPECT_EQ(m.Header("To"), "finance@example.test, cfo@example.test");
  EXPECT_EQ(m.Header("Subject"), "Close 2026-10 done");
  EXPECT_EQ(m.Header("X-Dew-Run"), "run-42");
  EXPECT_EQ(m.Header("X-Dew-Task"), "notify");
  EXPECT_EQ(m.Header("Message-ID"), "<run-42.notify.1@dew>");
  EXPECT_EQ(m.Header("Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_FALSE(m.Header("Date").empty());
  EXPECT_EQ(m.Body(), "The close of 2026-10 succeeded.\r\n.dot line stays\r\nbye\r\n");
}

TEST_F(EmailTaskTest, RefusedRecipientNamesTheTaskAndTheServersReply) {
  WriteSettings();
  sink_.RejectRecipient("cfo@example.test");
  auto out = RunTask(Invocation(kPipeline, "notify"));
  ASSERT_FALSE(out.ok());
  const std::string msg = out.status().message();
  EXPECT_NE(msg.find("task notify"), std::string::npos) << msg;
  EXPECT_NE(msg.find("550 5.1.1 <cfo@example.test>: no such user"), std::string::npos) << msg;
  EXPECT_TRUE(sink_.messages().empty());
}

TEST_F(EmailTaskTest, RefusedLoginNamesTheReply) {
  WriteSettings();
  sink_.RejectLogins();
  auto out = RunTask(Invocation(kPipeline, "notify"));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("535 5.7.8"), std::string::npos) << out.status().message();
}

TEST_F(EmailTaskTest, StarttlsRequiredButNotOfferedFails) {
  WriteSettings("  starttls: true\n");
  auto out = RunTask(Invocation(kPipeline, "notify"));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("task notify"), std::string::npos);
  EXPECT_TRUE(sink_.messages().empty());
}

TEST_F(EmailTaskTest, MissingSettingsAndUnsetPasswordAreNamed) {
  Write("dew.yml", "name: t\n");
  auto out = RunTask(Invocation(kPipeline, "notify"));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("has no smtp: section"), std::string::npos)
      << out.status().message();
  WriteSettings();
  env_.worker_env.clear();
  out = RunTask(Invocation(kPipeline, "notify"));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("${env:SMTP_PW}"), std::string::npos)
      << out.status().message();
}

TEST(SmtpSettingsTest, ErrorsNameFileLineAndField) {
  auto literal = ParseSmtpSettings(
      "smtp:\n  host: h\n  from: a@b\n  user: u\n  password: hunter2\n", "dew.yml");
  ASSERT_FALSE(literal.ok());
  EXPECT_EQ(
      literal.status().message().rfind("dew.yml:5:13: smtp.password: write the password as", 0), 0u)
      << literal.status().message();
  auto port = ParseSmtpSettings("smtp:\n  host: h\n  port: 99999\n  from: a@b\n", "dew.yml");
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.status().message().find("dew.yml:3:9: smtp.port"), std::string::npos)
      << port.status().message();
  auto unknown = ParseSmtpSettings("smtp:\n  host: h\n  from: a@b\n  tls: yes\n", "dew.yml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("smtp.tls: unknown key"), std::string::npos);
  auto no_host = ParseSmtpSettings("smtp:\n  from: a@b\n", "dew.yml");
  ASSERT_FALSE(no_host.ok());
  EXPECT_NE(no_host.status().message().find("smtp.host: missing"), std::string::npos);
  auto none = ParseSmtpSettings("name: x\n", "dew.yml");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(SmtpSettingsTest, RecipientsAreSplitAndChecked) {
  auto ok = ParseRecipients(" a@x.test; b@y.test ,c@z.test ");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (std::vector<std::string>{"a@x.test", "b@y.test", "c@z.test"}));
  auto bad = ParseRecipients("a@x.test, ops");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'ops' is not an e-mail address"), std::string::npos);
  EXPECT_FALSE(ParseRecipients(" , ").ok());
}

TEST(FormatEmailTest, HeaderValuesCannotAddHeadersAndUtf8SubjectsAreEncoded) {
  EmailMessage m;
  m.from = "a@x.test";
  m.to = {"b@y.test"};
  m.subject = "Résumé\r\nBcc: evil@z.test";
  m.body = "line1\nline2";
  m.date = "Sat, 05 Dec 2026 09:30:00 +0000";
  m.message_id = "<1@dew>";
  const std::string text = FormatEmail(m);
  EXPECT_EQ(text.find("\r\nBcc:"), std::string::npos) << text;
  EXPECT_NE(text.find("Subject: =?UTF-8?B?"), std::string::npos) << text;
  EXPECT_NE(text.find("\r\n\r\nline1\r\nline2\r\n"), std::string::npos) << text;
  EXPECT_EQ(Rfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

}  // namespace
}  // namespace dew::orchestrator
