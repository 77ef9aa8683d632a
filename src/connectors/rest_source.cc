#include "connectors/rest_source.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "connectors/bronze_landing.h"
#include "connectors/json_records.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "engine/connection.h"

namespace dew::connectors {

namespace {

using json = nlohmann::json;

const std::vector<std::string> kRestKeys = {"base_url",     "headers",        "pagination",
                                            "records_path", "rate_limit",     "retry",
                                            "timeout",      "pages_per_batch"};
const std::vector<std::string> kPaginationKeys = {"type",        "page_param",  "start_page",
                                                  "size_param",  "page_size",   "offset_param",
                                                  "limit_param", "cursor_path", "cursor_param"};
const std::vector<std::string> kPaginationTypes = {"none", "page", "offset", "cursor",
                                                   "link_header"};
const std::vector<std::string> kStreamKeys = {"path", "params", "records_path", "incremental_param",
                                              "pagination"};

//! Reads a `pagination:` block at `pointer` over `base` (the connection's, for a stream).
Status ParsePagination(const RestSpecReader& r, const std::string& pointer, PaginationConfig* c) {
  if (!r.Has(pointer)) return Status::OK();
  DEW_RETURN_IF_ERROR(r.CheckKeys(pointer, kPaginationKeys));
  DEW_ASSIGN_OR_RETURN(c->type, r.Choice(pointer + "/type", kPaginationTypes, c->type));
  if (r.Has(pointer + "/page_param")) {
    DEW_ASSIGN_OR_RETURN(c->page_param, r.String(pointer + "/page_param"));
  }
  DEW_ASSIGN_OR_RETURN(c->start_page, r.Int(pointer + "/start_page", c->start_page, 0));
  DEW_ASSIGN_OR_RETURN(c->page_size, r.Int(pointer + "/page_size", c->page_size, 1));
  if (r.Has(pointer + "/offset_param")) {
    DEW_ASSIGN_OR_RETURN(c->offset_param, r.String(pointer + "/offset_param"));
  }
  for (const char* key : {"/size_param", "/limit_param"}) {
    if (r.Has(pointer + key)) {
      DEW_ASSIGN_OR_RETURN(c->size_param, r.String(pointer + key));
    }
  }
  if (c->size_param.empty() && c->page_size > 0) {
    c->size_param = c->type == "page" ? "per_page" : c->type == "link_header" ? "" : "limit";
  }
  if (r.Has(pointer + "/cursor_path")) {
    DEW_ASSIGN_OR_RETURN(c->cursor_path, r.String(pointer + "/cursor_path"));
  }
  if (r.Has(pointer + "/cursor_param")) {
    DEW_ASSIGN_OR_RETURN(c->cursor_param, r.String(pointer + "/cursor_param"));
  }
  if (c->type == "cursor" && c->cursor_path.empty())
    return r.Error(pointer + "/cursor_path",
                   "missing required field (cursor pagination reads the next cursor from it)");
  return Status::OK();
}

std::string Truncate(const std::string& text, size_t n) {
  return text.size() <= n ? text : text.substr(0, n) + "…";
}

std::string CursorText(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

//! Collects the resolved values of `block`'s mapping at `pointer` that were ${env:…} references.
void NoteSecrets(const SpecBlock& block, const std::string& pointer,
                 const std::vector<std::pair<std::string, std::string>>& resolved,
                 std::vector<std::string>* secrets) {
  for (const auto& [key, value] : resolved) {
    const json* raw = nullptr;
    try {
      raw = &block.value.at(json::json_pointer(pointer)).at(key);
    } catch (const json::exception&) {
      continue;
    }
    if (raw->is_string() && raw->get<std::string>().find("${env:") != std::string::npos)
      secrets->push_back(value);
  }
}

bool IsRetryableStatus(int status) {
  return status == 429 || status >= 500;
}

}  // namespace

bool CursorLess(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() < b.get<double>();
  return CursorText(a) < CursorText(b);
}

Result<RestConfig> ParseRestConfig(const ConnectionSpec& spec,
                                   const std::map<std::string, std::string>& env) {
  RestConfig c;
  c.source = spec.name;
  RestSpecReader r(spec.options, env);
  if (spec.options.empty())
    return Status::InvalidArgument(spec.file +
                                   ": rest: missing required block (base_url, "
                                   "pagination, streams' paths)");
  DEW_RETURN_IF_ERROR(r.CheckKeys("", kRestKeys));
  DEW_ASSIGN_OR_RETURN(c.base_url, r.String("/base_url", true));
  if (c.base_url.rfind("http://", 0) != 0 && c.base_url.rfind("https://", 0) != 0)
    return r.Error("/base_url", "expected an http:// or https:// URL, got '" + c.base_url + "'");
  while (!c.base_url.empty() && c.base_url.back() == '/') c.base_url.pop_back();
  DEW_ASSIGN_OR_RETURN(c.headers, r.StringMap("/headers"));
  NoteSecrets(spec.options, "/headers", c.headers, &c.secrets);
  PaginationConfig pagination;
  DEW_RETURN_IF_ERROR(ParsePagination(r, "/pagination", &pagination));
  DEW_ASSIGN_OR_RETURN(std::string records_path, r.String("/records_path"));
  DEW_RETURN_IF_ERROR(r.CheckKeys("/rate_limit", {"requests_per_minute", "max_requests"}));
  DEW_ASSIGN_OR_RETURN(c.budget.requests_per_minute,
                       r.Int("/rate_limit/requests_per_minute", 0, 0));
  DEW_ASSIGN_OR_RETURN(c.budget.max_requests, r.Int("/rate_limit/max_requests", 0, 0));
  DEW_RETURN_IF_ERROR(
      r.CheckKeys("/retry", {"max_attempts", "base_delay", "max_delay", "max_retry_after"}));
  DEW_ASSIGN_OR_RETURN(int64_t attempts, r.Int("/retry/max_attempts", c.retry.max_attempts, 1));
  if (attempts > 100) return r.Error("/retry/max_attempts", "must be at most 100");
  c.retry.max_attempts = static_cast<int>(attempts);
  DEW_ASSIGN_OR_RETURN(c.retry.base_delay_ms,
                       r.DurationMillis("/retry/base_delay", c.retry.base_delay_ms));
  DEW_ASSIGN_OR_RETURN(c.retry.max_delay_ms,
                       r.DurationMillis("/retry/max_delay", c.retry.max_delay_ms));
  if (c.retry.max_delay_ms < c.retry.base_delay_ms)
    return r.Error("/retry/max_delay", "must not be less than retry.base_delay");
  DEW_ASSIGN_OR_RETURN(c.retry.max_retry_after_ms,
                       r.DurationMillis("/retry/max_retry_after", c.retry.max_retry_after_ms));
  DEW_ASSIGN_OR_RETURN(c.timeout_ms, r.DurationMillis("/timeout", c.timeout_ms));
  if (c.timeout_ms <= 0) return r.Error("/timeout", "must be positive");
  DEW_ASSIGN_OR_RETURN(c.pages_per_batch, r.Int("/pages_per_batch", 1, 1));

  for (const StreamSpec& s : spec.streams) {
    RestStreamConfig st;
    st.name = s.name;
    st.sync_mode = s.sync_mode;
    st.cursor_field = s.cursor_field;
    st.primary_key = s.primary_key;
    st.records_path = records_path;
    st.pagination = pagination;
    RestSpecReader sr(s.options, env);
    DEW_RETURN_IF_ERROR(sr.CheckKeys("", kStreamKeys));
    DEW_ASSIGN_OR_RETURN(st.path, sr.String("/path", true));
    if (st.path.empty() || st.path[0] != '/')
      return sr.Error("/path", "expected a path starting with '/', got '" + st.path + "'");
    DEW_ASSIGN_OR_RETURN(st.params, sr.StringMap("/params"));
    NoteSecrets(s.options, "/params", st.params, &c.secrets);
    if (sr.Has("/records_path")) {
      DEW_ASSIGN_OR_RETURN(st.records_path, sr.String("/records_path"));
    }
    DEW_ASSIGN_OR_RETURN(st.incremental_param, sr.String("/incremental_param"));
    if (!st.incremental_param.empty() && st.sync_mode != "incremental")
      return sr.Error("/incremental_param",
                      "only an incremental stream sends it (sync_mode is " + st.sync_mode + ")");
    DEW_RETURN_IF_ERROR(ParsePagination(sr, "/pagination", &st.pagination));
    c.streams.push_back(std::move(st));
  }
  return c;
}

Result<std::unique_ptr<Source>> MakeRestSource(const ConnectionSpec& spec, const SourceEnv& env) {
  DEW_ASSIGN_OR_RETURN(RestConfig config, ParseRestConfig(spec, env.env));
  if (!env.http || !env.clock)
    return Status::InvalidArgument(spec.file +
                                   ": the rest source needs an HTTP client and a clock");
  DEW_ASSIGN_OR_RETURN(
      std::unique_ptr<RestAuth> auth,
      RestAuth::FromSpec(spec.auth_options, env.env, env.http.get(), env.clock.get()));
  if (!env.spool_dir.empty()) config.spool_dir = env.spool_dir;
  auth->AddSecrets(config.secrets);
  std::unique_ptr<Source> source =
      std::make_unique<RestSource>(std::move(config), std::move(auth), env.http, env.clock);
  return source;
}

RestSource::RestSource(RestConfig config, std::unique_ptr<RestAuth> auth,
                       std::shared_ptr<HttpClient> http, std::shared_ptr<Clock> clock)
    : config_(std::move(config)),
      auth_(std::move(auth)),
      http_(std::move(http)),
      clock_(std::move(clock)),
      budget_(config_.budget, clock_.get()),
      jitter_(config_.jitter_seed != 0 ? config_.jitter_seed : std::random_device{}()) {}

json RestSource::Spec() const {
  return json::parse(R"({
    "type": "object",
    "required": ["base_url"],
    "properties": {
      "base_url": {"type": "string", "format": "uri"},
      "headers": {"type": "object", "additionalProperties": {"type": "string"}},
      "pagination": {"type": "object", "properties": {
        "type": {"enum": ["none", "page", "offset", "cursor", "link_header"]},
        "page_param": {"type": "string"}, "start_page": {"type": "integer"},
        "size_param": {"type": "string"}, "page_size": {"type": "integer"},
        "offset_param": {"type": "string"}, "limit_param": {"type": "string"},
        "cursor_path": {"type": "string"}, "cursor_param": {"type": "string"}}},
      "records_path": {"type": "string"},
      "rate_limit": {"type": "object", "properties": {
        "requests_per_minute": {"type": "integer"}, "max_requests": {"type": "integer"}}},
      "retry": {"type": "object", "properties": {
        "max_attempts": {"type": "integer"}, "base_delay": {"type": "string"},
        "max_delay": {"type": "string"}, "max_retry_after": {"type": "string"}}},
      "timeout": {"type": "string"},
      "pages_per_batch": {"type": "integer"},
      "auth": {"type": "object", "properties": {
        "type": {"enum": ["none", "bearer", "basic", "api_key", "oauth2_client_credentials"]}}},
      "stream": {"type": "object", "required": ["path"], "properties": {
        "path": {"type": "string"}, "params": {"type": "object"},
        "records_path": {"type": "string"}, "incremental_param": {"type": "string"},
        "pagination": {"type": "object"}}}
    }
  })");
}

const RestStreamConfig* RestSource::FindStream(const std::string& name) const {
  for (const RestStreamConfig& s : config_.streams) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

int64_t RestSource::BackoffMillis(int retry) {
  // Full jitter (a uniform wait below the exponential cap) spreads retries of many clients.
  int64_t cap = config_.retry.base_delay_ms;
  for (int i = 1; i < retry && cap < config_.retry.max_delay_ms; ++i) cap *= 2;
  cap = std::min(cap, config_.retry.max_delay_ms);
  if (cap <= 0) return 0;
  return std::uniform_int_distribution<int64_t>(0, cap)(jitter_);
}

Result<HttpResponse> RestSource::Send(HttpRequest request) {
  auth_refused_ = false;
  last_http_status_ = 0;
  const std::string what = request.method + " " + auth_->Redact(request.url);
  bool refreshed_after_401 = false;
  std::string last_problem;
  for (int attempt = 1; attempt <= config_.retry.max_attempts; ++attempt) {
    if (!budget_.Acquire()) return Status::Interrupted(budget_.ExhaustedMessage());
    HttpRequest sent = request;
    Status applied = auth_->Apply(&sent);
    if (!applied.ok()) {
      if (auth_->refused()) {
        auth_refused_ = true;
        return applied;
      }
      last_problem = applied.message();
    } else {
      Result<HttpResponse> got = http_->Send(sent);
      if (!got.ok()) {
        last_http_status_ = 0;
        last_problem = auth_->Redact(got.status().message());
      } else {
        budget_.Observe(*got);
        const int status = got->status;
        last_http_status_ = status;
        if (status >= 200 && status < 300) return std::move(*got);
        const std::string body = auth_->Redact(Truncate(got->body, 300));
        last_problem =
            what + ": HTTP " + std::to_string(status) + (body.empty() ? "" : ": " + body);
        if (status == 401 && !refreshed_after_401 && auth_->Invalidate()) {
          // The token may have been revoked or expired early: one fresh token, no wait.
          refreshed_after_401 = true;
          --attempt;
          continue;
        }
        if (status == 401 || status == 403) {
          auth_refused_ = true;
          return Status::InvalidArgument(what + ": the API refused the credentials (HTTP " +
                                         std::to_string(status) + ")" +
                                         (body.empty() ? "" : ": " + body));
        }
        if (!IsRetryableStatus(status)) {
          // A later sync attempt cannot fix a wrong path or request; a timeout or conflict
          // may pass.
          if (status == 404 || status == 410) return Status::NotFound(last_problem);
          if (status >= 400 && status < 500 && status != 408 && status != 409 && status != 425)
            return Status::InvalidArgument(last_problem);
          return Status::IOError(last_problem);
        }
        if (attempt == config_.retry.max_attempts) break;
        if (status == 429 || status == 503) {
          const std::string header = got->Header("Retry-After");
          if (std::optional<int64_t> wait = ParseRetryAfter(header, clock_->NowMillis())) {
            if (*wait > config_.retry.max_retry_after_ms)
              return Status::IOError(last_problem + " (Retry-After " + header +
                                     " exceeds rest.retry.max_retry_after)");
            clock_->SleepMillis(*wait);
            continue;
          }
        }
      }
    }
    if (attempt < config_.retry.max_attempts) clock_->SleepMillis(BackoffMillis(attempt));
  }
  return Status::IOError(last_problem + " (gave up after " +
                         std::to_string(config_.retry.max_attempts) + " attempts)");
}

std::string RestSource::BuildUrl(const RestStreamConfig& stream, const PagePosition& position,
                                 const std::string& since) const {
  std::string url = position.url;
  if (url.empty()) url = config_.base_url + stream.path;
  std::vector<std::pair<std::string, std::string>> params;
  // A Link URL carries the server's own query; only our paging-independent extras go on it.
  if (position.url.empty()) {
    params = stream.params;
    if (!since.empty() && !stream.incremental_param.empty())
      params.emplace_back(stream.incremental_param, since);
  }
  params.insert(params.end(), position.params.begin(), position.params.end());
  for (const auto& [k, v] : params) {
    url += (url.find('?') == std::string::npos ? "?" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
  }
  return url;
}

Result<RestSource::Page> RestSource::FetchPage(const RestStreamConfig& stream,
                                               const PagePosition& position,
                                               const std::string& since, bool first) {
  HttpRequest req;
  req.url = BuildUrl(stream, position, since);
  req.headers = config_.headers;
  req.timeout_ms = config_.timeout_ms;
  Page page;
  page.url = auth_->Redact(req.url);
  DEW_ASSIGN_OR_RETURN(page.response, Send(req));
  try {
    page.body = page.response.body.empty() ? json() : json::parse(page.response.body);
  } catch (const json::exception& e) {
    return Status::IOError("GET " + page.url + ": the response is not JSON (" + e.what() +
                           "): " + auth_->Redact(Truncate(page.response.body, 200)));
  }
  page.records = JsonAtPath(page.body, stream.records_path);
  if (page.records.is_null()) {
    if (first && !stream.records_path.empty()) {
      std::string keys;
      if (page.body.is_object()) {
        for (const auto& [k, v] : page.body.items()) keys += (keys.empty() ? "" : ", ") + k;
      }
      return Status::NotFound("GET " + page.url + ": no records at records_path '" +
                              stream.records_path + "' (the response has " +
                              (keys.empty() ? "no keys" : "keys: " + keys) + ")");
    }
    page.records = json::array();
  } else if (!page.records.is_array()) {
    page.records = json::array({page.records});
  }
  return page;
}

Status RestSource::Check(const std::vector<std::string>& streams, CheckProblem* problem) {
  CheckProblem ignored;
  if (problem == nullptr) problem = &ignored;
  *problem = CheckProblem::kNone;
  std::vector<const RestStreamConfig*> todo;
  for (const std::string& name : streams) {
    const RestStreamConfig* s = FindStream(name);
    if (s == nullptr) {
      *problem = CheckProblem::kMissingTable;
      return Status::NotFound("connection '" + config_.source + "' has no stream '" + name + "'");
    }
    todo.push_back(s);
  }
  if (streams.empty()) {
    for (const RestStreamConfig& s : config_.streams) todo.push_back(&s);
  }
  for (const RestStreamConfig* s : todo) {
    Result<Page> page = FetchPage(*s, RestPaginator(s->pagination).First(), "", true);
    if (page.ok()) continue;
    const Status& st = page.status();
    if (auth_refused_) {
      *problem = CheckProblem::kAuthRefused;
    } else if (st.IsNotFound() || last_http_status_ == 404) {
      *problem = CheckProblem::kMissingTable;
    } else if (last_http_status_ == 0 && st.code() == Status::Code::kIOError) {
      *problem = CheckProblem::kUnreachable;
    } else {
      *problem = CheckProblem::kOther;
    }
    return st.WithContext("stream '" + s->name + "'");
  }
  return Status::OK();
}

Result<StreamInfo> RestSource::DescribeOne(const RestStreamConfig& s) {
  DEW_ASSIGN_OR_RETURN(Page page, FetchPage(s, RestPaginator(s.pagination).First(), "", true));
  StreamInfo info;
  info.name = s.name;
  info.primary_key = s.primary_key;
  // Typed exactly as Read lands them (the JSON buffer's inference), so the sync engine's drift
  // check compares like with like.
  JsonRecordBuffer buffer(config_.spool_dir, {});
  std::map<std::string, std::string> kinds;  // key → JSON kind of its non-null values
  for (const json& rec : page.records) {
    const json record = rec.is_object() ? rec : json{{"value", rec}};
    for (const auto& [key, value] : record.items()) {
      if (value.is_null()) continue;
      const std::string kind = value.is_number_integer() ? "integer"
                               : value.is_number()       ? "number"
                               : value.is_boolean()      ? "boolean"
                               : value.is_string()       ? "string"
                               : value.is_object()       ? "object"
                                                         : "array";
      auto [it, added] = kinds.emplace(key, kind);
      if (!added && it->second != kind) it->second = "mixed";
    }
    DEW_RETURN_IF_ERROR(buffer.Add(record));
  }
  for (const JsonColumn& c : buffer.columns()) {
    ColumnInfo col;
    col.name = c.name;
    auto kind = kinds.find(c.name);
    // Only nulls in the sample: the type is unknown (empty), not VARCHAR, so a drift check
    // does not see a type change. JSON values are stored as text in Delta, so bronze reads
    // them back as VARCHAR: report that, as a drift check compares with bronze.
    if (kind != kinds.end()) col.lake_type = c.lake_type == "JSON" ? "VARCHAR" : c.lake_type;
    col.source_type = kind == kinds.end() ? "null" : kind->second;
    info.columns.push_back(std::move(col));
  }
  return info;
}

Result<StreamInfo> RestSource::DescribeStream(const std::string& name) {
  const RestStreamConfig* stream = FindStream(name);
  if (stream == nullptr)
    return Status::NotFound("connection '" + config_.source + "' has no stream '" + name + "'");
  return DescribeOne(*stream);
}

Result<std::vector<StreamInfo>> RestSource::Discover() {
  std::vector<StreamInfo> out;
  for (const RestStreamConfig& s : config_.streams) {
    DEW_ASSIGN_OR_RETURN(StreamInfo info, DescribeOne(s));
    out.push_back(std::move(info));
  }
  return out;
}

Result<ReadResult> RestSource::Read(const StreamRequest& request, const json& state,
                                    lake::Lakehouse* lake) {
  const RestStreamConfig* stream = FindStream(request.name);
  if (stream == nullptr)
    return Status::NotFound("connection '" + config_.source + "' has no stream '" + request.name +
                            "'");
  const bool incremental = request.sync_mode == "incremental";
  const std::string cursor_field =
      request.cursor_field.empty() ? stream->cursor_field : request.cursor_field;
  const RestPaginator paginator(stream->pagination);

  // Where to start: after a complete sync, from the first page with the last cursor; after a
  // stopped or killed one, at the page after its last committed batch, with the same `since`.
  json since;
  json max_cursor;
  PagePosition position = paginator.First();
  bool resumed = false;
  if (state.is_object()) {
    if (incremental && state.contains("cursor")) since = max_cursor = state["cursor"];
    const json resume = state.value("resume", json());
    const std::string mode = incremental ? "incremental" : "full_refresh";
    if (resume.is_object() && resume.value("mode", "") == mode) {
      if (std::optional<PagePosition> p =
              PagePosition::FromJson(resume.value("position", json()))) {
        position = *p;
        since = resume.value("since", json());
        resumed = true;
      }
    }
  }
  const std::string since_text = since.is_null() ? "" : CursorText(since);

  BronzeLanding landing(lake, config_.source, stream->name);
  JsonRecordBuffer buffer(config_.spool_dir, {});
  ReadResult result;
  result.table = landing.table();
  result.state = state.is_null() ? json::object() : state;
  bool first_batch = true;
  int64_t pages_in_batch = 0;
  bool first_page = true;

  auto land = [&](const std::optional<PagePosition>& next, const std::string& stopped) -> Status {
    json s = json::object();
    if (!max_cursor.is_null()) s["cursor"] = max_cursor;
    if (next) {
      s["resume"] = {{"mode", incremental ? "incremental" : "full_refresh"},
                     {"since", since},
                     {"position", next->ToJson()}};
    }
    if (!stopped.empty()) s["stopped"] = stopped;
    if (buffer.columns().empty()) {
      // No record seen yet: nothing to type, and the cursor has not moved.
      result.state = s;
      return Status::OK();
    }
    LandingBatch batch;
    DEW_ASSIGN_OR_RETURN(batch.select_sql, buffer.Select());
    bool has_cursor = false;
    for (const JsonColumn& c : buffer.columns()) has_cursor |= c.name == cursor_field;
    if (has_cursor) batch.cursor_sql = engine::SqlIdent(cursor_field);
    batch.state = s;
    batch.mode = incremental ? "incremental" : "full_refresh";
    batch.full_refresh_start = !incremental && !resumed && first_batch;
    batch.quarantine = request.quarantine;
    DEW_ASSIGN_OR_RETURN(LandingResult landed, landing.Land(batch));
    if (landed.commit.version >= 0) ++result.commits;
    result.rows += buffer.size();
    DEW_RETURN_IF_ERROR(buffer.Clear());
    first_batch = false;
    pages_in_batch = 0;
    result.state = s;
    return Status::OK();
  };

  while (true) {
    if (request.cancel != nullptr && request.cancel->load()) {
      if (buffer.size() > 0) DEW_RETURN_IF_ERROR(land(position, ""));
      return Status::Interrupted("sync of stream '" + stream->name + "' of '" + config_.source +
                                 "' cancelled; the pages committed before stay");
    }
    Result<Page> fetched = FetchPage(*stream, position, since_text, first_page && !resumed);
    if (!fetched.ok()) {
      if (budget_.exhausted() && fetched.status().IsInterrupted()) {
        // Clean stop: commit what this sync holds, with the page to resume at.
        DEW_RETURN_IF_ERROR(land(position, budget_.ExhaustedMessage()));
        return result;
      }
      return fetched.status().WithContext("stream '" + stream->name + "'");
    }
    first_page = false;
    Page& page = *fetched;
    result.bytes_read += static_cast<int64_t>(page.response.body.size());
    for (const json& rec : page.records) {
      const json record = rec.is_object() ? rec : json{{"value", rec}};
      if (!cursor_field.empty()) {
        const json value = JsonAtPath(record, cursor_field);
        if (!value.is_null()) {
          // Without a request parameter the API sends everything: keep the newer records.
          if (incremental && stream->incremental_param.empty() && !since.is_null() &&
              CursorLess(value, since))
            continue;
          if (max_cursor.is_null() || CursorLess(max_cursor, value)) max_cursor = value;
        }
      }
      DEW_RETURN_IF_ERROR(buffer.Add(record));
    }
    std::optional<PagePosition> next =
        paginator.Next(position, page.response, page.body, page.records.size(), config_.base_url);
    ++pages_in_batch;
    if (!next || pages_in_batch >= config_.pages_per_batch) DEW_RETURN_IF_ERROR(land(next, ""));
    if (!next) break;
    position = *next;
  }
  return result;
}

}  // namespace dew::connectors
