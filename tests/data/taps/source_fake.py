#!/usr/bin/env python3
"""A small Airbyte source for dew's tests (Python 3 standard library only).

Verbs: spec, check --config, discover --config, read --config --catalog [--state].
Streams: customers (id, name, updated_at, meta) and invoices (id, customer_id, total).
Config: api_key (check succeeds only for "good-key"), customers / invoices (record counts),
state_every (a STATE after every K records), state_form (stream | global | legacy),
trace_error_after (emit a TRACE error after this many records and exit 1).
"""
import json
import sys

SCHEMAS = {
    "customers": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": ["null", "string"]},
            "updated_at": {"type": "string", "format": "date-time",
                           "airbyte_type": "timestamp_with_timezone"},
            "meta": {"type": ["null", "object"]},
        },
    },
    "invoices": {
        "type": "object",
        "properties": {
            "id": {"type": "number", "airbyte_type": "integer"},
            "customer_id": {"type": "integer"},
            "total": {"type": "number"},
        },
    },
}


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def arg(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


def log(level, message):
    emit({"type": "LOG", "log": {"level": level, "message": message}})


def state_message(form, stream, cursor, all_cursors):
    if form == "global":
        return {"type": "GLOBAL", "global": {
            "shared_state": {"run": "x"},
            "stream_states": [{"stream_descriptor": {"name": s}, "stream_state": {"cursor": c}}
                              for s, c in sorted(all_cursors.items())]}}
    if form == "legacy":
        return {"data": {s: {"cursor": c} for s, c in all_cursors.items()}}
    return {"type": "STREAM", "stream": {"stream_descriptor": {"name": stream},
                                         "stream_state": {"cursor": cursor}}}


def initial_cursors(state):
    cursors = {}
    if isinstance(state, dict):  # legacy
        for s, v in state.items():
            cursors[s] = v["cursor"]
    elif isinstance(state, list):
        for m in state:
            if m.get("type") == "STREAM":
                cursors[m["stream"]["stream_descriptor"]["name"]] = m["stream"]["stream_state"]["cursor"]
            elif m.get("type") == "GLOBAL":
                for s in m["global"]["stream_states"]:
                    cursors[s["stream_descriptor"]["name"]] = s["stream_state"]["cursor"]
    return cursors


def main():
    verb = sys.argv[1] if len(sys.argv) > 1 else ""
    if verb == "spec":
        emit({"type": "SPEC", "spec": {"connectionSpecification": {
            "type": "object", "required": ["api_key"],
            "properties": {"api_key": {"type": "string", "airbyte_secret": True},
                           "customers": {"type": "integer"}}}}})
        return
    config = json.load(open(arg("--config")))
    if verb == "check":
        log("INFO", "checking the api key")
        if config.get("api_key") == "good-key":
            emit({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}})
        else:
            emit({"type": "CONNECTION_STATUS",
                  "connectionStatus": {"status": "FAILED", "message": "401: invalid api key"}})
        return
    if verb == "discover":
        emit({"type": "CATALOG", "catalog": {"streams": [
            {"name": name, "json_schema": schema, "supported_sync_modes": ["full_refresh", "incremental"],
             "source_defined_cursor": True, "default_cursor_field": ["id"],
             "source_defined_primary_key": [["id"]]} for name, schema in SCHEMAS.items()]}})
        return
    if verb != "read":
        sys.stderr.write("unknown verb %r\n" % verb)
        sys.exit(2)
    catalog = json.load(open(arg("--catalog")))
    state = json.load(open(arg("--state"))) if arg("--state") else None
    cursors = initial_cursors(state)
    form = config.get("state_form", "stream")
    every = int(config.get("state_every", 0))
    emitted = 0
    log("INFO", "read from state %s" % json.dumps(state))
    for configured in catalog["streams"]:
        stream = configured["stream"]["name"]
        assert configured["sync_mode"] in ("incremental", "full_refresh")
        if configured["sync_mode"] == "full_refresh":
            cursors[stream] = 0
        start = cursors.get(stream, 0)
        for i in range(start + 1, int(config.get(stream, 0)) + 1):
            if stream == "customers":
                data = {"id": i, "name": "customer %d" % i,
                        "updated_at": "2024-02-%02dT10:00:00+00:00" % (1 + i % 28),
                        "meta": {"tier": i % 3, "tags": ["a"]}}
            else:
                data = {"id": i, "customer_id": 1 + i % 4, "total": i * 10.5}
            emit({"type": "RECORD", "record": {"stream": stream, "data": data,
                                               "emitted_at": 1700000000000}})
            emitted += 1
            cursors[stream] = i
            if config.get("trace_error_after") == emitted:
                emit({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 1700000000000,
                      "error": {"message": "Rate limit exceeded for invoices",
                                "internal_message": "HTTP 429", "failure_type": "transient_error"}}})
                sys.exit(1)
            if every and i % every == 0:
                emit({"type": "STATE", "state": state_message(form, stream, i, cursors)})
        emit({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1,
              "stream_status": {"stream_descriptor": {"name": stream}, "status": "COMPLETE"}}})
        emit({"type": "STATE", "state": state_message(form, stream, cursors.get(stream, 0), cursors)})


if __name__ == "__main__":
    main()
