#include "support/odoo_rpc_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>

#include "connectors/xmlrpc.h"

namespace dew::testing {

namespace {

using connectors::EncodeFault;
using connectors::EncodeMethodResponse;
using connectors::XmlRpcValue;
using json = nlohmann::json;

// Odoo's fault codes.
constexpr int64_t kApplicationError = 1;
constexpr int64_t kWarning = 2;
constexpr int64_t kAccessDenied = 3;
constexpr int64_t kAccessError = 4;

// What Odoo sends for an unexpected exception: the formatted traceback.
std::string Traceback(const std::string& exception) {
  return "Traceback (most recent call last):\n"
         "  File \"/usr/lib/python3/dist-packages/odoo/service/model.py\", line 156, in "
         "execute_cr\n    result = method(recs, *args, **kw)\n" +
         exception + "\n";
}

struct DomainError {
  std::string message;
};

bool Empty(const json& v) {
  return v.is_null() || (v.is_boolean() && !v.get<bool>());
}

// A many2one value [id, "name"] compares by its id.
json Scalar(const json& v) {
  if (v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_string()) return v[0];
  return v;
}

// -1, 0, 1; numbers numerically, strings bytewise; other combinations are unordered (nullopt).
std::optional<int> Compare(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get<std::string>().compare(b.get<std::string>());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_boolean() && b.is_boolean()) return int(a.get<bool>()) - int(b.get<bool>());
  return std::nullopt;
}

bool Equal(const json& a, const json& b) {
  if (Empty(a) || Empty(b)) return Empty(a) && Empty(b);
  auto c = Compare(a, b);
  return c && *c == 0;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// SQL LIKE with % and _.
bool Like(const std::string& text, const std::string& pattern, size_t t = 0, size_t p = 0) {
  while (p < pattern.size()) {
    if (pattern[p] == '%') {
      for (size_t k = t; k <= text.size(); ++k) {
        if (Like(text, pattern, k, p + 1)) return true;
      }
      return false;
    }
    if (t >= text.size() || (pattern[p] != '_' && pattern[p] != text[t])) return false;
    ++t;
    ++p;
  }
  return t == text.size();
}

const std::vector<std::string> kOperators = {"=",        "!=",        ">",      ">=",    "<",
                                             "<=",       "in",        "not in", "like",  "ilike",
                                             "not like", "not ilike", "=like",  "=ilike"};

// Checks a domain's shape, operators and field names; "" when fine, else Odoo's message.
std::string CheckDomain(const json& domain, const std::set<std::string>& fields,
                        const std::string& model) {
  if (!domain.is_array()) return "ValueError: Invalid domain " + domain.dump();
  for (const json& item : domain) {
    if (item.is_string()) {
      const std::string op = item.get<std::string>();
      if (op != "&" && op != "|" && op != "!") return "ValueError: Invalid leaf " + item.dump();
      continue;
    }
    if (!item.is_array() || item.size() != 3 || !item[0].is_string() || !item[1].is_string())
      return "ValueError: Invalid leaf " + item.dump();
    const std::string field = item[0].get<std::string>();
    const std::string op = item[1].get<std::string>();
    if (std::find(kOperators.begin(), kOperators.end(), op) == kOperators.end())
      return "ValueError: Invalid leaf " + item.dump();
    if (!fields.count(field))
      return "ValueError: Invalid field " + model + "." + field + " in leaf " + item.dump();
    if ((op == "in" || op == "not in") && !item[2].is_array())
      return "ValueError: Invalid leaf " + item.dump() + ": the value of '" + op +
             "' must be a list";
  }
  return "";
}

bool Leaf(const json& leaf, const json& record) {
  const std::string field = leaf[0].get<std::string>();
  const std::string op = leaf[1].get<std::string>();
  const json& want = leaf[2];
  const json have = record.contains(field) ? Scalar(record.at(field)) : json(false);
  if (op == "=") return Equal(have, Scalar(want));
  if (op == "!=") return !Equal(have, Scalar(want));
  if (op == "in" || op == "not in") {
    bool found = false;
    for (const json& w : want) found = found || Equal(have, w);
    return op == "in" ? found : !found;
  }
  if (op == ">" || op == ">=" || op == "<" || op == "<=") {
    if (Empty(have)) return false;
    auto c = Compare(have, want);
    if (!c) return false;
    if (op == ">") return *c > 0;
    if (op == ">=") return *c >= 0;
    if (op == "<") return *c < 0;
    return *c <= 0;
  }
  // like family: on text (a many2one matches by its display name, as in Odoo).
  json text_value = record.contains(field) ? record.at(field) : json(false);
  if (text_value.is_array() && text_value.size() == 2) text_value = text_value[1];
  const bool negate = op.rfind("not ", 0) == 0;
  const bool insensitive = op.find("ilike") != std::string::npos;
  const bool raw = op[0] == '=';
  if (!text_value.is_string()) return negate;
  std::string text = text_value.get<std::string>();
  std::string pattern = want.is_string() ? want.get<std::string>() : want.dump();
  if (!raw) pattern = "%" + pattern + "%";
  if (insensitive) {
    text = Lower(text);
    pattern = Lower(pattern);
  }
  return Like(text, pattern) != negate;
}

// Evaluates the term at *pos (a prefix operator with its operands, or a leaf).
bool Term(const json& domain, size_t* pos, const json& record) {
  const json& item = domain[(*pos)++];
  if (item.is_string()) {
    const std::string op = item.get<std::string>();
    if (op == "!") return !Term(domain, pos, record);
    bool a = Term(domain, pos, record);
    bool b = Term(domain, pos, record);
    return op == "&" ? (a && b) : (a || b);
  }
  return Leaf(item, record);
}

bool Matches(const json& domain, const json& record) {
  size_t pos = 0;
  while (pos < domain.size()) {
    if (!Term(domain, &pos, record)) return false;
  }
  return true;
}

// Checks that every prefix operator has its operands (Term would read past the end).
bool Complete(const json& domain) {
  int64_t open = 1;
  for (const json& item : domain) {
    if (open == 0) open = 1;  // implicit '&' between top-level terms
    if (item.is_string() && (item == "&" || item == "|")) {
      open += 1;
    } else if (!(item.is_string() && item == "!")) {
      open -= 1;
    }
  }
  return open == 0 || domain.empty();
}

struct OrderKey {
  std::string field;
  bool descending = false;
};

// Parses "write_date asc, id desc"; "" when fine, else Odoo's message.
std::string ParseOrder(const std::string& order, const std::set<std::string>& fields,
                       const std::string& model, std::vector<OrderKey>* keys) {
  size_t start = 0;
  while (start <= order.size()) {
    size_t comma = order.find(',', start);
    std::string part =
        order.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::vector<std::string> words;
    size_t i = 0;
    while (i < part.size()) {
      while (i < part.size() && std::isspace(static_cast<unsigned char>(part[i]))) ++i;
      size_t b = i;
      while (i < part.size() && !std::isspace(static_cast<unsigned char>(part[i]))) ++i;
      if (i > b) words.push_back(part.substr(b, i - b));
    }
    if (!words.empty()) {
      const std::string dir = words.size() > 1 ? Lower(words[1]) : "asc";
      if (words.size() > 2 || (dir != "asc" && dir != "desc"))
        return "ValueError: Invalid \"order\" specified (" + order + ")";
      if (!fields.count(words[0]))
        return "ValueError: Invalid field '" + words[0] + "' on model '" + model + "'";
      keys->push_back({words[0], dir == "desc"});
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return "";
}

// PostgreSQL's default: NULLs sort last ascending, first descending.
bool Before(const json& a, const json& b, const std::vector<OrderKey>& keys) {
  for (const OrderKey& k : keys) {
    const json x = a.contains(k.field) ? Scalar(a.at(k.field)) : json(false);
    const json y = b.contains(k.field) ? Scalar(b.at(k.field)) : json(false);
    const bool ex = Empty(x);
    const bool ey = Empty(y);
    if (ex != ey) return k.descending ? ex : ey;
    if (ex) continue;
    auto c = Compare(x, y);
    if (!c || *c == 0) continue;
    return k.descending ? *c > 0 : *c < 0;
  }
  return false;
}

}  // namespace

OdooRpcServer::OdooRpcServer(std::string database) : database_(std::move(database)) {}

OdooRpcServer::~OdooRpcServer() {
  Stop();
}

Status OdooRpcServer::Start() {
  server_ = std::make_unique<httplib::Server>();
  for (const char* service : {"common", "object"}) {
    const std::string name = service;
    server_->Post(
        "/xmlrpc/2/" + name, [this, name](const httplib::Request& req, httplib::Response& res) {
          Reply reply = Handle(name, req.body);
          res.status = reply.http_status;
          res.set_content(reply.body, reply.http_status == 200 ? "text/xml" : "text/html");
        });
  }
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return Status::IOError("stand-in Odoo server: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // cpp-httplib 0.11 has no wait_until_ready; stop() before listening starts would be lost.
  while (!server_->is_running()) std::this_thread::yield();
  return Status::OK();
}

void OdooRpcServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string OdooRpcServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

int64_t OdooRpcServer::AddUser(const std::string& login, const std::string& password) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t uid = static_cast<int64_t>(users_.size()) + 2;  // 1 is OdooBot
  users_[login] = {password, uid};
  return uid;
}

void OdooRpcServer::Forbid(const std::string& login, const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  forbidden_.insert({login, model});
}

void OdooRpcServer::AddModel(const std::string& model, std::vector<OdooField> fields) {
  std::lock_guard<std::mutex> lock(mu_);
  bool has_id = false;
  for (const OdooField& f : fields) has_id = has_id || f.name == "id";
  if (!has_id) fields.insert(fields.begin(), OdooField{"id", "integer", "", true, true});
  models_[model].fields = std::move(fields);
}

void OdooRpcServer::Put(const std::string& model, const json& record) {
  std::lock_guard<std::mutex> lock(mu_);
  models_[model].records[record.at("id").get<int64_t>()] = record;
}

void OdooRpcServer::Remove(const std::string& model, int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  models_[model].records.erase(id);
}

void OdooRpcServer::FailSearchReadAfter(int successful, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_after_ = successful;
  fail_status_ = status;
}

void OdooRpcServer::SetDelayMs(int ms) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ms_ = ms;
}

void OdooRpcServer::ClearFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_after_ = -1;
}

int64_t OdooRpcServer::search_read_calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return search_read_calls_;
}

