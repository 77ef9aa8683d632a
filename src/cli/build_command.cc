// dew build, dew compile, dew test, dew seed: the dbt-style models of a project (models/,
// seeds/, tests/) built into the lake.
#include <cstdio>
#include <mutex>

#include "cli/command_context.h"
#include "quality/data_tests.h"
#include "quality/declared_tests.h"
#include "quality/model_upstream.h"
#include "quality/test_result_log.h"
#include "transform/model_builder.h"
#include "transform/model_compiler.h"
#include "transform/python_model.h"
#include "transform/seed_loader.h"

namespace dew::cli {
namespace {

using transform::CompiledProject;
using transform::ModelProject;

const std::vector<OptionSpec>& SelectionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"select", 's', true, "SEL", "models to run, dbt syntax (m, +m, m+, tag:x, path:dir, @m)"},
      {"exclude", 0, true, "SEL", "models to leave out, same syntax"},
      {"vars", 0, true, "JSON", "variables for var(), e.g. '{\"period\": \"2026-10\"}'"},
      {"full-refresh", 0, false, "", "rebuild incremental and scd2 models from scratch"},
      {"threads", 0, true, "N", "models built at once (default 2)"},
  };
  return specs;
}

struct Loaded {
  std::string root;  //!< the project folder
  ModelProject models;
  CompiledProject compiled;
  std::unique_ptr<lake::Lakehouse> lake;
  nlohmann::json vars;
};

Result<Loaded> LoadAndCompile(CommandContext& ctx, const ParsedArgs& args) {
  Loaded l{};
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  l.root = project.root();
  DEW_ASSIGN_OR_RETURN(l.models, ModelProject::Load(ctx.fs(), l.root));
  DEW_ASSIGN_OR_RETURN(l.lake, ctx.OpenLakehouse());
  transform::CompileOptions o;
  if (args.Has("vars")) {
    try {
      o.vars = nlohmann::json::parse(args.Get("vars"));
    } catch (const nlohmann::json::exception& e) {
      return Status::InvalidArgument("--vars: not JSON: " + std::string(e.what()));
    }
    if (!o.vars.is_object()) return Status::InvalidArgument("--vars: expected a JSON object");
  }
  l.vars = l.models.vars().is_object() ? l.models.vars() : nlohmann::json::object();
  for (auto& [k, v] : o.vars.items()) l.vars[k] = v;
  o.full_refresh = args.Has("full-refresh");
  lake::Lakehouse* lake = l.lake.get();
  o.relation_exists = [lake](const std::string& relation) {
    auto t = lake::ParseTableName(relation);
    return t.ok() && lake->Exists(*t);
  };
  DEW_ASSIGN_OR_RETURN(l.compiled, transform::CompileProject(l.models, o));
  return l;
}

//! The tests declared on `model`, as every caller compiles them (quality/declared_tests.h).
Result<std::vector<quality::CompiledTest>> ModelTests(const Loaded& l,
                                                      const transform::CompiledModel& model,
                                                      int64_t now) {
  const transform::RenderEnvironment env{&l.models, &l.compiled, l.vars};
  return quality::CompileModelTests(env, model, now);
}

Result<std::vector<quality::CompiledTest>> SourceTests(const Loaded& l, int64_t now) {
  const transform::RenderEnvironment env{&l.models, &l.compiled, l.vars};
  return quality::CompileSourceTests(env, now);
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fs", s);
  return buf;
}

void PrintTest(std::FILE* out, const quality::TestOutcome& t) {
  std::string status = t.status == "pass"   ? "PASS"
                       : t.status == "warn" ? "WARN"
                       : t.status == "fail" ? "FAIL"
                                            : "ERROR";
  std::fprintf(out, "  %-5s %s (%s)%s\n", status.c_str(), t.id.c_str(), Seconds(t.seconds).c_str(),
               t.message.empty() ? "" : ("\n    " + t.message).c_str());
}

//! Runs `tests`, recording each outcome in `log`; returns the number of failures (status fail
//! or error).
int RunTests(const std::vector<quality::CompiledTest>& tests, lake::Lakehouse* lake, std::FILE* out,
             std::mutex* mu, std::vector<std::string>* failed, quality::TestResultLog* log) {
  int failures = 0;
  const int64_t at = lake->clock().NowMillis();
  const std::vector<quality::TestOutcome> outcomes =
      quality::RunTestsTogether(tests, lake, log->History());
  for (size_t i = 0; i < tests.size(); ++i) {
    const quality::TestOutcome& o = outcomes[i];
    log->Add(tests[i], o, at);
    std::lock_guard<std::mutex> lock(*mu);
    PrintTest(out, o);
    if (o.status == "fail" || o.status == "error") {
      ++failures;
      if (failed) failed->push_back(o.id);
    }
  }
  return failures;
}

