#!/usr/bin/python3
"""A tiny HTTP/1.1 upstream for the relay bench, on 127.0.0.1 only (one thread per connection).

  POST/PUT any path   reads the whole body (Content-Length or chunked) before answering, then
                      answers 200 with the byte count as the body, so the client can check that
                      every byte went through (nginx `return 200` answers before the body is read).
  GET /chunked/N      answers N bytes of zeros with Transfer-Encoding: chunked (64 KiB chunks).

Usage: bench_upstream.py PORT"""
import socket
import socketserver
import sys

CHUNK = 64 * 1024
ZEROS = bytes(1 << 20)


class Handler(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.scratch = bytearray(1 << 20)

    def fill(self):
        n = self.request.recv_into(self.scratch)
        if n == 0:
            raise EOFError
        self.buf += memoryview(self.scratch)[:n]

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            self.fill()

    def discard(self, n):
        """Reads and drops exactly n body bytes; returns n."""
        left = n
        take = min(left, len(self.buf))
        del self.buf[:take]
        left -= take
        view = memoryview(self.scratch)
        while left:
            got = self.request.recv_into(view[:min(left, len(self.scratch))])
            if got == 0:
                raise EOFError
            left -= got
        return n

    def handle(self):
        try:
            while True:
                request_line = self.line()
                if not request_line:
                    continue
                method, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers = {}
                while True:
                    h = self.line()
                    if not h:
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                received = 0
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    while True:
                        size = int(self.line().split(b";")[0], 16)
                        if size == 0:
                            while self.line():  # trailers
                                pass
                            break
                        received += self.discard(size)
                        self.line()
                elif "content-length" in headers:
                    received = self.discard(int(headers["content-length"]))
                if method == "GET" and target.startswith("/chunked/"):
                    self.send_chunked(int(target.rsplit("/", 1)[1]))
                else:
                    body = b"%d\n" % received
                    self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                                         % (len(body), body))
        except (EOFError, ConnectionError, ValueError):
            pass

    def send_chunked(self, total):
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
        chunk_head = b"%x\r\n" % CHUNK
        frame = chunk_head + ZEROS[:CHUNK] + b"\r\n"
        frames_per_send = 16
        burst = frame * frames_per_send
        left = total
        while left >= CHUNK * frames_per_send:
            self.request.sendall(burst)
            left -= CHUNK * frames_per_send
        while left >= CHUNK:
            self.request.sendall(frame)
            left -= CHUNK
        if left:
            self.request.sendall(b"%x\r\n" % left + ZEROS[:left] + b"\r\n")
        self.request.sendall(b"0\r\n\r\n")


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


if __name__ == "__main__":
    with Server(("127.0.0.1", int(sys.argv[1])), Handler) as server:
        server.serve_forever()
