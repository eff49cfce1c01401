#!/usr/bin/python3
"""A real upstream for integration tests: a threaded HTTP/1.1 server on 127.0.0.1.

Every response carries what the server received as JSON (or a streamed body for /stream).
Paths:
  /echo...            JSON: method, target, headers (list of [name, value]), body_bytes, body_sha256,
                      connection id, request count on this connection
  /stream?bytes=N&chunked=1   N bytes of a repeating pattern, chunked or with Content-Length
  /slow?ms=N          waits N ms, then answers like /echo
  /cut?bytes=N        announces 2N bytes with Content-Length, sends N, closes
  /reset              closes the connection without answering
  /stats              JSON: total requests and connections seen
Prints "PORT <n>" on stdout once listening.
"""
import hashlib
import json
import socket
import socketserver
import sys
import threading
import time
from urllib.parse import urlsplit, parse_qs

PATTERN = bytes(range(256)) * 256  # 64 KiB

stats_lock = threading.Lock()
stats = {"requests": 0, "connections": 0}


class Handler(socketserver.StreamRequestHandler):
    rbufsize = 1 << 16

    def setup(self):
        super().setup()
        with stats_lock:
            stats["connections"] += 1
            self.conn_id = stats["connections"]
        self.count = 0

    def handle(self):
        while True:
            line = self.rfile.readline(65537)
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            try:
                method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ")
            except ValueError:
                return
            headers = []
            while True:
                h = self.rfile.readline(65537)
                if h in (b"\r\n", b"\n", b""):
                    break
                name, _, value = h.decode("latin-1").partition(":")
                headers.append([name, value.strip()])
            self.count += 1
            with stats_lock:
                stats["requests"] += 1
            lower = {n.lower(): v for n, v in headers}
            digest = hashlib.sha256()
            size = 0
            if "chunked" in lower.get("transfer-encoding", "").lower():
                while True:
                    size_line = self.rfile.readline()
                    if not size_line.strip():
                        return  # the gateway dropped a request whose body went bad
                    n = int(size_line.split(b";")[0], 16)
                    if n == 0:
                        while self.rfile.readline() not in (b"\r\n", b""):
                            pass
                        break
                    left = n
                    while left:
                        data = self.rfile.read(min(left, 1 << 16))
                        digest.update(data)
                        size += len(data)
                        left -= len(data)
                    self.rfile.readline()
            elif "content-length" in lower:
                left = int(lower["content-length"])
                while left:
                    data = self.rfile.read(min(left, 1 << 16))
                    if not data:
                        return
                    digest.update(data)
                    size += len(data)
                    left -= len(data)
            url = urlsplit(target)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            close = (lower.get("connection", "").lower() == "close" or version == "HTTP/1.0"
                     or query.get("close") == "1")
            if url.path == "/reset":
                self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.request.close()
                return
            if url.path == "/stream":
                self.stream(int(query.get("bytes", "0")), query.get("chunked") == "1", method == "HEAD")
            elif url.path == "/cut":
                # Half the promised body (Content-Length, or one chunk of an unfinished chunked
                # body), then a FIN, or a RST with rst=1.
                n = int(query.get("bytes", "1000"))
                body = PATTERN[:n] if n <= len(PATTERN) else b"x" * n
                if query.get("chunked") == "1":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % n + body + b"\r\n")
                else:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (2 * n) + body)
                self.wfile.flush()
                if query.get("rst") == "1":
                    self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.request.close()
                else:
                    self.request.shutdown(socket.SHUT_RDWR)
                return
            else:
                if url.path == "/slow":
                    time.sleep(int(query.get("ms", "1000")) / 1000)
                if url.path == "/stats":
                    with stats_lock:
                        body = json.dumps(stats).encode()
                else:
                    body = json.dumps({
                        "method": method, "target": target, "version": version, "headers": headers,
                        "body_bytes": size, "body_sha256": digest.hexdigest(),
                        "connection": self.conn_id, "request_on_connection": self.count,
                    }).encode()
                status = int(query.get("status", "200"))
                head = b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (status, len(body))
                if query.get("hop") == "1":
                    head += b"Connection: X-Upstream-Secret\r\nX-Upstream-Secret: s\r\nKeep-Alive: timeout=5\r\n"
                if close:
                    head += b"Connection: close\r\n"
                self.wfile.write(head + b"\r\n" + (b"" if method == "HEAD" else body))
            self.wfile.flush()
            if close:
                return
            if query.get("hangup") == "1":  # answered as keep-alive, then closed without a word
                self.request.shutdown(socket.SHUT_RDWR)
                return

    def stream(self, n, chunked, head_only):
        if chunked:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        else:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
        if head_only:
            return
        left = n
        while left:
            piece = PATTERN[: min(left, len(PATTERN))]
            if chunked:
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            left -= len(piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Handler)
    print("PORT", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
