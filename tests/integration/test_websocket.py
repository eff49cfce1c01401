#!/usr/bin/python3
"""WebSocket tunnels through the real gateway: python3-websockets as the client and as the echo
upstream (tests/integration/ws_upstream.py, which records every handshake it saw), the HTTP echo
upstream for requests that must arrive as plain HTTP, and a raw-socket upstream that answers 101 to
anything (asked for or not) and shows what crosses the tunnel byte for byte.

Covers: the handshake decided by route policy (401/403 with nothing reaching the upstream), claim
headers injected and spoofed ones removed; text, binary and 1 MiB messages, ping/pong, the close
handshake; bytes read past either head; half-close; the idle timeout; close_at_token_expiry;
Upgrade dropped on routes without `websocket`, h2c dropped everywhere, an unasked 101 is 502;
the Sec-WebSocket-Protocol token source; tunnel metrics; explain; and drain with an open tunnel."""
import asyncio
import json
import os
import re
import signal
import socket
import tempfile
import threading
import time
import unittest

import websockets

from harness import Gateway, Upstream, free_port, main, request, run_claimgate, wait_for_port, wait_ready
from tokens import SigningKey, b64u, b64u_decode, jwks_json, mint, remember_secret, usso_claims

HERE = os.path.dirname(os.path.abspath(__file__))
ISS = "https://sso.ws.test"
PROTOCOL_PREFIX = "base64url.bearer.authorization.claimgate."
KEY = SigningKey("EdDSA", kid="ws")
MIB = 1 << 20


def token(ttl_s=3600, **claims):
    return mint(KEY, usso_claims(ISS, **claims), ttl_s=ttl_s)


def protocol_entry(tok):
    """The subprotocol that carries `tok` (base64url of the token, as Kubernetes does it)."""
    encoded = b64u(tok)
    remember_secret(encoded)  # the log scan looks for this form too
    return PROTOCOL_PREFIX + encoded


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def values(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


def config(listen, admin, ws_port, http_port, raw_port, jwks_path, drain_timeout_ms=2000):
    return """listen: "127.0.0.1:%d"
admin: "127.0.0.1:%d"
threads: 2
drain_timeout_ms: %d
token_sources:
  - { header: Authorization, prefix: "Bearer " }
  - { websocket_protocol: true }
providers:
  - { name: usso, issuer: "%s", audiences: [your-app], jwks_file: "%s", algorithms: [EdDSA], leeway_s: 0,
      roles_claim: roles, scopes_claim: scopes }
upstreams:
  ws: { url: "http://127.0.0.1:%d", connect_timeout_ms: 1000, response_timeout_ms: 3000 }
  http: { url: "http://127.0.0.1:%d", connect_timeout_ms: 1000, response_timeout_ms: 3000 }
  raw: { url: "http://127.0.0.1:%d", connect_timeout_ms: 1000, response_timeout_ms: 3000 }
routes:
  - name: ws-admin
    match: { path_prefix: /ws/admin }
    upstream: ws
    websocket: true
    require: { roles_any: [admin] }
  - name: ws-idle
    match: { path_prefix: /ws/idle }
    upstream: ws
    websocket: { idle_timeout_ms: 1000 }
  - name: ws-expiry
    match: { path_prefix: /ws/expiry }
    upstream: ws
    websocket: { close_at_token_expiry: true }
  - name: ws
    match: { path_prefix: /ws/ }
    upstream: ws
    websocket: true
  - name: ws-http
    match: { path_prefix: /ws-http/ }
    upstream: http
    websocket: true
  - name: plain
    match: { path_prefix: /plain/ }
    upstream: http
  - name: raw-ws
    match: { path_prefix: /raw-ws/ }
    upstream: raw
    auth: anonymous
    websocket: true
  - name: raw-plain
    match: { path_prefix: /raw-plain/ }
    upstream: raw
    auth: anonymous
""" % (listen, admin, drain_timeout_ms, ISS, jwks_path, ws_port, http_port, raw_port)


class RawUpgradeUpstream:
    """A socket server that answers every request with a 101 (Upgrade: websocket, or h2c for a
    path containing /h2c-answer), sends b"upstream-first", then echoes what it receives; at the
    gateway's EOF it sends b"bye" and closes. `heads` lists the request heads it read."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.heads = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    data += piece
                head, _, rest = data.partition(b"\r\n\r\n")
                self.heads.append(head.decode("latin-1"))
                protocol = b"h2c" if b"/h2c-answer" in head.split(b"\r\n")[0] else b"websocket"
                conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + protocol +
                             b"\r\nConnection: Upgrade\r\n\r\nupstream-first" + rest)
                while True:
                    piece = conn.recv(65536)
                    if not piece:
                        break
                    conn.sendall(piece)
                conn.sendall(b"bye")
            except OSError:
                pass

    def stop(self):
        self.listener.close()


def read_head(sock):
    """(status, [(name, value)], bytes after the head) from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            raise EOFError("closed before the end of the head: %r" % data)
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in lines[1:])]
    return int(lines[0].split(" ")[1]), headers, rest


