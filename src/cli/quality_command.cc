// dew quality report [TABLE]: quality scores per table with their trend, the problems of each
// table's latest run, and the upstream tables whose checks failed in that run too.
#include <algorithm>
#include <cstdio>

#include "cli/command_context.h"
#include "quality/quality_report.h"

namespace dew::cli {
namespace {

using engine::TextTable;
using engine::TypeId;

std::string Fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

//! A message on one line: the sample rows RunTest puts on lines of their own joined with "; ".
std::string OneLine(const std::string& message) {
  std::string out;
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] != '\n') {
      out += message[i];
      continue;
    }
    while (i + 1 < message.size() && message[i + 1] == ' ') ++i;
    out += "; ";
  }
  return out;
}

std::string Joined(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

TextTable ScoresTable(const quality::QualityReport& report) {
  TextTable t;
  t.names = {"target", "score", "checks", "failed", "trend", "run_id"};
  const auto text = TypeOf(TypeId::kVarchar);
  t.types = {text, TypeOf(TypeId::kDouble), TypeOf(TypeId::kBigInt), TypeOf(TypeId::kBigInt), text,
             text};
  for (const auto& q : report.targets) {
    std::vector<std::string> trend;
    for (double s : q.trend) trend.push_back(Fixed(s, 2));
    t.rows.push_back({q.latest.target, Fixed(q.latest.score(), 3), std::to_string(q.latest.checks),
                      std::to_string(q.latest.failed), Joined(trend, " "), q.latest.run_id});
  }
  return t;
}

TextTable ProblemsTable(const quality::QualityReport& report) {
  TextTable t;
  t.names = {"target",   "test",    "type",   "status",          "severity",
             "failures", "message", "run_id", "failing_upstream"};
  const auto text = TypeOf(TypeId::kVarchar);
  t.types = {text, text, text, text, text, TypeOf(TypeId::kBigInt), text, text, text};
  for (const auto& p : report.problems) {
    const auto& r = p.result;
    t.rows.push_back({r.target, r.test_id, r.test_type, r.status, r.severity,
                      std::to_string(r.failures), OneLine(r.message), r.run_id,
                      Joined(p.failing_upstream, ", ")});
  }
  return t;
}

Status RunQualityReport(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "dew quality report [TABLE] [--trend N] [--limit N]";
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(
          ctx, args,
          {{"trend", 0, true, "N", "scores in each trend, oldest first (default 10)"},
           {"limit", 0, true, "N", "problems shown per table (default 20)"}},
          usage,
          "Quality scores (passing checks weighted by severity: error 3, warn 1) of every table "
          "or of TABLE, with the trend of their last runs; then the failed, warned or broken "
          "checks of each table's latest run, with the upstream tables whose own checks failed "
          "in that run. --format json prints {\"scores\": [...], \"problems\": [...]}; csv "
          "prints the two tables one after the other, separated by an empty line."));
  if (parsed.positional.size() > 1) return Status::InvalidArgument("usage: " + usage);
  quality::QualityReportOptions options;
  if (!parsed.positional.empty()) options.target = parsed.positional[0];
  DEW_ASSIGN_OR_RETURN(int64_t trend, ParseCount(parsed.Get("trend", "10"), "--trend"));
  DEW_ASSIGN_OR_RETURN(int64_t limit, ParseCount(parsed.Get("limit", "20"), "--limit"));
  options.trend_length = static_cast<int>(std::clamp<int64_t>(trend, 1, 1000));
  options.problem_limit = static_cast<int>(std::clamp<int64_t>(limit, 0, 100000));
  DEW_ASSIGN_OR_RETURN(OutputFormat format, ctx.Format());
  DEW_ASSIGN_OR_RETURN(std::unique_ptr<control::ControlStore> store, ctx.OpenControlStore());
  DEW_ASSIGN_OR_RETURN(quality::QualityReport report, quality::BuildQualityReport(*store, options));
  std::FILE* out = ctx.out();
  if (format == OutputFormat::kJson) {
    std::fprintf(out, "{\"scores\": ");
    ResultWriter(format, out).Write(ScoresTable(report));
    std::fprintf(out, ", \"problems\": ");
    ResultWriter(format, out).Write(ProblemsTable(report));
    std::fprintf(out, "}\n");
    return Status::OK();
  }
  if (format == OutputFormat::kCsv) {
    ResultWriter(format, out).Write(ScoresTable(report));
    std::fprintf(out, "\n");
    ResultWriter(format, out).Write(ProblemsTable(report));
    return Status::OK();
  }
  if (report.targets.empty()) {
    std::fprintf(out, "no test results recorded yet: run dew build or dew test\n");
    return Status::OK();
  }
  std::fprintf(out, "quality scores (error checks weigh 3, warnings 1):\n");
  ResultWriter(format, out).Write(ScoresTable(report));
  if (report.problems.empty()) {
    std::fprintf(out, "\nno failed, warned or broken checks in the latest runs\n");
    return Status::OK();
  }
  std::fprintf(out, "\nproblems in the latest runs:\n");
  ResultWriter(format, out).Write(ProblemsTable(report));
  return Status::OK();
}

}  // namespace

Status RunQuality(CommandContext& ctx, const std::vector<std::string>& args) {
  const std::string usage = "usage: dew quality report [TABLE] [--trend N] [--limit N]";
  if (args.empty()) return Status::InvalidArgument(usage);
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "report") return RunQualityReport(ctx, rest);
  if (args[0] == "--help" || args[0] == "-h") {
    std::fprintf(ctx.out(), "%s\n\nData quality: scores per table, their trend, recent failures.\n",
                 usage.c_str());
    return HelpShown();
  }
  return Status::InvalidArgument(usage + " (unknown subcommand '" + args[0] + "')");
}

}  // namespace dew::cli