Status RunSingularTests(const Loaded& l, lake::Lakehouse* lake, std::FILE* out, int* failures,
                        quality::TestResultLog* log) {
  transform::RenderEnvironment env{&l.models, &l.compiled, l.vars};
  for (const auto& t : l.models.singular_tests()) {
    DEW_ASSIGN_OR_RETURN(std::string sql, transform::RenderSql(t.sql, t.path, env));
    quality::CompiledTest ct;
    ct.id = t.name;
    ct.target = t.path;
    ct.relation = t.path;
    ct.failing_sql = sql;
    const int64_t at = lake->clock().NowMillis();
    quality::TestOutcome o = quality::RunTest(ct, lake);
    log->Add(ct, o, at);
    PrintTest(out, o);
    if (o.status == "fail" || o.status == "error") ++*failures;
  }
  return Status::OK();
}

Status RunSeeds(const Loaded& l, lake::Lakehouse* lake, std::FILE* out) {
  for (const auto& seed : l.models.seeds()) {
    DEW_ASSIGN_OR_RETURN(lake::CommitResult c, transform::LoadSeed(seed, l.root, lake));
    std::fprintf(out, "seed %s.%s: %lld rows (version %lld)\n", seed.layer.c_str(),
                 seed.name.c_str(), static_cast<long long>(c.rows_added),
                 static_cast<long long>(c.version));
  }
  return Status::OK();
}

//! One invocation of dew build or dew test as a run in the control store, so its test results
//! and quality scores have a run to belong to. When the run id names an existing run (dew build
//! inside a pipeline task, with DEW_RUN_ID), the results join that run and its status is left to
//! its owner.
class RecordedRun {
 public:
  static Result<RecordedRun> Start(CommandContext& ctx, const std::string& run_id,
                                   const std::string& verb, const ParsedArgs& args) {
    DEW_ASSIGN_OR_RETURN(auto store, ctx.OpenControlStore());
    control::NewRun run;
    run.id = run_id;
    run.pipeline = verb;
    run.triggered_by = ctx.User();
    nlohmann::json params = {{"select", args.Get("select")},
                             {"exclude", args.Get("exclude")},
                             {"full_refresh", args.Has("full-refresh")}};
    run.params_json = params.dump();
    Status created = store->CreateRun(run);
    if (!created.ok() && !created.IsAlreadyExists()) return created;
    const bool owned = created.ok();
    if (owned) DEW_RETURN_IF_ERROR(store->UpdateRunStatus(run_id, control::RunStatus::kRunning));
    return RecordedRun(std::move(store), run_id, owned);
  }

  quality::TestResultLog& log() { return *log_; }

  //! Saves the test results and scores, then finishes the run as `outcome` says. Returns
  //! `outcome` when it failed, else the first error saving.
  Status Finish(const Status& outcome, const quality::UpstreamMap& upstream, int64_t at_ms) {
    Status saved = log_->Save(upstream, at_ms);
    if (owned_) {
      const Status& s = outcome.ok() ? saved : outcome;
      Status finished = store_->UpdateRunStatus(
          log_->run_id(), s.ok() ? control::RunStatus::kSucceeded : control::RunStatus::kFailed,
          s.ok() ? "" : s.message());
      if (saved.ok()) saved = finished;
    }
    return outcome.ok() ? saved : outcome;
  }

 private:
  RecordedRun(std::unique_ptr<control::ControlStore> store, const std::string& run_id, bool owned)
      : store_(std::move(store)),
        log_(std::make_unique<quality::TestResultLog>(run_id, store_.get())),
        owned_(owned) {}

  std::unique_ptr<control::ControlStore> store_;
  std::unique_ptr<quality::TestResultLog> log_;
  bool owned_;
};

}  // namespace

Status RunSeed(CommandContext& ctx, const std::vector<std::string>& args) {
  DEW_ASSIGN_OR_RETURN(ParsedArgs parsed, ParseVerbArgs(ctx, args, {}, "dew seed",
                                                        "Loads seeds/*.csv into lake tables (one "
                                                        "new version each), typed as declared."));
  DEW_ASSIGN_OR_RETURN(lake::Project project, ctx.FindProject());
  Loaded l{};
  l.root = project.root();
  DEW_ASSIGN_OR_RETURN(l.models, ModelProject::Load(ctx.fs(), project.root()));
  DEW_ASSIGN_OR_RETURN(auto lake, ctx.OpenLakehouse());
  if (l.models.seeds().empty()) {
    std::fprintf(ctx.out(), "no seeds (seeds/*.csv)\n");
    return Status::OK();
  }
  return RunSeeds(l, lake.get(), ctx.out());
}

