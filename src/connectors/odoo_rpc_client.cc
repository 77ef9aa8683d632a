#include "connectors/odoo_rpc_client.h"

#include "core/http_client.h"

namespace dew::connectors {

namespace {

// Odoo's fault codes (odoo/service/wsgi_server.py, odoo/http.py).
constexpr int64_t kFaultWarning = 2;       // UserError, e.g. an unknown model
constexpr int64_t kFaultAccessDenied = 3;  // AccessDenied: wrong uid/password
constexpr int64_t kFaultAccessError = 4;   // AccessError: no read right on the model

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A traceback's last line is the exception and its message; the rest is noise in a status.
// Other faults (UserError, AccessError …) are messages for people: kept whole, on one line.
std::string FaultMessage(const std::string& text) {
  std::string message = text;
  if (text.rfind("Traceback", 0) == 0) {
    size_t end = text.find_last_not_of(" \t\r\n");
    size_t start = end == std::string::npos ? std::string::npos : text.rfind('\n', end);
    message = end == std::string::npos
                  ? text
                  : text.substr(start == std::string::npos ? 0 : start + 1,
                                end + 1 - (start == std::string::npos ? 0 : start + 1));
  }
  std::string out;
  for (char c : message) {
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.size() > 500 ? out.substr(0, 500) + "..." : out;
}

}  // namespace

XmlRpcValue AllRecordsContext() {
  return XmlRpcValue::Struct({{"active_test", XmlRpcValue::Boolean(false)}});
}

namespace {

std::string StripSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

OdooRpcClient::OdooRpcClient(std::shared_ptr<HttpClient> http, OdooRpcConfig config)
    : http_(std::move(http)), config_(std::move(config)) {
  config_.url = StripSlash(config_.url);
}

std::string OdooRpcClient::Describe() const {
  return config_.url + ", database " + config_.database + " as " + config_.user;
}

Status OdooRpcClient::FaultStatus(int64_t code, const std::string& fault, const std::string& what) {
  const std::string message = FaultMessage(fault);
  const std::string where = "Odoo at " + Describe();
  if (code == kFaultAccessDenied || Contains(message, "AccessDenied")) {
    last_problem_ = CheckProblem::kAuthRefused;
    return Status::InvalidArgument(where + " refused " + what + ": " + message +
                                   " (check the login and password or API key)");
  }
  if (Contains(message, "database \"") && Contains(message, "does not exist")) {
    last_problem_ = CheckProblem::kMissingDatabase;
    return Status::NotFound(where + ": database " + config_.database + " does not exist (" +
                            message + ")");
  }
  if (Contains(message, "doesn't exist") || Contains(message, "does not exist") ||
      (Contains(message, "KeyError") && Contains(what, "model "))) {
    last_problem_ = CheckProblem::kMissingTable;
    return Status::NotFound(where + ": " + what + ": " + message);
  }
  if (code == kFaultAccessError || Contains(message, "AccessError")) {
    last_problem_ = CheckProblem::kPermissionDenied;
    return Status::InvalidArgument(where + ": " + what + ": the user may not read it: " + message);
  }
  last_problem_ = CheckProblem::kOther;
  (void)kFaultWarning;
  return Status::InvalidArgument(where + ": " + what + " failed (fault " + std::to_string(code) +
                                 "): " + message);
}

Result<XmlRpcValue> OdooRpcClient::Call(const std::string& service, const std::string& method,
                                        const std::vector<XmlRpcValue>& params,
                                        const std::string& what, int64_t* bytes) {
  HttpRequest request;
  request.method = "POST";
  request.url = config_.url + "/xmlrpc/2/" + service;
  request.headers = {{"Content-Type", "text/xml"}};
  request.body = EncodeMethodCall(method, params);
  request.timeout_ms = config_.timeout_ms;
  Result<HttpResponse> response = http_->Send(request);
  if (!response.ok()) {
    last_problem_ = CheckProblem::kUnreachable;
    return Status::IOError("cannot reach Odoo at " + config_.url + " (" + what +
                           "): " + response.status().message());
  }
  if (bytes) *bytes += static_cast<int64_t>(response->body.size());
  if (response->status != 200) {
    last_problem_ = response->status == 404 ? CheckProblem::kUnreachable : CheckProblem::kOther;
    std::string body = response->body.substr(0, 200);
    for (char& c : body) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    return Status::IOError(
        "Odoo at " + request.url + " answered HTTP " + std::to_string(response->status) + " to " +
        what + (response->status == 404 ? " (is auth.url the server's base URL?)" : "") +
        (body.empty() ? "" : ": " + body));
  }
  Result<XmlRpcResponse> decoded = DecodeMethodResponse(response->body);
  if (!decoded.ok()) {
    last_problem_ = CheckProblem::kOther;
    return decoded.status().WithContext("Odoo at " + request.url +
                                        " sent an unreadable answer to " + what);
  }
  if (decoded->is_fault) return FaultStatus(decoded->fault_code, decoded->fault_string, what);
  last_problem_ = CheckProblem::kNone;
  return std::move(decoded->value);
}

Result<nlohmann::json> OdooRpcClient::Version() {
  DEW_ASSIGN_OR_RETURN(XmlRpcValue v, Call("common", "version", {}, "common.version", nullptr));
  return v.ToJson();
}

Result<int64_t> OdooRpcClient::Authenticate() {
  if (uid_ > 0) return uid_;
  DEW_ASSIGN_OR_RETURN(
      XmlRpcValue v, Call("common", "authenticate",
                          {XmlRpcValue::String(config_.database), XmlRpcValue::String(config_.user),
                           XmlRpcValue::String(config_.password), XmlRpcValue::Struct({})},
                          "login " + config_.user, nullptr));
  if (v.type() != XmlRpcValue::Type::kInt || v.integer() <= 0) {
    last_problem_ = CheckProblem::kAuthRefused;
    return Status::InvalidArgument("Odoo at " + config_.url + " refused login '" + config_.user +
                                   "' on database " + config_.database +
                                   ": wrong login or password (authenticate returned " +
                                   v.ToJson().dump() + ")");
  }
  uid_ = v.integer();
  return uid_;
}

Result<XmlRpcValue> OdooRpcClient::ExecuteKw(const std::string& model, const std::string& method,
                                             const std::vector<XmlRpcValue>& args,
                                             const XmlRpcValue& kwargs) {
  DEW_ASSIGN_OR_RETURN(int64_t uid, Authenticate());
  return Call("object", "execute_kw",
              {XmlRpcValue::String(config_.database), XmlRpcValue::Int(uid),
               XmlRpcValue::String(config_.password), XmlRpcValue::String(model),
               XmlRpcValue::String(method), XmlRpcValue::Array(args), kwargs},
              method + " on model " + model, nullptr);
}

Result<OdooSearchRead> OdooRpcClient::SearchRead(const std::string& model,
                                                 const nlohmann::json& domain,
                                                 const std::vector<std::string>& fields,
                                                 int64_t limit, int64_t offset,
                                                 const std::string& order) {
  DEW_ASSIGN_OR_RETURN(int64_t uid, Authenticate());
  std::vector<XmlRpcValue::Member> kwargs;
  if (!fields.empty()) {
    std::vector<XmlRpcValue> names;
    for (const std::string& f : fields) names.push_back(XmlRpcValue::String(f));
    kwargs.emplace_back("fields", XmlRpcValue::Array(std::move(names)));
  }
  if (limit > 0) kwargs.emplace_back("limit", XmlRpcValue::Int(limit));
  if (offset > 0) kwargs.emplace_back("offset", XmlRpcValue::Int(offset));
  if (!order.empty()) kwargs.emplace_back("order", XmlRpcValue::String(order));
  kwargs.emplace_back("context", AllRecordsContext());
  OdooSearchRead out;
  DEW_ASSIGN_OR_RETURN(XmlRpcValue v,
                       Call("object", "execute_kw",
                            {XmlRpcValue::String(config_.database), XmlRpcValue::Int(uid),
                             XmlRpcValue::String(config_.password), XmlRpcValue::String(model),
                             XmlRpcValue::String("search_read"),
                             XmlRpcValue::Array({XmlRpcValue::FromJson(
                                 domain.is_null() ? nlohmann::json::array() : domain)}),
                             XmlRpcValue::Struct(std::move(kwargs))},
                            "search_read on model " + model, &out.bytes));
  if (v.type() != XmlRpcValue::Type::kArray) {
    return Status::InvalidArgument("Odoo at " + Describe() + ": search_read on model " + model +
                                   " returned " + v.TypeName() + ", expected an array");
  }
  out.records.reserve(v.items().size());
  for (const XmlRpcValue& record : v.items()) {
    if (record.type() != XmlRpcValue::Type::kStruct) {
      return Status::InvalidArgument("Odoo at " + Describe() + ": search_read on model " + model +
                                     " returned a " + record.TypeName() + " record");
    }
    out.records.push_back(record.ToJson());
  }
  return out;
}

Result<int64_t> OdooRpcClient::SearchCount(const std::string& model, const nlohmann::json& domain) {
  DEW_ASSIGN_OR_RETURN(
      XmlRpcValue v,
      ExecuteKw(model, "search_count",
                {XmlRpcValue::FromJson(domain.is_null() ? nlohmann::json::array() : domain)},
                XmlRpcValue::Struct({{"context", AllRecordsContext()}})));
  if (v.type() != XmlRpcValue::Type::kInt) {
    return Status::InvalidArgument("Odoo at " + Describe() + ": search_count on model " + model +
                                   " returned " + v.TypeName() + ", expected an int");
  }
  return v.integer();
}

}  // namespace dew::connectors
