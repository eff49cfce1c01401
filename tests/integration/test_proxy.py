#!/usr/bin/python3
"""The proxy core against a real upstream: forwarding, streaming, keep-alive, errors."""
import hashlib
import socket
import threading
import time

from harness import (GatewayTestCase, RawClient, basic_config, free_port, main, request, Gateway, Upstream,
                     wait_for_port)


def sent_headers(resp):
    return {n.lower(): v for n, v in resp.json()["headers"]}


class ForwardingTest(GatewayTestCase):
    def test_forwards_method_target_body_and_host(self):
        r = request(self.port, "POST", "/echo/a?b=c", headers=[("X-Case", "forwarding")], body=b"hello", host="api.example.com")
        self.assertEqual(r.status, 200)
        got = r.json()
        self.assertEqual(got["method"], "POST")
        self.assertEqual(got["target"], "/echo/a?b=c")
        self.assertEqual(got["body_bytes"], 5)
        h = sent_headers(r)
        self.assertEqual(h["host"], "api.example.com")
        self.assertEqual(h["x-case"], "forwarding")

    def test_forwarded_headers_set_by_gateway_for_untrusted_client(self):
        r = request(self.port, "GET", "/echo", headers=[
            ("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example"),
            ("X-Real-IP", "6.6.6.6")], host="api.example.com")
        h = sent_headers(r)
        self.assertEqual(h["x-forwarded-for"], "6.6.6.6, 127.0.0.1")  # appended, as nginx does
        self.assertEqual(h["x-forwarded-proto"], "http")
        self.assertEqual(h["x-forwarded-host"], "api.example.com")
        self.assertEqual(h["x-real-ip"], "127.0.0.1")

    def test_hop_by_hop_headers_removed(self):
        r = request(self.port, "GET", "/echo", headers=[
            ("Connection", "X-Secret, x-forwarded-for, content-length"), ("X-Secret", "s"), ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"), ("Upgrade", "websocket"), ("Proxy-Connection", "keep-alive")])
        h = sent_headers(r)
        for name in ("x-secret", "keep-alive", "te", "upgrade", "proxy-connection"):
            self.assertNotIn(name, h)
        self.assertEqual(h["x-forwarded-for"], "127.0.0.1")  # the gateway's own header survives Connection
        self.assertNotIn("close", h.get("connection", ""))

    def test_hop_by_hop_response_headers_removed(self):
        r = request(self.port, "GET", "/echo?hop=1")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("X-Upstream-Secret"))
        self.assertIsNone(r.header("Keep-Alive"))

    def test_head_request(self):
        r = request(self.port, "HEAD", "/stream?bytes=1000")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Length"), "1000")

    def test_http10_without_host(self):
        c = RawClient(self.port)
        c.send(b"GET /echo HTTP/1.0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(sent_headers(r)["host"], "127.0.0.1:%d" % self.upstream.port)
        self.assertTrue(c.is_closed())

    def test_absolute_form_target(self):
        r = RawClient(self.port)
        r.send(b"GET http://Api.Example.com/echo?x=1 HTTP/1.1\r\nHost: ignored.example\r\n\r\n")
        resp = r.read_response()
        self.assertEqual(resp.json()["target"], "/echo?x=1")
        self.assertEqual(sent_headers(resp)["host"], "Api.Example.com")


class KeepAliveTest(GatewayTestCase):
    def test_client_keep_alive_and_upstream_reuse(self):
        c = RawClient(self.port)
        seen = set()
        for i in range(5):
            c.send(b"GET /echo/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["target"], "/echo/%d" % i)
            seen.add(r.json()["connection"])
        self.assertEqual(len(seen), 1, "the upstream connection was not reused: %s" % seen)
        c.close()

    def test_pipelined_requests_answered_in_order(self):
        c = RawClient(self.port)
        c.send(b"".join(b"GET /echo/p%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(10)) +
               b"POST /echo/last HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        for i in range(10):
            self.assertEqual(c.read_response().json()["target"], "/echo/p%d" % i)
        last = c.read_response().json()
        self.assertEqual((last["target"], last["body_bytes"]), ("/echo/last", 3))
        c.close()

    def test_upstream_closing_its_connection_is_replaced(self):
        # The upstream answers with "Connection: close" and closes; the next request must get a
        # fresh upstream connection, never the dead one.
        closed = request(self.port, "GET", "/echo?close=1").json()["connection"]
        for _ in range(4):
            r = request(self.port, "GET", "/echo")
            self.assertEqual(r.status, 200)
            self.assertNotEqual(r.json()["connection"], closed)


    def test_upstream_silently_closing_a_pooled_connection(self):
        # The upstream answers as keep-alive and then closes. A bodiless request that meets the
        # dead pooled connection is sent again on a fresh one; a request with a body is never
        # sent on a pooled connection the upstream has already closed.
        c = RawClient(self.port)  # one client connection: one worker, one pool
        for _ in range(3):
            for method, body in (("GET", b""), ("POST", b"b" * 1000), ("PUT", b"")):
                c.send(b"GET /echo?hangup=1 HTTP/1.1\r\nHost: x\r\n\r\n")
                dead = c.read_response().json()["connection"]
                time.sleep(0.05)  # the upstream's FIN is in
                c.send(b"%s /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (method.encode(), len(body), body))
                r = c.read_response()
                self.assertEqual(r.status, 200, method)
                self.assertEqual(r.json()["body_bytes"], len(body))
                self.assertNotEqual(r.json()["connection"], dead)
        c.close()


class StreamingTest(GatewayTestCase):
    SIZE = 256 * 1024 * 1024

    def test_chunked_request_body(self):
        c = RawClient(self.port)
        body = b"".join(b"%x\r\n%s\r\n" % (n, b"z" * n) for n in (1, 100, 5000)) + b"0\r\n\r\n"
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        got = c.read_response().json()
        self.assertEqual(got["body_bytes"], 5101)
        self.assertEqual(got["body_sha256"], hashlib.sha256(b"z" * 5101).hexdigest())
        self.assertIn(["Transfer-Encoding", "chunked"], got["headers"])

    def test_chunked_response_body(self):
        c = RawClient(self.port)
        c.send(b"GET /stream?bytes=300000&chunked=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.header("Transfer-Encoding"), "chunked")
        self.assertEqual(len(r.body), 300000)

    def test_close_delimited_to_http10_client(self):
        c = RawClient(self.port)
        c.send(b"GET /stream?bytes=100000&chunked=1 HTTP/1.0\r\n\r\n")
        r = c.read_response()
        self.assertIsNone(r.header("Transfer-Encoding"))
        self.assertEqual(len(r.body), 100000)

    def test_large_upload_streams_with_flat_rss(self):
        before = self.gateway.rss_kib()
        c = RawClient(self.port, timeout=60)
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % self.SIZE)
        block = b"u" * (1 << 20)
        peak = before
        for i in range(self.SIZE // len(block)):
            c.send(block)
            if i % 32 == 0:
                peak = max(peak, self.gateway.rss_kib())
        got = c.read_response().json()
        self.assertEqual(got["body_bytes"], self.SIZE)
        self.assertLess(peak - before, 32 * 1024, "RSS grew by %d KiB during a 256 MiB upload" % (peak - before))

    def test_large_download_streams_with_flat_rss(self):
        before = self.gateway.rss_kib()
        c = RawClient(self.port, timeout=60)
        c.send(b"GET /stream?bytes=%d HTTP/1.1\r\nHost: x\r\n\r\n" % self.SIZE)
        peak = [before]
        count = [0]

        def sink(data):
            count[0] += 1
            if count[0] % 512 == 0:
                peak[0] = max(peak[0], self.gateway.rss_kib())
        r = c.read_response(sink=sink)
        self.assertEqual(r.body_length, self.SIZE)
        self.assertLess(peak[0] - before, 32 * 1024, "RSS grew by %d KiB during a 256 MiB download" % (peak[0] - before))

    def test_expect_100_continue(self):
        c = RawClient(self.port)
        c.send(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        interim = c.read_response()
        self.assertEqual(interim.status, 100)
        c.send(b"data")
        got = c.read_response().json()
        self.assertEqual(got["body_bytes"], 4)
        self.assertNotIn("expect", {n.lower() for n, _ in got["headers"]})


class LimitsTest(GatewayTestCase):
    @classmethod
    def config(cls, listen, admin, upstream_port):
        routes = """
  - name: echo
    match: { path_prefix: /echo }
    upstream: app
    auth: anonymous
  - name: posts
    match: { path: /posts, methods: [POST] }
    upstream: app
    auth: anonymous
  - name: rest
    match: { path_prefix: /stream }
    upstream: app
    auth: anonymous
"""
        return basic_config(listen, admin, upstream_port, routes=routes, extra="""client:
  max_request_header_bytes: 4096
  max_request_body_bytes: 1000
  request_header_timeout_ms: 1000
  idle_timeout_ms: 3000""")

    def test_no_route_is_404_json(self):
        for method, path in (("GET", "/nothing"), ("GET", "/posts"), ("GET", "/echoes")):
            r = request(self.port, method, path)
            self.assertEqual(r.status, 404, path)
            self.assertEqual(r.json()["error"], "not_found")
            self.assertEqual(r.header("Content-Type"), "application/json")

    def test_404_keeps_connection(self):
        c = RawClient(self.port)
        c.send(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(c.read_response().status, 404)
        c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)

    def test_body_too_large_by_content_length(self):
        r = request(self.port, "POST", "/echo", body=b"x" * 1001)
        self.assertEqual(r.status, 413)
        self.assertEqual(r.json()["error"], "payload_too_large")

    def test_body_too_large_chunked(self):
        c = RawClient(self.port)
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + b"y" * 1024 + b"\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 413)
        self.assertTrue(c.is_closed())

    def test_header_too_large_is_431(self):
        c = RawClient(self.port)
        c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 431)
        self.assertTrue(c.is_closed())

    def test_slowloris_closed_at_header_timeout(self):
        c = RawClient(self.port)
        c.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        for _ in range(20):
            try:
                c.send(b"X-Slow: 1\r\n")
            except OSError:
                break
            if c.is_closed(timeout=0.25):
                break
        self.assertTrue(c.is_closed(timeout=2))
        self.assertLess(time.monotonic() - start, 3.0)


class UpstreamErrorsTest(GatewayTestCase):
    @classmethod
    def config(cls, listen, admin, upstream_port):
        cls.dead_port = free_port()
        return """listen: "127.0.0.1:%d"
admin: "127.0.0.1:%d"
threads: 1
upstreams:
  app: { url: "http://127.0.0.1:%d", response_timeout_ms: 500 }
  dead: { url: "http://127.0.0.1:%d", connect_timeout_ms: 500 }
routes:
  - match: { path_prefix: /dead }
    upstream: dead
    auth: anonymous
  - match: { path_prefix: / }
    upstream: app
    auth: anonymous
""" % (listen, admin, upstream_port, cls.dead_port)

    def test_refused_is_502(self):
        r = request(self.port, "GET", "/dead")
        self.assertEqual(r.status, 502)
        self.assertEqual(r.json()["error"], "bad_gateway")

    def test_slow_upstream_is_504_and_others_still_served(self):
        results = {}

        def slow():
            results["slow"] = request(self.port, "GET", "/slow?ms=1500").status
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.1)
        self.assertEqual(request(self.port, "GET", "/echo").status, 200)
        t.join()
        self.assertEqual(results["slow"], 504)

    def test_reset_is_502(self):
        self.assertEqual(request(self.port, "GET", "/reset").status, 502)

    def test_response_cut_midway_closes_client(self):
        """The upstream stops mid-body (FIN or RST, Content-Length or chunked): the client gets the
        bytes that came and then the connection closes at once, well before any timeout (500 ms),
        never a completed response."""
        for query in ("", "&rst=1", "&chunked=1", "&chunked=1&rst=1"):
            with self.subTest(query=query):
                c = RawClient(self.port)
                start = time.monotonic()
                c.send(b"GET /cut?bytes=5000%s HTTP/1.1\r\nHost: x\r\n\r\n" % query.encode())
                with self.assertRaises((EOFError, ConnectionResetError)):
                    c.read_response()
                self.assertLess(time.monotonic() - start, 0.4)
                c.close()
                self.assertEqual(request(self.port, "GET", "/echo").status, 200)


if __name__ == "__main__":
    main()
