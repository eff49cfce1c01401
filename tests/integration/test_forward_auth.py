#!/usr/bin/python3
"""Forward-auth: Debian's real nginx with auth_request in front of claimgate's decision endpoint,
and a raw client speaking Traefik's forwardAuth header set."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import (Gateway, RawClient, Upstream, auth_config, free_port, main, request, stop_gateway_and_helpers,
                     stop_process, wait_for_port)
from tokens import SigningKey, jwks_json, mint

ISSUER = "https://idp.forward-auth.test"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


ROUTES = """
  - name: public
    match: { path_prefix: /public/ }
    upstream: app
    auth: anonymous
  - name: admin
    match: { path_prefix: /admin }
    upstream: app
    require: { roles_any: [admin] }
  - name: posts
    match: { path: /posts, methods: [POST] }
    upstream: app
    require: { scopes_all: ["write:posts"] }
  - name: app
    match: { path_prefix: /app/ }
    upstream: app
    require: {}
"""


def gateway_config(port, admin, upstream_port, jwks_path, trusted='["127.0.0.1/32"]'):
    provider = {"name": "local", "issuer": ISSUER, "audiences": ["fa"], "jwks_file": jwks_path, "algorithms": ["EdDSA"]}
    return auth_config(port, admin, upstream_port, [provider], routes=ROUTES,
                       extra="forward_auth: { path: /auth, trusted_sources: %s }" % trusted)


NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %(dir)s/body;
  proxy_temp_path %(dir)s/proxy;
  fastcgi_temp_path %(dir)s/fastcgi;
  uwsgi_temp_path %(dir)s/uwsgi;
  scgi_temp_path %(dir)s/scgi;
  server {
    listen 127.0.0.1:%(port)d;
    location / {
      auth_request /_claimgate;
      auth_request_set $user_id $upstream_http_x_user_id;
      auth_request_set $user_roles $upstream_http_x_user_roles;
      auth_request_set $auth_challenge $upstream_http_www_authenticate;
      proxy_set_header X-User-Id $user_id;
      proxy_set_header X-User-Roles $user_roles;
      proxy_pass http://127.0.0.1:%(upstream)d;
      error_page 401 = @unauthorized;
    }
    location = /_claimgate {
      internal;
      proxy_pass http://127.0.0.1:%(gateway)d/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }
    location @unauthorized {
      add_header WWW-Authenticate $auth_challenge always;
      return 401;
    }
  }
}
"""


class ForwardAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.key = SigningKey("EdDSA", kid="fa")
        cls.dir = tempfile.mkdtemp(prefix="claimgate-fa-")
        cls.jwks_path = os.path.join(cls.dir, "jwks.json")
        with open(cls.jwks_path, "w") as f:
            f.write(jwks_json([cls.key]))
        cls.upstream = Upstream()
        cls.port, cls.admin = free_port(), free_port()
        cls.gateway = Gateway(gateway_config(cls.port, cls.admin, cls.upstream.port, cls.jwks_path))
        cls.gateway.wait(cls.port)
        cls.nginx_port = free_port()
        with open(os.path.join(cls.dir, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF % {"dir": cls.dir, "port": cls.nginx_port, "upstream": cls.upstream.port,
                                  "gateway": cls.port})
        cls.nginx = subprocess.Popen([NGINX, "-p", cls.dir, "-c", "nginx.conf"], stderr=subprocess.DEVNULL)
        wait_for_port(cls.nginx_port, proc=cls.nginx)

        def token(**claims):
            base = {"iss": ISSUER, "aud": "fa", "sub": "user:bob", "roles": ["editor"], "scopes": ["write:posts"]}
            base.update(claims)
            return mint(cls.key, base)
        cls.editor = token()
        cls.admin_token = token(roles=["admin", "ops"])

    @classmethod
    def tearDownClass(cls):
        stop_process(cls.nginx)
        stop_gateway_and_helpers(cls.gateway, cls.upstream)

    def decide(self, headers, source_port=None):
        return request(self.port, "GET", "/auth", headers=headers)

    # --- nginx auth_request ------------------------------------------------------------------

    def test_nginx_allows_and_copies_claim_headers(self):
        r = request(self.nginx_port, "GET", "/app/x?y=1", headers=[("Authorization", "Bearer " + self.admin_token),
                                                                    ("X-User-Id", "spoofed")])
        self.assertEqual(r.status, 200)
        got = {n.lower(): v for n, v in r.json()["headers"]}
        self.assertEqual(got["x-user-id"], "user:bob")
        self.assertEqual(got["x-user-roles"], "admin,ops")

    def test_nginx_denies_missing_and_forbidden(self):
        r = request(self.nginx_port, "GET", "/app/x")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"), 'Bearer realm="claimgate"')
        r = request(self.nginx_port, "GET", "/admin/users", headers=[("Authorization", "Bearer " + self.editor)])
        self.assertEqual(r.status, 403)

    def test_nginx_path_tricks_do_not_reach_admin(self):
        for path in ("/public/../admin/x", "/public/%2e%2e/admin/x", "/%61dmin/x", "//admin/x", "/admin;x/y"):
            r = request(self.nginx_port, "GET", path, headers=[("Authorization", "Bearer " + self.editor)])
            self.assertEqual(r.status, 403, path)

    # --- Traefik forwardAuth header set ------------------------------------------------------

    def traefik(self, method, uri, token=None, host="api.example.com"):
        headers = [("X-Forwarded-Method", method), ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", host),
                   ("X-Forwarded-Uri", uri), ("X-Forwarded-For", "203.0.113.9")]
        if token:
            headers.append(("Authorization", "Bearer " + token))
        return self.decide(headers)

    def test_traefik_allow_returns_claim_headers(self):
        r = self.traefik("POST", "/posts", self.editor)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-User-Id"), "user:bob")
        self.assertEqual(r.header("X-User-Scopes"), "write:posts")

    def test_traefik_deny_with_challenges(self):
        r = self.traefik("POST", "/posts")
        self.assertEqual((r.status, r.header("WWW-Authenticate")), (401, 'Bearer realm="claimgate"'))
        r = self.traefik("GET", "/admin/x", self.editor)
        self.assertEqual(r.status, 403)
        self.assertIn('error="insufficient_scope"', r.header("WWW-Authenticate"))
        r = self.traefik("GET", "/app/x", self.editor + "x")
        self.assertEqual(r.status, 401)
        self.assertIn('error="invalid_token"', r.header("WWW-Authenticate"))

    def test_no_route_is_403_not_404(self):
        r = self.traefik("GET", "/nowhere", self.editor)
        self.assertEqual(r.status, 403)
        r = self.traefik("DELETE", "/posts", self.editor)  # method not routed
        self.assertEqual(r.status, 403)

    def test_missing_uri_is_refused(self):
        self.assertEqual(self.decide([("Authorization", "Bearer " + self.editor)]).status, 403)

    def test_duplicate_authorization_is_401_not_400(self):
        r = self.decide([("X-Forwarded-Uri", "/app/x"), ("Authorization", "Bearer a"), ("Authorization", "Bearer b")])
        self.assertEqual(r.status, 401)


class UntrustedSourceTest(unittest.TestCase):
    def test_forwarded_headers_from_untrusted_source_are_refused(self):
        key = SigningKey("EdDSA", kid="u")
        d = tempfile.mkdtemp(prefix="claimgate-fa-")
        jwks_path = os.path.join(d, "jwks.json")
        with open(jwks_path, "w") as f:
            f.write(jwks_json([key]))
        upstream = Upstream()
        port, admin = free_port(), free_port()
        gw = Gateway(gateway_config(port, admin, upstream.port, jwks_path, trusted='["10.0.0.0/8"]'))
        try:
            gw.wait(port)
            token = mint(key, {"iss": ISSUER, "aud": "fa", "sub": "x", "roles": ["admin"]})
            r = request(port, "GET", "/auth", headers=[("X-Forwarded-Uri", "/admin/x"), ("Authorization", "Bearer " + token)])
            self.assertEqual(r.status, 403)
            self.assertIn("trusted", r.json()["error_description"])
        finally:
            stop_gateway_and_helpers(gw, upstream)


if __name__ == "__main__":
    main()
