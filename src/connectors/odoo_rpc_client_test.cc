// OdooRpcClient against the local stand-in Odoo server (tests/support/odoo_rpc_server.h) over
// real HTTP through libcurl.
#include "connectors/odoo_rpc_client.h"

#include <gtest/gtest.h>

#include "core/http_client.h"
#include "support/odoo_rpc_server.h"

namespace dew::connectors {
namespace {

using json = nlohmann::json;
using testing::OdooField;
using testing::OdooRpcServer;

class OdooRpcClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start().ok());
    server_.AddUser("admin", "secret");
    server_.AddModel("res.partner", {{"name", "char"},
                                     {"active", "boolean"},
                                     {"credit", "monetary"},
                                     {"parent_id", "many2one", "res.partner"},
                                     {"write_date", "datetime"}});
    const char* names[] = {"Azure Interior", "Deco Addict", "Gemini Furniture",
                           "Lumber Inc",     "Ready Mat",   "azure blue"};
    for (int i = 1; i <= 6; ++i) {
      server_.Put("res.partner",
                  {{"id", i},
                   {"name", names[i - 1]},
                   {"active", i != 4},
                   {"credit", i * 10.5},
                   {"parent_id", i > 3 ? json::array({1, "Azure Interior"}) : json(false)},
                   {"write_date", "2024-01-0" + std::to_string(7 - i) + " 10:00:00"}});
    }
  }

  OdooRpcClient Client(const std::string& user = "admin", const std::string& password = "secret",
                       const std::string& db = "odoo") {
    return OdooRpcClient(NewCurlHttpClient(), {server_.url(), db, user, password});
  }

  std::vector<int64_t> Ids(const json& domain, const std::string& order = "", int64_t limit = 0,
                           int64_t offset = 0) {
    OdooRpcClient c = Client();
    auto r = c.SearchRead("res.partner", domain, {"name"}, limit, offset, order);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<int64_t> ids;
    if (r.ok()) {
      for (const json& rec : r->records) ids.push_back(rec["id"].get<int64_t>());
    }
    return ids;
  }

  OdooRpcServer server_;
};

using IdList = std::vector<int64_t>;

TEST_F(OdooRpcClientTest, VersionAndAuthenticate) {
  OdooRpcClient c = Client();
  auto v = c.Version();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ((*v)["server_version"], "17.0");
  auto uid = c.Authenticate();
  ASSERT_TRUE(uid.ok()) << uid.status().ToString();
  EXPECT_EQ(*uid, 2);
}

TEST_F(OdooRpcClientTest, WrongPasswordSaysSo) {
  OdooRpcClient c = Client("admin", "wrong");
  auto uid = c.Authenticate();
  ASSERT_FALSE(uid.ok());
  EXPECT_EQ(c.last_problem(), CheckProblem::kAuthRefused);
  EXPECT_NE(uid.status().message().find("refused login 'admin' on database odoo"),
            std::string::npos)
      << uid.status().message();
  EXPECT_EQ(uid.status().message().find("wrong\""), std::string::npos);  // no password echoed
  OdooRpcClient unknown = Client("nobody", "x");
  EXPECT_FALSE(unknown.SearchCount("res.partner", json::array()).ok());
  EXPECT_EQ(unknown.last_problem(), CheckProblem::kAuthRefused);
}

TEST_F(OdooRpcClientTest, UnknownDatabaseModelAndField) {
  OdooRpcClient nodb = Client("admin", "secret", "nope");
  auto uid = nodb.Authenticate();
  ASSERT_FALSE(uid.ok());
  EXPECT_EQ(nodb.last_problem(), CheckProblem::kMissingDatabase);
  EXPECT_NE(uid.status().message().find("database nope does not exist"), std::string::npos)
      << uid.status().message();

  OdooRpcClient c = Client();
  auto model = c.SearchRead("res.partnr", json::array(), {}, 0, 0, "");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(c.last_problem(), CheckProblem::kMissingTable);
  EXPECT_NE(model.status().message().find("Object res.partnr doesn't exist"), std::string::npos)
      << model.status().message();

  auto field = c.SearchRead("res.partner", json::array(), {"nam"}, 0, 0, "");
  ASSERT_FALSE(field.ok());
  EXPECT_NE(field.status().message().find("Invalid field 'nam' on model 'res.partner'"),
            std::string::npos)
      << field.status().message();
  // Only the traceback's last line is kept.
  EXPECT_EQ(field.status().message().find("Traceback"), std::string::npos);

  auto leaf = c.SearchCount("res.partner", json::parse(R"([["nam", "=", 1]])"));
  ASSERT_FALSE(leaf.ok());
  EXPECT_NE(leaf.status().message().find("Invalid field res.partner.nam in leaf"),
            std::string::npos)
      << leaf.status().message();
}

