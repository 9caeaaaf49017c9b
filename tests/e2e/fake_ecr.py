#!/usr/bin/env python3
"""A tiny fake ECR API for the e2e suite's warm-cache round.

Answers GetAuthorizationToken (awsJson1_1) for the registryIds in the request
body with tokens that expire in 12 hours (moto's always expired in 2015, so
nothing is ever cached against moto), and appends one line per call to a
counter file. Plain HTTP on 127.0.0.1 only.

usage: fake_ecr.py PORT COUNTER_FILE
"""
import base64
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TARGET = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
PORT, COUNTER = int(sys.argv[1]), sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        scope = re.search(r"Credential=[^/]+/\d+/([^/]+)/", self.headers.get("Authorization", ""))
        region = scope.group(1) if scope else "us-east-1"
        ids = (json.loads(body or b"{}").get("registryIds") or ["123456789012"])
        with open(COUNTER, "a") as f:
            f.write(f"{target} {region} {','.join(ids)}\n")
        if target != TARGET:
            return self.answer(400, {"__type": "UnknownOperationException"})
        expires = time.time() + 43200
        data = [{
            "authorizationToken": base64.b64encode(f"AWS:{i}-auth-token".encode()).decode(),
            "expiresAt": expires,
            "proxyEndpoint": f"https://{i}.dkr.ecr.{region}.amazonaws.com",
        } for i in ids]
        self.answer(200, {"authorizationData": data})

    def answer(self, status, doc):
        out = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_ecr: " + fmt % args + "\n")


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