Status RunCompile(CommandContext& ctx, const std::vector<std::string>& args) {
  DEW_ASSIGN_OR_RETURN(ParsedArgs parsed,
                       ParseVerbArgs(ctx, args, SelectionSpecs(), "dew compile [--select SEL]",
                                     "Prints each selected model's compiled SQL, in dependency "
                                     "order, without running it."));
  DEW_ASSIGN_OR_RETURN(Loaded l, LoadAndCompile(ctx, parsed));
  DEW_ASSIGN_OR_RETURN(auto names, l.compiled.Select(parsed.Get("select"), parsed.Get("exclude")));
  for (const auto& name : names) {
    const auto* m = l.compiled.Find(name);
    std::fprintf(ctx.out(), "-- %s (%s, %s) -> %s\n%s\n\n", m->def->path.c_str(),
                 m->config.materialized.c_str(), m->config.layer.c_str(), m->relation.c_str(),
                 m->sql.c_str());
  }
  return Status::OK();
}

namespace {

//! The body of dew build once its run is recorded: seeds, source checks, models with their
//! tests, singular tests. `run_ctx` opens lakehouses with the run's id.
Status BuildRecorded(CommandContext& run_ctx, const ParsedArgs& parsed, Loaded& l,
                     const std::vector<std::string>& names, int threads,
                     quality::TestResultLog* log) {
  std::FILE* out = run_ctx.out();
  DEW_RETURN_IF_ERROR(RunSeeds(l, l.lake.get(), out));
  const int64_t now = l.lake->clock().NowMillis();
  std::mutex mu;
  DEW_ASSIGN_OR_RETURN(auto source_tests, SourceTests(l, now));
  if (!source_tests.empty()) std::fprintf(out, "source checks:\n");
  std::vector<std::string> failed_sources;
  if (RunTests(source_tests, l.lake.get(), out, &mu, &failed_sources, log) > 0) {
    return Status::InvalidArgument("source checks failed (" +
                                   std::to_string(failed_sources.size()) + "): no model was built");
  }

  transform::ModelBuilder builder(
      &l.compiled, [&run_ctx] { return run_ctx.OpenLakehouse(); }, Clock::System(),
      std::make_shared<transform::PythonModelRunner>(std::make_shared<PosixProcessRunner>(l.root),
                                                     run_ctx.shared_fs(), l.root,
                                                     l.models.python()));
  transform::BuildOptions o;
  o.models = names;
  o.threads = threads;
  o.full_refresh = parsed.Has("full-refresh");
  int test_failures = 0;
  o.after_model = [&](const transform::CompiledModel& model, lake::Lakehouse* lake) -> Status {
    DEW_ASSIGN_OR_RETURN(auto tests, ModelTests(l, model, now));
    std::vector<std::string> failed;
    int n = RunTests(tests, lake, out, &mu, &failed, log);
    if (n == 0) return Status::OK();
    std::lock_guard<std::mutex> lock(mu);
    test_failures += n;
    std::string list;
    for (const auto& f : failed) list += (list.empty() ? "" : ", ") + f;
    return Status::InvalidArgument("tests failed: " + list);
  };
  o.on_done = [&](const transform::ModelOutcome& m) {
    std::lock_guard<std::mutex> lock(mu);
    std::string detail =
        m.status == "success"
            ? (m.rows >= 0 ? std::to_string(m.rows) + " rows, version " + std::to_string(m.version)
                           : "view")
            : m.error;
    std::fprintf(out, "%-8s %s %s (%s) %s\n",
                 m.status == "success"   ? "OK"
                 : m.status == "skipped" ? "SKIP"
                                         : "ERROR",
                 m.relation.c_str(), m.materialized.c_str(), Seconds(m.seconds).c_str(),
                 detail.c_str());
    std::fflush(out);
  };
  DEW_ASSIGN_OR_RETURN(auto outcomes, builder.Build(o));
  int errors = 0, skipped = 0, ok = 0;
  for (const auto& m : outcomes) {
    if (m.status == "success") ++ok;
    if (m.status == "error") ++errors;
    if (m.status == "skipped") ++skipped;
  }
  if (parsed.Get("select").empty() && !l.models.singular_tests().empty()) {
    // A new lakehouse sees every table the workers wrote (opening one registers a view per
    // table, so only when there is something to run).
    DEW_ASSIGN_OR_RETURN(auto lake, run_ctx.OpenLakehouse());
    std::fprintf(out, "singular tests:\n");
    DEW_RETURN_IF_ERROR(RunSingularTests(l, lake.get(), out, &test_failures, log));
  }
  std::fprintf(out, "done: %d built, %d failed, %d skipped, %d test failures\n", ok, errors,
               skipped, test_failures);
  if (errors > 0 || test_failures > 0)
    return Status::InvalidArgument("build failed: " + std::to_string(errors) + " models failed, " +
                                   std::to_string(test_failures) + " tests failed");
  return Status::OK();
}

}  // namespace