std::vector<json> OdooRpcServer::search_reads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return search_reads_;
}

OdooRpcServer::Reply OdooRpcServer::Handle(const std::string& service, const std::string& body) {
  auto call = connectors::DecodeMethodCall(body);
  if (!call.ok())
    return {200, EncodeFault(kApplicationError, Traceback("xml.parsers.expat."
                                                          "ExpatError: " +
                                                          call.status().message()))};
  json params = json::array();
  for (const XmlRpcValue& p : call->params) params.push_back(p.ToJson());
  int delay_ms = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    delay_ms = service == "object" ? delay_ms_ : 0;
  }
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  std::lock_guard<std::mutex> lock(mu_);
  if (service == "common") return Common(call->method, params);
  if (call->method != "execute_kw" && call->method != "execute")
    return {200, EncodeFault(kApplicationError,
                             Traceback("NameError: method not available " + call->method))};
  return Object(params);
}

OdooRpcServer::Reply OdooRpcServer::Common(const std::string& method, const json& params) {
  if (method == "version") {
    return {200, EncodeMethodResponse(
                     XmlRpcValue::FromJson({{"server_version", "17.0"},
                                            {"server_version_info", {17, 0, 0, "final", 0, ""}},
                                            {"server_serie", "17.0"},
                                            {"protocol_version", 1}}))};
  }
  if (method == "authenticate" || method == "login") {
    if (params.size() < 3 || !params[0].is_string())
      return {200, EncodeFault(kApplicationError,
                               Traceback("TypeError: authenticate() missing required arguments"))};
    if (params[0].get<std::string>() != database_) {
      return {200, EncodeFault(kApplicationError,
                               Traceback("psycopg2.OperationalError: connection to server on "
                                         "socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: "
                                         "FATAL:  database \"" +
                                         params[0].get<std::string>() + "\" does not exist"))};
    }
    auto it = params[1].is_string() ? users_.find(params[1].get<std::string>()) : users_.end();
    if (it == users_.end() || params[2] != it->second.first)
      return {200, EncodeMethodResponse(XmlRpcValue::Boolean(false))};
    return {200, EncodeMethodResponse(XmlRpcValue::Int(it->second.second))};
  }
  return {200,
          EncodeFault(kApplicationError, Traceback("NameError: method not available " + method))};
}

