#!/usr/bin/env python3
"""A stand-in for Apache Superset's REST API, for the demo only (the tests use
tests/support/superset_server, a C++ one). It speaks the endpoints dew's `superset:` refresh
calls, as Superset documents them, and prints each call:

  POST /api/v1/security/login            -> {"access_token": ..., "refresh_token": ...}
  GET  /api/v1/security/csrf_token/      -> {"result": ...} and a session cookie
  GET  /api/v1/dataset/?q=(filters:!((col:table_name,opr:eq,value:NAME)))
  PUT  /api/v1/dataset/<pk>/refresh      -> {"message": "OK"}

Every table name is a known dataset. Usage: superset_standin.py PORT_FILE (writes the port it
got to PORT_FILE and serves until killed).
"""
import http.server
import json
import re
import secrets
import sys
import urllib.parse

TOKEN = secrets.token_hex(16)
DATASETS = {}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def authorized(self):
        if self.headers.get("Authorization") == "Bearer " + TOKEN:
            return True
        self.answer(401, {"msg": "Missing Authorization Header"})
        return False

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/api/v1/security/login" and body.get("username") and body.get("password"):
            print(f"superset stand-in: login as {body['username']}", flush=True)
            return self.answer(200, {"access_token": TOKEN, "refresh_token": secrets.token_hex(8)})
        self.answer(401, {"message": "Not authorized"})

    def do_GET(self):
        if not self.authorized():
            return
        if self.path.startswith("/api/v1/security/csrf_token/"):
            return self.answer(200, {"result": secrets.token_hex(8)},
                               [("Set-Cookie", "session=" + secrets.token_hex(8) + "; HttpOnly")])
        match = re.search(r"value:'?([A-Za-z0-9_]+)", urllib.parse.unquote(self.path))
        if self.path.startswith("/api/v1/dataset/") and match:
            name = match.group(1)
            pk = DATASETS.setdefault(name, len(DATASETS) + 1)
            return self.answer(200, {"count": 1, "ids": [pk],
                                     "result": [{"id": pk, "table_name": name}]})
        self.answer(404, {"message": "Not found"})

    def do_PUT(self):
        if not self.authorized():
            return
        match = re.fullmatch(r"/api/v1/dataset/(\d+)/refresh", self.path)
        if match:
            name = next((n for n, pk in DATASETS.items() if pk == int(match.group(1))), "?")
            print(f"superset stand-in: refreshed dataset {match.group(1)} ({name})", flush=True)
            return self.answer(200, {"message": "OK"})
        self.answer(404, {"message": "Not found"})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
