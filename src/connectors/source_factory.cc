#include "connectors/source_factory.h"

#include "connectors/postgres_source.h"

namespace dew::connectors {

Result<std::unique_ptr<Source>> MakePostgresSource(const ConnectionSpec& spec,
                                                   const SourceEnv& env) {
  DEW_ASSIGN_OR_RETURN(std::string password, spec.ResolvePassword(env.env));
  PostgresConfig config;
  config.source = spec.name;
  DEW_ASSIGN_OR_RETURN(Endpoint endpoint, spec.ResolveEndpoint(env.env));
  config.host = endpoint.host;
  config.port = endpoint.port;
  config.database = spec.auth.database;
  config.user = spec.auth.user;
  config.password = std::move(password);
  config.temp_dir = env.spool_dir;
  std::unique_ptr<Source> source = std::make_unique<PostgresSource>(std::move(config));
  return source;
}

Result<std::unique_ptr<Source>> MakeSource(const ConnectionSpec& spec, const SourceEnv& env) {
  const std::string& t = spec.source_type;
  if (t == "postgres") return MakePostgresSource(spec, env);
  if (t == "odoo") return MakeOdooSource(spec, env);
  if (t == "files") return MakeFilesSource(spec, env);
  if (t == "rest") return MakeRestSource(spec, env);
  if (t == "singer") return MakeSingerSource(spec, env);
  if (t == "airbyte") return MakeAirbyteSource(spec, env);
  return Status::NotSupported(spec.file + ": source_type: dew has no source '" + t + "'");
}

}  // namespace dew::connectors