const OdooRpcServer::Model* OdooRpcServer::FindModel(const std::string& name,
                                                     Model* scratch) const {
  if (name == "ir.model") {
    scratch->fields = {{"id", "integer"}, {"model", "char"}, {"name", "char"}};
    int64_t id = 1;
    for (const auto& [model, m] : models_) {
      scratch->records[id] = {{"id", id}, {"model", model}, {"name", model}};
      ++id;
    }
    return scratch;
  }
  if (name == "ir.model.fields") {
    scratch->fields = {{"id", "integer"},       {"model", "char"},
                       {"name", "char"},        {"ttype", "selection"},
                       {"relation", "char"},    {"store", "boolean"},
                       {"required", "boolean"}, {"field_description", "char"}};
    int64_t id = 1;
    for (const auto& [model, m] : models_) {
      for (const OdooField& f : m.fields) {
        scratch->records[id] = {{"id", id},
                                {"model", model},
                                {"name", f.name},
                                {"ttype", f.type},
                                {"relation", f.relation.empty() ? json(false) : json(f.relation)},
                                {"store", f.store},
                                {"required", f.required},
                                {"field_description", f.name}};
        ++id;
      }
    }
    return scratch;
  }
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : &it->second;
}

OdooRpcServer::Reply OdooRpcServer::Object(const json& params) {
  if (params.size() < 5 || !params[0].is_string() || !params[1].is_number_integer() ||
      !params[3].is_string() || !params[4].is_string())
    return {200, EncodeFault(kApplicationError,
                             Traceback("TypeError: execute_kw() missing required arguments"))};
  const std::string db = params[0].get<std::string>();
  const int64_t uid = params[1].get<int64_t>();
  const std::string model_name = params[3].get<std::string>();
  const std::string method = params[4].get<std::string>();
  const json args = params.size() > 5 && params[5].is_array() ? params[5] : json::array();
  const json kwargs = params.size() > 6 && params[6].is_object() ? params[6] : json::object();
  if (db != database_)
    return {200, EncodeFault(kApplicationError,
                             Traceback("psycopg2.OperationalError: FATAL:  database \"" + db +
                                       "\" does not exist"))};
  std::string login;
  for (const auto& [l, user] : users_) {
    if (user.second == uid && params[2] == user.first) login = l;
  }
  if (login.empty()) return {200, EncodeFault(kAccessDenied, "Access Denied")};
  if (method == "search_read") {
    ++search_read_calls_;
    search_reads_.push_back({{"model", model_name},
                             {"domain", args.empty() ? json::array() : args[0]},
                             {"fields", kwargs.value("fields", json::array())},
                             {"limit", kwargs.value("limit", json(0))},
                             {"offset", kwargs.value("offset", json(0))},
                             {"order", kwargs.value("order", json(""))},
                             {"context", kwargs.value("context", json::object())}});
    if (fail_after_ >= 0 && search_read_calls_ > fail_after_)
      return {fail_status_, "<html><body>502 Bad Gateway (stand-in failure)</body></html>"};
  }
  Model scratch;
  const Model* model = FindModel(model_name, &scratch);
  if (model == nullptr)
    return {200, EncodeFault(kWarning, "Object " + model_name + " doesn't exist")};
  if (forbidden_.count({login, model_name}))
    return {200, EncodeFault(kAccessError,
                             "You are not allowed to access '" + model_name + "' (" + model_name +
                                 ") records.\n\nThis operation is allowed for the following "
                                 "groups:\n\t- Accounting/Billing")};
  if (method != "search_read" && method != "search_count" && method != "search")
    return {200, EncodeFault(kApplicationError,
                             Traceback("AttributeError: The method '" + method +
                                       "' does not exist on the model '" + model_name + "'"))};

  std::set<std::string> field_names;
  for (const OdooField& f : model->fields) field_names.insert(f.name);
  const json domain = args.empty() ? json::array() : args[0];
  std::string problem = CheckDomain(domain, field_names, model_name);
  if (problem.empty() && !Complete(domain))
    problem = "ValueError: Invalid domain " + domain.dump() + ": an operator lacks operands";
  if (!problem.empty()) return {200, EncodeFault(kApplicationError, Traceback(problem))};

  // Odoo leaves archived records out unless the domain mentions `active` or the context says
  // active_test: False.
  bool active_test = field_names.count("active") > 0;
  const json context = kwargs.value("context", json::object());
  if (context.is_object() && context.value("active_test", true) == false) active_test = false;
  for (const json& item : domain) {
    if (item.is_array() && !item.empty() && item[0] == "active") active_test = false;
  }
  std::vector<const json*> rows;
  for (const auto& [id, record] : model->records) {
    if (active_test && record.value("active", true) == false) continue;
    if (Matches(domain, record)) rows.push_back(&record);
  }
  if (method == "search_count")
    return {200, EncodeMethodResponse(XmlRpcValue::Int(static_cast<int64_t>(rows.size())))};

  std::vector<OrderKey> order;
  const std::string order_text = kwargs.value("order", json("")).is_string()
                                     ? kwargs.value("order", json("")).get<std::string>()
                                     : "";
  problem = ParseOrder(order_text, field_names, model_name, &order);
  if (!problem.empty()) return {200, EncodeFault(kApplicationError, Traceback(problem))};
  if (order.empty()) order.push_back({"id", false});
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const json* a, const json* b) { return Before(*a, *b, order); });
  const int64_t offset = kwargs.value("offset", json(0)).is_number_integer()
                             ? kwargs.value("offset", json(0)).get<int64_t>()
                             : 0;
  const json limit_value = kwargs.value("limit", json(nullptr));
  const int64_t limit = limit_value.is_number_integer() ? limit_value.get<int64_t>() : 0;
  std::vector<const json*> page;
  for (size_t i = static_cast<size_t>(std::max<int64_t>(offset, 0)); i < rows.size(); ++i) {
    if (limit > 0 && static_cast<int64_t>(page.size()) >= limit) break;
    page.push_back(rows[i]);
  }
  if (method == "search") {
    json ids = json::array();
    for (const json* r : page) ids.push_back(r->at("id"));
    return {200, EncodeMethodResponse(XmlRpcValue::FromJson(ids))};
  }

  std::vector<std::string> fields;
  const json requested = kwargs.value("fields", json::array());
  if (requested.is_array() && !requested.empty()) {
    fields.push_back("id");
    for (const json& f : requested) {
      const std::string name = f.is_string() ? f.get<std::string>() : f.dump();
      if (!field_names.count(name))
        return {200, EncodeFault(kApplicationError, Traceback("ValueError: Invalid field '" + name +
                                                              "' on model '" + model_name + "'"))};
      if (name != "id") fields.push_back(name);
    }
  } else {
    for (const OdooField& f : model->fields) fields.push_back(f.name);
  }
  std::vector<XmlRpcValue> out;
  out.reserve(page.size());
  for (const json* r : page) {
    std::vector<XmlRpcValue::Member> members;
    for (const std::string& f : fields)
      members.emplace_back(f, XmlRpcValue::FromJson(r->contains(f) ? r->at(f) : json(false)));
    out.push_back(XmlRpcValue::Struct(std::move(members)));
  }
  return {200, EncodeMethodResponse(XmlRpcValue::Array(std::move(out)))};
}

}  // namespace dew::testing