Status RunBuild(CommandContext& ctx, const std::vector<std::string>& args) {
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, SelectionSpecs(),
                    "dew build [--select SEL] [--exclude SEL] [--full-refresh] [--threads N]",
                    "Loads seeds, checks sources, builds the selected models in dependency order "
                    "(independent ones in parallel) and runs each model's tests right after it; a "
                    "failed model or error-severity test skips everything downstream. The build "
                    "is a run in the control store, with every test result and quality score."));
  DEW_ASSIGN_OR_RETURN(Loaded l, LoadAndCompile(ctx, parsed));
  DEW_ASSIGN_OR_RETURN(auto names, l.compiled.Select(parsed.Get("select"), parsed.Get("exclude")));
  int threads = 2;
  if (parsed.Has("threads")) {
    DEW_ASSIGN_OR_RETURN(int64_t n, ParseCount(parsed.Get("threads"), "--threads"));
    threads = static_cast<int>(std::max<int64_t>(1, n));
  }
  // Every lakehouse of this build commits under the one run id (the first one's, which is
  // --run-id, $DEW_RUN_ID or a new UUID).
  GlobalOptions options = ctx.options();
  options.run_id = l.lake->run_id();
  CommandContext run_ctx(options, ctx.cwd(), ctx.out());
  DEW_ASSIGN_OR_RETURN(RecordedRun run, RecordedRun::Start(ctx, options.run_id, "build", parsed));
  std::fprintf(ctx.out(), "run %s\n", options.run_id.c_str());
  Status built = BuildRecorded(run_ctx, parsed, l, names, threads, &run.log());
  return run.Finish(built, quality::ModelUpstream(l.compiled), l.lake->clock().NowMillis());
}

Status RunTestVerb(CommandContext& ctx, const std::vector<std::string>& args) {
  DEW_ASSIGN_OR_RETURN(
      ParsedArgs parsed,
      ParseVerbArgs(ctx, args, SelectionSpecs(), "dew test [--select SEL]",
                    "Runs the source tests, the tests of the selected models and "
                    "the singular tests (tests/*.sql) against the lake as it is, as a run in the "
                    "control store with every result and quality score."));
  DEW_ASSIGN_OR_RETURN(Loaded l, LoadAndCompile(ctx, parsed));
  DEW_ASSIGN_OR_RETURN(auto names, l.compiled.Select(parsed.Get("select"), parsed.Get("exclude")));
  DEW_ASSIGN_OR_RETURN(RecordedRun run, RecordedRun::Start(ctx, l.lake->run_id(), "test", parsed));
  quality::TestResultLog* log = &run.log();
  auto test_all = [&]() -> Status {
    const int64_t now = l.lake->clock().NowMillis();
    std::mutex mu;
    int failures = 0;
    DEW_ASSIGN_OR_RETURN(auto source_tests, SourceTests(l, now));
    failures += RunTests(source_tests, l.lake.get(), ctx.out(), &mu, nullptr, log);
    for (const auto& name : names) {
      DEW_ASSIGN_OR_RETURN(auto tests, ModelTests(l, *l.compiled.Find(name), now));
      failures += RunTests(tests, l.lake.get(), ctx.out(), &mu, nullptr, log);
    }
    DEW_RETURN_IF_ERROR(RunSingularTests(l, l.lake.get(), ctx.out(), &failures, log));
    if (failures > 0) return Status::InvalidArgument(std::to_string(failures) + " tests failed");
    return Status::OK();
  };
  Status tested = test_all();
  return run.Finish(tested, quality::ModelUpstream(l.compiled), l.lake->clock().NowMillis());
}

}  // namespace dew::cli
