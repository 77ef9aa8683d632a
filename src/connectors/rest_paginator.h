// RestPaginator: walks the pages of one REST stream. Four kinds, as APIs paginate:
//   page         ?page=1&per_page=100, 2, 3 … until a page has fewer than page_size records
//   offset       ?offset=0&limit=100, 100, 200 … likewise
//   cursor       ?after=<cursor from the last response at cursor_path> until it is missing
//   link_header  the URL in the response's `Link: <…>; rel="next"` until there is none
// and "none" (one request). A position is JSON (query parameters, or the next URL), so a sync
// that stops between pages stores it with its state and resumes there.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/http_client.h"

namespace dew::connectors {

struct PaginationConfig {
  std::string type = "none";  //!< none, page, offset, cursor, link_header
  std::string page_param = "page";
  int64_t start_page = 1;
  std::string size_param;  //!< sent with page_size when set (page: "per_page", offset: "limit")
  int64_t page_size = 0;   //!< 0: the server's default (a short page then does not end it)
  std::string offset_param = "offset";
  std::string cursor_path;  //!< dotted path of the next cursor in the response body
  std::string cursor_param = "cursor";
};

//! Where the next request goes: extra query parameters, or (link_header) a whole URL.
struct PagePosition {
  std::vector<std::pair<std::string, std::string>> params;
  std::string url;  //!< non-empty: request exactly this URL

  nlohmann::json ToJson() const;
  //! Reads what ToJson wrote; nullopt when `j` is not such an object.
  static std::optional<PagePosition> FromJson(const nlohmann::json& j);
};

//! Stateless apart from its config; safe to share between threads.
class RestPaginator {
 public:
  explicit RestPaginator(PaginationConfig config) : config_(std::move(config)) {}

  //! The first page's position.
  PagePosition First() const;
  //! The position after `current`, given its response, its parsed body and how many records it
  //! held; nullopt when it was the last page. `base_url` resolves a relative Link URL.
  std::optional<PagePosition> Next(const PagePosition& current, const HttpResponse& response,
                                   const nlohmann::json& body, size_t records,
                                   const std::string& base_url) const;

  const PaginationConfig& config() const { return config_; }

 private:
  const PaginationConfig config_;
};

//! The target of the `rel="next"` entry of a Link header value, or empty.
std::string NextLink(const std::string& link_header);

//! The value at a dotted path ("meta.next_cursor", "data.0.id", "data[0].id"); an empty path
//! is `root`. A name applied to an array maps over its elements (flattening nested arrays), so
//! "pages.items" over [{items:[a]},{items:[b]}] gives [a, b]. nullptr JSON when absent.
nlohmann::json JsonAtPath(const nlohmann::json& root, const std::string& path);

}  // namespace dew::connectors
