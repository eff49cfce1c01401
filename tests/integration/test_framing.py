#!/usr/bin/python3
"""Malformed HTTP and request-smuggling shapes over raw sockets: each gets its status, the
connection is closed, and nothing reaches the upstream."""
from harness import GatewayTestCase, RawClient, main, request

H = b"Host: x\r\n"

# (name, raw request, expected status)
CASES = [
    ("cl_and_te", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_and_cl", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
    ("two_equal_cl", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
    ("two_different_cl", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
    ("cl_list", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nabc", 400),
    ("cl_plus_sign", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nabc", 400),
    ("cl_not_number", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 3x\r\n\r\nabc", 400),
    ("te_gzip_with_cl", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", 400),
    ("te_gzip_alone", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\nabc", 400),
    ("te_chunked_then_gzip", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("te_chunked_twice", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_gzip_chunked", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("te_in_http10", b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_obfuscated", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
    ("bad_chunk_size", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    ("obs_fold", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\r\n  folded\r\n\r\n", 400),
    ("nul_in_value", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    ("cr_in_value", b"GET /echo HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n", 400),
    ("bare_lf", b"GET /echo HTTP/1.1\n" + b"Host: x\n\n", 400),
    ("fragment_in_target", b"GET /echo#frag HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("space_before_colon", b"GET /echo HTTP/1.1\r\n" + H + b"X-A : a\r\n\r\n", 400),
    ("bad_field_name", b"GET /echo HTTP/1.1\r\n" + H + b"X(A): a\r\n\r\n", 400),
    ("empty_field_name", b"GET /echo HTTP/1.1\r\n" + H + b": a\r\n\r\n", 400),
    ("missing_host", b"GET /echo HTTP/1.1\r\n\r\n", 400),
    ("two_hosts", b"GET /echo HTTP/1.1\r\n" + H + b"Host: y\r\n\r\n", 400),
    ("bad_host", b"GET /echo HTTP/1.1\r\nHost: a b/c\r\n\r\n", 400),
    ("bad_request_line", b"GET  /echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("bad_version", b"GET /echo HTTP/1.x\r\n" + H + b"\r\n", 400),
    ("http2_version", b"GET /echo HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("relative_target", b"GET echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("userinfo_in_absolute_form", b"GET http://user@x/echo HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("control_byte_in_target", b"GET /ec\x01ho HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("non_ascii_in_target", b"GET /\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("connect", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501),
    ("unknown_expectation", b"GET /echo HTTP/1.1\r\n" + H + b"Expect: magic\r\n\r\n", 417),
]


class FramingTest(GatewayTestCase):
    def check(self, name, raw, status):
        before = self.upstream_stats()["requests"]
        c = RawClient(self.port)
        c.send(raw)
        r = c.read_response()
        self.assertEqual(r.status, status, "%s: %s" % (name, r.body))
        self.assertIn(r.json()["error"], ("bad_request", "not_implemented", "http_version_not_supported",
                                          "expectation_failed"))
        self.assertEqual(r.header("Connection"), "close", name)
        self.assertTrue(c.is_closed(), name + ": connection left open")
        c.close()
        after = self.upstream_stats()["requests"]
        allowed = 1 if name == "bad_chunk_size" else 0  # the head is forwarded before the body goes bad
        self.assertLessEqual(after - before - 1, allowed, name + ": reached the upstream")  # -1: the stats request

    def test_every_shape(self):
        for name, raw, status in CASES:
            with self.subTest(name):
                self.check(name, raw, status)

    def test_bad_chunk_never_completes_upstream(self):
        # The upstream may see the head of a request whose chunked body turns out bad, but never a
        # complete request: its connection is dropped, so the half request is discarded.
        c = RawClient(self.port)
        c.send(b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nabc\r\nXYZ\r\n0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 400)
        self.assertTrue(c.is_closed())

    def test_leading_empty_lines_ignored(self):
        c = RawClient(self.port)
        c.send(b"\r\n\r\nGET /echo HTTP/1.1\r\n" + H + b"\r\n")
        self.assertEqual(c.read_response().status, 200)

    def test_healthy_after_garbage(self):
        c = RawClient(self.port)
        c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
        self.assertEqual(c.read_response().status, 400)
        self.assertEqual(request(self.port, "GET", "/echo").status, 200)


if __name__ == "__main__":
    main()