TEST_F(OdooRpcClientTest, ForbiddenModelIsPermissionDenied) {
  server_.Forbid("admin", "res.partner");
  OdooRpcClient c = Client();
  auto r = c.SearchCount("res.partner", json::array());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(c.last_problem(), CheckProblem::kPermissionDenied);
  EXPECT_NE(r.status().message().find("not allowed to access"), std::string::npos);
}

TEST_F(OdooRpcClientTest, HttpErrorsAndUnreachableServer) {
  server_.FailSearchReadAfter(0, 502);
  OdooRpcClient c = Client();
  auto r = c.SearchRead("res.partner", json::array(), {}, 0, 0, "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("answered HTTP 502 to search_read on model res.partner"),
            std::string::npos)
      << r.status().message();
  server_.ClearFailure();

  OdooRpcClient wrong_path(NewCurlHttpClient(), {server_.url() + "/web", "odoo", "admin", "x"});
  auto v = wrong_path.Version();
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("HTTP 404"), std::string::npos) << v.status().message();

  const std::string url = server_.url();
  server_.Stop();
  OdooRpcClient gone(NewCurlHttpClient(), {url, "odoo", "admin", "secret"});
  auto g = gone.Authenticate();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(gone.last_problem(), CheckProblem::kUnreachable);
  EXPECT_NE(g.status().message().find("cannot reach Odoo at " + url), std::string::npos)
      << g.status().message();
}

