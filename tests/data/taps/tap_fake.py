#!/usr/bin/env python3
"""A small Singer tap for dew's tests (Python 3 standard library only).

Streams: users (id, name, email, score, active, created_at, address, tags), orders (id,
user_id, amount, placed_on) and env (the tap's environment, working folder and config file
mode, to test what dew passes). Records are numbered 1..N (config "users", "orders"); the
state {"bookmarks": {stream: {"id": last}}} resumes after the last id.

Config switches for failure tests:
  state_every: emit a STATE after every K records of a stream (default: only at its end)
  die_after / die_marker: on the first run (while the marker file does not exist) create the
      marker and SIGKILL itself after this many records, like `kill -9`
  malformed_after: print a line that is not JSON after this many records
  fail_after: after this many records print to stderr and exit 1
  name_size: users' names are this many "x" (lines longer than the runner's 64 KiB pieces)
  pause_after / pause_marker: on the first run create the marker after this many records and
      wait until the parent (dew) is gone, then exit 3 (for killing dew itself mid-sync)
"""
import datetime
import json
import os
import signal
import sys
import time

SCHEMAS = {
    "users": {
        "type": ["null", "object"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": ["null", "string"]},
            "email": {"type": ["null", "string"]},
            "score": {"type": ["null", "number"]},
            "active": {"type": ["null", "boolean"]},
            "created_at": {"type": ["null", "string"], "format": "date-time"},
            "address": {"type": ["null", "object"],
                        "properties": {"city": {"type": "string"}, "zip": {"type": "string"}}},
            "tags": {"type": ["null", "array"], "items": {"type": "string"}},
        },
    },
    "orders": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "user_id": {"type": "integer"},
            "amount": {"type": "number"},
            "placed_on": {"type": "string", "format": "date"},
        },
    },
    "env": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "value": {"type": ["null", "string"]}},
    },
}
KEYS = {"users": ["id"], "orders": ["id"], "env": ["name"]}


def arg(name):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return None


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def catalog():
    streams = []
    for name, schema in SCHEMAS.items():
        streams.append({
            "tap_stream_id": name,
            "stream": name,
            "schema": schema,
            "key_properties": KEYS[name],
            "metadata": [{"breadcrumb": [], "metadata": {
                "table-key-properties": KEYS[name],
                "valid-replication-keys": ["id"],
                "inclusion": "available"}}],
        })
    return {"streams": streams}


def record(stream, i, config):
    if stream == "users":
        base = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
        return {
            "id": i,
            "name": "x" * int(config["name_size"]) if "name_size" in config else "user %d" % i,
            "email": None if i % 10 == 0 else "u%d@example.com" % i,
            "score": i * 1.5,
            "active": i % 2 == 0,
            "created_at": (base + datetime.timedelta(hours=i)).isoformat().replace("+00:00", "Z"),
            "address": {"city": "City %d" % (i % 7), "zip": "%05d" % i},
            "tags": ["t%d" % (i % 3)],
        }
    return {
        "id": i,
        "user_id": 1 + i % 5,
        "amount": round(i * 2.25, 2),
        "placed_on": (datetime.date(2024, 1, 1) + datetime.timedelta(days=i)).isoformat(),
    }


def main():
    config = json.load(open(arg("--config")))
    if "--discover" in sys.argv:
        print(json.dumps(catalog(), indent=2))
        return
    selected = list(SCHEMAS)
    cat_path = arg("--catalog") or arg("--properties")
    if cat_path:
        selected = []
        for s in json.load(open(cat_path))["streams"]:
            root = [m for m in s.get("metadata", []) if m.get("breadcrumb") == []]
            if root and root[0]["metadata"].get("selected"):
                selected.append(s["tap_stream_id"])
    state = json.load(open(arg("--state"))) if arg("--state") else {}
    bookmarks = state.get("bookmarks", {})
    sys.stderr.write("tap_fake: selected %s, state %s\n" % (selected, json.dumps(state)))
    state_every = int(config.get("state_every", 0))
    marker = config.get("die_marker")
    die_after = int(config.get("die_after", 0)) if marker and not os.path.exists(marker) else 0
    pause_marker = config.get("pause_marker")
    pause_after = (int(config.get("pause_after", 0))
                   if pause_marker and not os.path.exists(pause_marker) else 0)
    parent = os.getppid()
    emitted = 0
    for stream in selected:
        emit({"type": "SCHEMA", "stream": stream, "schema": SCHEMAS[stream],
              "key_properties": KEYS[stream], "bookmark_properties": ["id"]})
        if stream == "env":
            config_mode = oct(os.stat(arg("--config")).st_mode & 0o777)[2:]
            rows = [(k, v) for k, v in sorted(os.environ.items())]
            rows += [("__cwd", os.getcwd()), ("__config_mode", config_mode),
                     ("__config_dir_mode", oct(os.stat(os.path.dirname(arg("--config"))).st_mode & 0o777)[2:])]
            for k, v in rows:
                emit({"type": "RECORD", "stream": "env", "record": {"name": k, "value": v}})
            continue
        start = bookmarks.get(stream, {}).get("id", 0)
        last = start
        for i in range(start + 1, int(config.get(stream, 0)) + 1):
            emit({"type": "RECORD", "stream": stream, "record": record(stream, i, config),
                  "time_extracted": "2024-06-01T00:00:00Z"})
            emitted += 1
            last = i
            if config.get("malformed_after") == emitted:
                sys.stdout.write("this is not a singer message\n")
                sys.stdout.flush()
            if config.get("fail_after") == emitted:
                sys.stderr.write("tap_fake: lost the connection to api.example.com\n")
                sys.stderr.write("tap_fake: giving up\n")
                sys.exit(1)
            if die_after and emitted == die_after:
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            if pause_after and emitted == pause_after:
                open(pause_marker, "w").close()
                while os.getppid() == parent:
                    time.sleep(0.05)
                sys.exit(3)
            if state_every and i % state_every == 0:
                bookmarks[stream] = {"id": i}
                emit({"type": "STATE", "value": {"bookmarks": bookmarks}})
        bookmarks[stream] = {"id": last}
        emit({"type": "STATE", "value": {"bookmarks": bookmarks}})


if __name__ == "__main__":
    main()