def read_exactly(sock, n, have=b""):
    while len(have) < n:
        piece = sock.recv(65536)
        if not piece:
            break
        have += piece
    return have


HANDSHAKE = [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
             ("Sec-WebSocket-Version", "13")]


class Stack:
    """The upstreams, the JWKS file and a gateway in front of them."""

    def __init__(self, drain_timeout_ms=2000):
        self.dir = tempfile.mkdtemp(prefix="claimgate-ws-")
        self.jwks_path = os.path.join(self.dir, "jwks.json")
        with open(self.jwks_path, "w") as f:
            f.write(jwks_json([KEY]))
        self.ws = Upstream(script=os.path.join(HERE, "ws_upstream.py"))
        self.http = Upstream()
        self.raw = RawUpgradeUpstream()
        self.port, self.admin = free_port(), free_port()
        self.config_text = config(self.port, self.admin, self.ws.port, self.http.port, self.raw.port, self.jwks_path,
                                  drain_timeout_ms)
        self.gateway = Gateway(self.config_text)
        try:
            self.gateway.wait(self.port)
            wait_for_port(self.admin, proc=self.gateway.proc)
            wait_ready(self.admin)
        except Exception:
            self.stop_helpers()
            raise

    def stop_helpers(self):
        self.ws.stop()
        self.http.stop()
        self.raw.stop()

    def stop(self):
        try:
            code = self.gateway.stop()
        finally:
            self.stop_helpers()
        if code != 0:
            print(self.gateway.logs()[-4000:])
        return code

    def connect(self, path, tok=None, headers=(), subprotocols=None):
        extra = list(headers) + ([("Authorization", "Bearer " + tok)] if tok else [])
        return websockets.connect("ws://127.0.0.1:%d%s" % (self.port, path), extra_headers=extra,
                                  subprotocols=subprotocols, max_size=None, ping_interval=None, compression=None,
                                  open_timeout=5, close_timeout=5)

    def ws_stats(self):
        return request(self.ws.port, path="/stats").json()

    def metrics(self):
        return request(self.admin, path="/metrics").body.decode()

    def tunnel_logs(self):
        lines = []
        for line in self.gateway.logs().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "tunnel_closed":
                lines.append(entry)
        return lines

    def wait_tunnel_log(self, request_id, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.tunnel_logs():
                if entry.get("request_id") == request_id:
                    return entry
            time.sleep(0.05)
        raise AssertionError("no tunnel_closed line for request %s" % request_id)


def metric(text, name, labels=""):
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    return float(m.group(1)) if m else None


class WebSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack()

    @classmethod
    def tearDownClass(cls):
        assert cls.stack.stop() == 0, "claimgate exited non-zero"

    def case_id(self):
        """This test's X-Request-Id (at most 32 token characters, or the gateway makes its own)."""
        return self.id().split(".")[-1][len("test_"):][:32]

    async def handshake_seen(self, ws):
        await ws.send("__handshake__")
        return json.loads(await ws.recv())

    # ---- the handshake is a request like any other

    def test_handshake_injects_claims_and_removes_spoofed_headers(self):
        async def go():
            spoofed = [("X-User-Id", "evil"), ("X-User-Roles", "admin"), ("X_User_Id", "evil"), ("x-user-tenant", "evil")]
            async with self.stack.connect("/ws/echo?q=1", token(), spoofed) as ws:
                self.assertEqual(values(ws.response_headers.raw_items(), "Upgrade"), ["websocket"])
                self.assertEqual(values(ws.response_headers.raw_items(), "Connection"), ["Upgrade"])
                seen = await self.handshake_seen(ws)
            headers = seen["headers"]
            self.assertEqual(seen["path"], "/ws/echo?q=1")
            self.assertEqual(values(headers, "X-User-Id"), ["user:alice123"])
            self.assertEqual(values(headers, "X-User-Roles"), ["editor"])
            self.assertEqual(values(headers, "X-User-Tenant"), ["tenant-42"])
            self.assertFalse([n for n, v in headers if "evil" in v or n.lower() == "x_user_id"], headers)
            self.assertEqual(values(headers, "Upgrade"), ["websocket"])
            self.assertEqual(values(headers, "Connection"), ["Upgrade"])
            self.assertEqual(values(headers, "Sec-WebSocket-Version"), ["13"])
            self.assertEqual(len(values(headers, "Sec-WebSocket-Key")), 1)
            self.assertEqual(values(headers, "X-Forwarded-For"), ["127.0.0.1"])
        run(go())

    def assert_refused(self, status, path, tok=None):
        before = self.stack.ws_stats()["handshakes"]

        async def go():
            with self.assertRaises(websockets.InvalidStatusCode) as caught:
                async with self.stack.connect(path, tok):
                    pass
            return caught.exception
        refused = run(go())
        self.assertEqual(refused.status_code, status)
        self.assertIn("Bearer", refused.headers.get("WWW-Authenticate", ""))
        self.assertEqual(self.stack.ws_stats()["handshakes"], before, "the refused handshake reached the upstream")

    def test_handshake_without_token_is_401_before_the_upstream(self):
        self.assert_refused(401, "/ws/echo")

    def test_handshake_with_invalid_token_is_401_before_the_upstream(self):
        self.assert_refused(401, "/ws/echo", token(ttl_s=-60))

    def test_handshake_denied_by_policy_is_403_before_the_upstream(self):
        self.assert_refused(403, "/ws/admin/x", token())

    def test_handshake_allowed_by_policy(self):
        async def go():
            async with self.stack.connect("/ws/admin/x", token(roles=["admin"])) as ws:
                await ws.send("hi")
                self.assertEqual(await ws.recv(), "hi")
        run(go())

    # ---- the tunnel

    def test_text_binary_and_large_messages(self):
        async def go():
            async with self.stack.connect("/ws/echo", token()) as ws:
                await ws.send("héllo, wörld")
                self.assertEqual(await ws.recv(), "héllo, wörld")
                await ws.send(b"\x00\x01\xfe\xff" * 10)
                self.assertEqual(await ws.recv(), b"\x00\x01\xfe\xff" * 10)
                big = os.urandom(MIB)
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                text = ("x" * 1023 + "\n") * 1024
                await ws.send(text)
                self.assertEqual(await ws.recv(), text)
                for i in range(50):  # many in flight at once come back in order
                    await ws.send("m%d" % i)
                self.assertEqual([await ws.recv() for _ in range(50)], ["m%d" % i for i in range(50)])
        run(go())

    def test_ping_pong(self):
        async def go():
            async with self.stack.connect("/ws/echo", token()) as ws:
                for payload in (b"", b"p1", os.urandom(125)):
                    pong = await ws.ping(payload)
                    await asyncio.wait_for(pong, 5)
        run(go())

    def test_close_handshake(self):
        async def go():
            ws = await self.stack.connect("/ws/echo", token(), [("X-Request-Id", self.case_id())])
            await ws.send("before close")
            self.assertEqual(await ws.recv(), "before close")
            await ws.close(1000, "bye now")
            self.assertEqual(ws.close_code, 1000)
            self.assertEqual(ws.close_reason, "bye now")
        run(go())
        deadline = time.monotonic() + 5
        while {"code": 1000, "reason": "bye now"} not in self.stack.ws_stats()["closes"] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn({"code": 1000, "reason": "bye now"}, self.stack.ws_stats()["closes"])
        self.assertEqual(self.stack.wait_tunnel_log(self.case_id())["reason"], "closed")

    def test_idle_timeout_closes_the_tunnel(self):
        async def go():
            async with self.stack.connect("/ws/idle/x", token(), [("X-Request-Id", self.case_id())]) as ws:
                # Traffic keeps it open past the 1 s idle timeout...
                for i in range(8):
                    await asyncio.sleep(0.3)
                    await ws.send("keep %d" % i)
                    self.assertEqual(await ws.recv(), "keep %d" % i)
                # ...silence ends it.
                quiet = time.monotonic()
                await asyncio.wait_for(ws.wait_closed(), 5)
                return time.monotonic() - quiet
        quiet_s = run(go())
        self.assertGreater(quiet_s, 0.8)
        self.assertLess(quiet_s, 3.5)
        self.assertEqual(self.stack.wait_tunnel_log(self.case_id())["reason"], "idle_timeout")

    def test_close_at_token_expiry(self):
        short = token(ttl_s=3)
        expires = json.loads(b64u_decode(short.split(".")[1]))["exp"]

        async def go():
            async with self.stack.connect("/ws/expiry/x", short, [("X-Request-Id", self.case_id())]) as ws:
                echoed = 0
                try:
                    while True:
                        await ws.send("still here")
                        self.assertEqual(await ws.recv(), "still here")
                        echoed += 1
                        await asyncio.sleep(0.2)
                except websockets.ConnectionClosed:
                    pass
                return echoed, time.time()
        echoed, closed_at = run(go(), timeout=10)
        self.assertGreater(echoed, 3)
        self.assertGreater(closed_at, expires - 0.5)
        self.assertLess(closed_at, expires + 2)
        self.assertEqual(self.stack.wait_tunnel_log(self.case_id())["reason"], "token_expired")

    def test_bytes_past_the_heads_and_half_close(self):
        """The raw upstream sends bytes right behind its 101 and the client behind its request;
        after the client's half-close the upstream still answers, then closes."""
        sock = socket.create_connection(("127.0.0.1", self.stack.port), timeout=5)
        with sock:
            head = "GET /raw-ws/x HTTP/1.1\r\nHost: t\r\nX-Request-Id: %s\r\n" % self.case_id()
            head += "".join("%s: %s\r\n" % h for h in HANDSHAKE) + "\r\n"
            sock.sendall(head.encode() + b"early-client-bytes")
            status, headers, rest = read_head(sock)
            self.assertEqual(status, 101)
            self.assertEqual(values(headers, "Upgrade"), ["websocket"])
            self.assertEqual(values(headers, "Connection"), ["Upgrade"])
            expected = b"upstream-first" + b"early-client-bytes"
            self.assertEqual(read_exactly(sock, len(expected), rest), expected)
            sock.sendall(b"ping-1")
            self.assertEqual(read_exactly(sock, 6), b"ping-1")
            sock.shutdown(socket.SHUT_WR)
            self.assertEqual(read_exactly(sock, 3), b"bye")
            self.assertEqual(sock.recv(10), b"")
        entry = self.stack.wait_tunnel_log(self.case_id())
        self.assertEqual(entry["reason"], "closed")
        self.assertEqual(entry["bytes_to_upstream"], len(b"early-client-bytes" + b"ping-1"))
        self.assertEqual(entry["bytes_to_client"], len(expected + b"ping-1" + b"bye"))
        self.assertIn("Upgrade: websocket", self.stack.raw.heads[-1])

    # ---- what is not a WebSocket handshake on a WebSocket route

    def upstream_saw(self, path, headers):
        resp = request(self.stack.port, path=path, headers=list(headers) + [("Authorization", "Bearer " + token())])
        self.assertEqual(resp.status, 200, resp.body[:300])
        return resp.json()["headers"]

    def test_upgrade_dropped_on_a_route_without_websocket(self):
        seen = self.upstream_saw("/plain/x", HANDSHAKE)
        self.assertEqual(values(seen, "Upgrade"), [])
        self.assertFalse([v for v in values(seen, "Connection") if "upgrade" in v.lower()], seen)
        self.assertEqual(values(seen, "X-User-Id"), ["user:alice123"])

    def test_upgrade_forwarded_on_a_websocket_route(self):
        # The same request on a websocket route reaches an HTTP upstream as a handshake, whose
        # ordinary answer is relayed as such.
        seen = self.upstream_saw("/ws-http/x", HANDSHAKE)
        self.assertEqual(values(seen, "Upgrade"), ["websocket"])
        self.assertEqual(values(seen, "Connection"), ["Upgrade"])

    def test_h2c_upgrade_dropped_on_a_websocket_route(self):
        h2c = [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]
        seen = self.upstream_saw("/ws-http/x", h2c)
        self.assertEqual(values(seen, "Upgrade"), [])
        self.assertEqual(values(seen, "HTTP2-Settings"), [])
        self.assertFalse([v for v in values(seen, "Connection") if "upgrade" in v.lower()], seen)
        # Listed next to websocket, h2c is still not passed on.
        both = [("Connection", "Upgrade"), ("Upgrade", "h2c, websocket")] + HANDSHAKE[2:]
        self.assertEqual(values(self.upstream_saw("/ws-http/x", both), "Upgrade"), ["websocket"])

    def test_a_101_the_gateway_did_not_ask_for_is_502(self):
        h2c = [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]
        # (path, request headers, whether the upstream was asked to upgrade)
        cases = (("/raw-plain/x", HANDSHAKE, False),         # a route without websocket
                 ("/raw-plain/x", [], False),
                 ("/raw-ws/x", [], False),                   # a websocket route, no handshake
                 ("/raw-ws/x", h2c, False),
                 ("/raw-ws/h2c-answer", HANDSHAKE, True))    # asked for websocket, answered h2c
        for path, headers, asked in cases:
            with self.subTest(path=path, headers=headers):
                count = len(self.stack.raw.heads)
                resp = request(self.stack.port, path=path, headers=headers)
                self.assertEqual(resp.status, 502, resp.body[:300])
                self.assertEqual(len(self.stack.raw.heads), count + 1, "the upstream was not asked")
                self.assertEqual("\r\nUpgrade: websocket" in self.stack.raw.heads[-1], asked, self.stack.raw.heads[-1])

    # ---- the Sec-WebSocket-Protocol token source

    def test_token_in_websocket_protocol(self):
        tok = token()

        async def go():
            async with self.stack.connect("/ws/echo", subprotocols=[protocol_entry(tok), "chat"]) as ws:
                self.assertEqual(ws.subprotocol, "chat")
                seen = await self.handshake_seen(ws)
                self.assertEqual(values(seen["headers"], "Sec-WebSocket-Protocol"), ["chat"])
                self.assertEqual(values(seen["headers"], "X-User-Id"), ["user:alice123"])
                self.assertEqual(seen["subprotocol"], "chat")
            async with self.stack.connect("/ws/echo", subprotocols=[protocol_entry(tok)]) as ws:
                self.assertIsNone(ws.subprotocol)
                seen = await self.handshake_seen(ws)
                self.assertEqual(values(seen["headers"], "Sec-WebSocket-Protocol"), [])
                self.assertEqual(values(seen["headers"], "X-User-Id"), ["user:alice123"])
        run(go())

    def test_websocket_protocol_token_errors(self):
        async def status_of(subprotocols, tok=None):
            try:
                async with self.stack.connect("/ws/echo", tok, subprotocols=subprotocols):
                    return 101
            except websockets.InvalidStatusCode as e:
                return e.status_code
        good, bad = token(), token(ttl_s=-60)

        async def go():
            self.assertEqual(await status_of([protocol_entry(bad), "chat"]), 401)
            self.assertEqual(await status_of([PROTOCOL_PREFIX + "!!", "chat"]), 401)  # not base64url
            self.assertEqual(await status_of([protocol_entry(good), protocol_entry(good)]), 400)
            # Another source's different token must verify too, as with every source.
            self.assertEqual(await status_of([protocol_entry(bad)], good), 401)
            self.assertEqual(await status_of([protocol_entry(good)], good), 101)
        run(go())

    def test_websocket_protocol_is_read_only_in_handshakes(self):
        resp = request(self.stack.port, path="/plain/x", headers=[("Sec-WebSocket-Protocol", protocol_entry(token()))])
        self.assertEqual(resp.status, 401)

    # ---- metrics and explain

    def test_metrics_count_open_tunnels_and_bytes(self):
        before = self.stack.metrics()
        up0 = metric(before, "claimgate_tunnel_bytes_total", '{direction="to_upstream"}')
        down0 = metric(before, "claimgate_tunnel_bytes_total", '{direction="to_client"}')
        closed0 = metric(before, "claimgate_tunnels_closed_total", '{reason="closed"}') or 0
        payload = os.urandom(100_000)

        async def go():
            async with self.stack.connect("/ws/echo", token()) as ws:
                await ws.send(payload)
                self.assertEqual(await ws.recv(), payload)
                during = self.stack.metrics()
            return during
        during = run(go())
        self.assertEqual(metric(during, "claimgate_tunnels_open"), 1)
        self.assertGreaterEqual(metric(during, "claimgate_tunnel_bytes_total", '{direction="to_upstream"}') - up0, 100_000)
        self.assertGreaterEqual(metric(during, "claimgate_tunnel_bytes_total", '{direction="to_client"}') - down0, 100_000)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            after = self.stack.metrics()
            if metric(after, "claimgate_tunnels_open") == 0 and \
                    metric(after, "claimgate_tunnels_closed_total", '{reason="closed"}') == closed0 + 1:
                break
            time.sleep(0.05)
        self.assertEqual(metric(after, "claimgate_tunnels_open"), 0)
        self.assertEqual(metric(after, "claimgate_tunnels_closed_total", '{reason="closed"}'), closed0 + 1)
        self.assertRegex(after, r'claimgate_requests_total\{[^}]*route="ws"[^}]*status_class="1xx"[^}]*\} [1-9]')

    def test_explain_shows_the_websocket_route(self):
        tok = token()
        r = run_claimgate(["explain", "--config", self.stack.gateway.config_path, "--path", "/ws/idle/x",
                           "--header", "Connection: Upgrade", "--header", "Upgrade: websocket", "--token", tok])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("websocket (idle_timeout_ms 1000)", r.stdout)
        self.assertIn("as a WebSocket handshake", r.stdout)
        r = run_claimgate(["explain", "--config", self.stack.gateway.config_path, "--path", "/ws/expiry/x",
                           "--token", tok, "--json"])
        report = json.loads(r.stdout)
        self.assertEqual(report["route"]["websocket"], {"close_at_token_expiry": True, "idle_timeout_ms": 300000})
        self.assertFalse(report["answer"]["upgrade"])  # no handshake asked for


class DrainTest(unittest.TestCase):
    def test_drain_keeps_a_tunnel_until_drain_timeout(self):
        stack = Stack(drain_timeout_ms=3000)
        code = None
        try:
            async def go():
                async with stack.connect("/ws/echo", token(), [("X-Request-Id", "drain-case")]) as ws:
                    await ws.send("before")
                    self.assertEqual(await ws.recv(), "before")
                    stack.gateway.proc.send_signal(signal.SIGTERM)
                    sent = time.monotonic()
                    for i in range(6):  # works on while the drain runs
                        await asyncio.sleep(0.25)
                        await ws.send("during %d" % i)
                        self.assertEqual(await ws.recv(), "during %d" % i)
                    with self.assertRaises(OSError):  # no new connections meanwhile
                        socket.create_connection(("127.0.0.1", stack.port), timeout=1).close()
                    await asyncio.wait_for(ws.wait_closed(), 6)
                    return time.monotonic() - sent
            closed_after = run(go())
            self.assertGreater(closed_after, 2.5)
            self.assertLess(closed_after, 5)
            code = stack.gateway.proc.wait(10)
        finally:
            stack_code = stack.stop()
        self.assertEqual(code, 0)
        self.assertEqual(stack_code, 0)
        self.assertEqual(stack.wait_tunnel_log("drain-case")["reason"], "drain")
        stopped = [json.loads(line) for line in stack.gateway.logs().splitlines() if '"event":"stopped"' in line]
        self.assertEqual(stopped[-1]["cut_off_connections"], 1)


if __name__ == "__main__":
    main()