TEST_F(OdooRpcClientTest, DomainOperators) {
  EXPECT_EQ(Ids(json::array()), (IdList{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Ids(json::parse(R"([["id", "=", 3]])")), (IdList{3}));
  EXPECT_EQ(Ids(json::parse(R"([["id", "!=", 3]])")), (IdList{1, 2, 4, 5, 6}));
  EXPECT_EQ(Ids(json::parse(R"([["id", ">", 4]])")), (IdList{5, 6}));
  EXPECT_EQ(Ids(json::parse(R"([["id", ">=", 4]])")), (IdList{4, 5, 6}));
  EXPECT_EQ(Ids(json::parse(R"([["id", "<", 2]])")), (IdList{1}));
  EXPECT_EQ(Ids(json::parse(R"([["id", "<=", 2]])")), (IdList{1, 2}));
  EXPECT_EQ(Ids(json::parse(R"([["id", "in", [2, 5, 9]]])")), (IdList{2, 5}));
  EXPECT_EQ(Ids(json::parse(R"([["id", "not in", [2, 5]]])")), (IdList{1, 3, 4, 6}));
  EXPECT_EQ(Ids(json::parse(R"([["name", "like", "Azure"]])")), (IdList{1}));
  EXPECT_EQ(Ids(json::parse(R"([["name", "ilike", "azure"]])")), (IdList{1, 6}));
  EXPECT_EQ(Ids(json::parse(R"([["name", "not ilike", "azure"]])")), (IdList{2, 3, 4, 5}));
  EXPECT_EQ(Ids(json::parse(R"([["name", "=like", "%Inc"]])")), (IdList{4}));
  EXPECT_EQ(Ids(json::parse(R"([["active", "=", false]])")), (IdList{4}));
  EXPECT_EQ(Ids(json::parse(R"([["parent_id", "=", false]])")), (IdList{1, 2, 3}));
  EXPECT_EQ(Ids(json::parse(R"([["parent_id", "=", 1]])")), (IdList{4, 5, 6}));
  EXPECT_EQ(Ids(json::parse(R"([["write_date", ">", "2024-01-04 10:00:00"]])")), (IdList{1, 2}));
  // Implicit '&' between terms, '|' and '!' prefix operators.
  EXPECT_EQ(Ids(json::parse(R"([["id", ">", 1], ["id", "<", 4]])")), (IdList{2, 3}));
  EXPECT_EQ(Ids(json::parse(R"(["|", ["id", "=", 1], ["id", "=", 6]])")), (IdList{1, 6}));
  EXPECT_EQ(Ids(json::parse(R"(["&", ["id", ">", 1], "|", ["id", "=", 2], ["id", "=", 6]])")),
            (IdList{2, 6}));
  EXPECT_EQ(Ids(json::parse(R"(["!", ["id", "<", 5]])")), (IdList{5, 6}));
  EXPECT_EQ(
      Ids(json::parse(
          R"(["|", "&", ["id", ">", 4], ["active", "=", true], ["name", "=", "Lumber Inc"]])")),
      (IdList{4, 5, 6}));
}

TEST_F(OdooRpcClientTest, ArchivedRecordsAreIncluded) {
  // search_read and search_count pass active_test: False; without it Odoo (and the stand-in)
  // would leave partner 4 (archived) out.
  EXPECT_EQ(Ids(json::array()), (IdList{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(server_.search_reads().back()["context"], json::parse(R"({"active_test": false})"));
  OdooRpcClient c = Client();
  auto plain =
      c.ExecuteKw("res.partner", "search", {XmlRpcValue::Array({})}, XmlRpcValue::Struct({}));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->items().size(), 5u);
  auto n = c.SearchCount("res.partner", json::array());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 6);
}

TEST_F(OdooRpcClientTest, OrderLimitOffsetAndCount) {
  EXPECT_EQ(Ids(json::array(), "write_date asc, id asc"), (IdList{6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(Ids(json::array(), "id desc", 2), (IdList{6, 5}));
  EXPECT_EQ(Ids(json::array(), "id desc", 2, 2), (IdList{4, 3}));
  EXPECT_EQ(Ids(json::array(), "id", 0, 5), (IdList{6}));
  EXPECT_EQ(Ids(json::array(), "parent_id desc, id"), (IdList{1, 2, 3, 4, 5, 6}));
  OdooRpcClient c = Client();
  auto n = c.SearchCount("res.partner", json::parse(R"([["id", ">", 2]])"));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 4);
  auto bad = c.SearchRead("res.partner", json::array(), {}, 0, 0, "id sideways");
  EXPECT_FALSE(bad.ok());
}

TEST_F(OdooRpcClientTest, FieldsAndValueShapes) {
  OdooRpcClient c = Client();
  auto r = c.SearchRead("res.partner", json::parse(R"([["id", "=", 5]])"),
                        {"parent_id", "credit", "active"}, 0, 0, "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->records.size(), 1u);
  const json& rec = r->records[0];
  EXPECT_EQ(rec.size(), 4u);  // id always comes along
  EXPECT_EQ(rec["parent_id"], json::array({1, "Azure Interior"}));
  EXPECT_DOUBLE_EQ(rec["credit"].get<double>(), 52.5);
  EXPECT_EQ(rec["active"], true);
  EXPECT_GT(r->bytes, 0);

  auto meta = c.SearchRead("ir.model.fields",
                           json::parse(R"([["model", "=", "res.partner"], ["store", "=", true]])"),
                           {"name", "ttype", "relation"}, 0, 0, "id");
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  ASSERT_EQ(meta->records.size(), 6u);
  EXPECT_EQ(meta->records[4]["name"], "parent_id");
  EXPECT_EQ(meta->records[4]["ttype"], "many2one");
  EXPECT_EQ(meta->records[4]["relation"], "res.partner");
  EXPECT_EQ(meta->records[0]["relation"], false);
}

}  // namespace
}  // namespace dew::connectors
