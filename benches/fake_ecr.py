#!/usr/bin/env python3
"""A fake ECR API over TLS for the benchmark, on loopback only.

Answers GetAuthorizationToken (awsJson1_1, `POST /` with
`X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken`)
with one authorizationData entry per requested registryId (the account
"000000000000" when the request names none), each token expiring 12 hours
from now so that both helpers' caches can hit. The password is about as long
as a real ECR one (~2 KB), so parsing and caching cost what they cost in
production. Any other target gets a 400 UnknownOperationException.

Every request is appended as one JSON line to the log file (time, target,
registryIds, user agent, answer status): the benchmark counts API calls by
counting lines, and the log shows what each helper sends.

TLS handshakes run in the per-connection threads, not in the accept loop,
so concurrent clients are not serialized by the server.

usage: fake_ecr.py --cert CERT --key KEY --log FILE [--host 127.0.0.1]
                   [--port 443] [--ready FILE] [--max-requests N]
"""
import argparse
import base64
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
LIFETIME = 12 * 3600
DEFAULT_ACCOUNT = "000000000000"


def password(account, n):
    # Shaped like a real ECR password (a base64 JSON envelope, ~2 KB).
    blob = json.dumps({
        "payload": base64.b64encode(os.urandom(1100)).decode(),
        "datakey": base64.b64encode(os.urandom(180)).decode(),
        "version": "2",
        "type": "DATA_KEY",
        "expiration": int(time.time()) + LIFETIME,
        "account": account,
        "n": n,
    })
    return "eyJ" + base64.b64encode(blob.encode()).decode()[3:]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, addr, handler, context, log, max_requests):
        super().__init__(addr, handler)
        self.context = context
        self.log_path = log
        self.lock = threading.Lock()
        self.count = 0
        self.max_requests = max_requests

    def finish_request(self, request, client_address):
        # Runs in the connection's own thread: handshake here.
        request.settimeout(30)
        # One write per answer and no Nagle: otherwise the body waits for the
        # client's delayed ACK of the headers (40 ms), a cost real ECR has not.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        try:
            tls = self.context.wrap_socket(request, server_side=True)
            # Accept to handshake done: the server's signing plus the client's
            # own work between the flights.
            tls.handshake_ms = round((time.perf_counter() - t0) * 1000, 3)
        except (ssl.SSLError, OSError) as e:
            self.record({"error": f"handshake: {e}"})
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def record(self, line):
        with self.lock:
            self.count += 1
            line["n"] = self.count
            with open(self.log_path, "a") as f:
                f.write(json.dumps(line) + "\n")
            return self.count


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target", "")
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            doc = {}
        ids = doc.get("registryIds") or []
        status = 200 if target == TARGET else 400
        n = self.server.record({
            "t": round(time.time(), 6),
            "path": self.path,
            "target": target,
            "registryIds": ids,
            "host": self.headers.get("Host", ""),
            "user_agent": self.headers.get("User-Agent", "")[:120],
            "status": status,
            "handshake_ms": getattr(self.request, "handshake_ms", None),
        })
        if self.server.max_requests and n > self.server.max_requests:
            return self.answer(503, {"__type": "ServiceUnavailableException",
                                     "message": "fake_ecr: request budget spent"})
        if status != 200:
            return self.answer(400, {"__type": "UnknownOperationException"})
        region = self.headers.get("Host", "api.ecr.us-east-1.amazonaws.com").split(".")[2]
        expires = int(time.time()) + LIFETIME
        data = [{
            "authorizationToken": base64.b64encode(f"AWS:{password(a, n)}".encode()).decode(),
            "expiresAt": expires,
            "proxyEndpoint": f"https://{a}.dkr.ecr.{region}.amazonaws.com",
        } for a in (ids or [DEFAULT_ACCOUNT])]
        self.answer(200, {"authorizationData": data})

    def answer(self, status, doc):
        out = json.dumps(doc).encode()
        reason = {200: "OK", 400: "Bad Request", 503: "Service Unavailable"}[status]
        head = (f"HTTP/1.1 {status} {reason}\r\n"
                "Content-Type: application/x-amz-json-1.1\r\n"
                f"Content-Length: {len(out)}\r\n"
                "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\n\r\n")
        self.wfile.write(head.encode() + out)

    def log_message(self, fmt, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--ready")
    p.add_argument("--max-requests", type=int, default=100000,
                   help="answer 503 past this many requests (a runaway bound)")
    a = p.parse_args()
    if not a.host.startswith("127."):
        sys.exit("fake_ecr: loopback only")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server = Server((a.host, a.port), Handler, ctx, a.log, a.max_requests)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write(str(os.getpid()))
    server.serve_forever()


if __name__ == "__main__":
    main()
