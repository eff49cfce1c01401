#!/usr/bin/python3
"""A real JWKS server for integration tests, run as its own process on 127.0.0.1.

Two listeners on ephemeral ports:
  serving port  (HTTP, or HTTPS with --cert/--key): GET any path answers that path's document
  control port  (always plain HTTP):
      POST /control  JSON {"path": P (default /.well-known/jwks.json), and any of
                     "body": text to serve, "mode": "ok" | "error" | "close", "status": N (error
                     mode, default 500), "delay_ms": N (before answering), "max_age": N or null
                     (Cache-Control: max-age=N), "reset_stats": true}
      GET  /stats    JSON {"fetches": total GETs answered or not, "paths": {path: count},
                           "connections": accepted connections}
Prints "PORT <serving> CONTROL <control>" on stdout once listening.

Imported by tests: JwksServer (the client side) and make_test_pki (a CA, a server certificate for
127.0.0.1/localhost and one for a wrong host name, made with python3-cryptography).
"""
import argparse
import copy
import datetime
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_PATH = "/.well-known/jwks.json"
HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"

lock = threading.Lock()
DEFAULT_ENTRY = {"body": '{"keys":[]}', "mode": "ok", "status": 500, "delay_ms": 0, "max_age": None}
entries = {}
stats = {"fetches": 0, "paths": {}, "connections": 0}


def entry_for(path):
    with lock:
        return copy.deepcopy(entries.get(path, DEFAULT_ENTRY))


class ServingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        with lock:
            stats["connections"] += 1
        super().setup()

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        with lock:
            stats["fetches"] += 1
            stats["paths"][path] = stats["paths"].get(path, 0) + 1
        e = entry_for(path)
        if e["delay_ms"]:
            time.sleep(e["delay_ms"] / 1000)
        if e["mode"] == "close":
            self.close_connection = True
            return
        body = e["body"].encode()
        status = e["status"] if e["mode"] == "error" else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if e["max_age"] is not None:
            self.send_header("Cache-Control", "max-age=%d" % e["max_age"])
        self.end_headers()
        self.wfile.write(body)


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            self.answer(copy.deepcopy(stats))

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(n) or b"{}")
        path = req.pop("path", DEFAULT_PATH)
        with lock:
            if req.pop("reset_stats", False):
                stats.update({"fetches": 0, "paths": {}, "connections": 0})
            e = entries.setdefault(path, copy.deepcopy(DEFAULT_ENTRY))
            for k, v in req.items():
                if k not in DEFAULT_ENTRY:
                    raise ValueError("unknown control field " + k)
                e[k] = v
        self.answer({"ok": True})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ServingServer(Server):
    def handle_error(self, request, client_address):
        pass  # clients that hang up (timeouts, refused handshakes) are what several tests do


class TlsServer(ServingServer):
    def __init__(self, addr, handler, context):
        self.context = context
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake runs in the handler's thread (on first read), so a client that never
        # finishes it cannot stall the accept loop.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


def serve(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args(argv)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        serving = TlsServer(("127.0.0.1", 0), ServingHandler, ctx)
    else:
        serving = ServingServer(("127.0.0.1", 0), ServingHandler)
    control = Server(("127.0.0.1", 0), ControlHandler)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print("PORT", serving.server_address[1], "CONTROL", control.server_address[1], flush=True)
    serving.serve_forever()


# ---------------------------------------------------------------------------- client side


class JwksServer:
    """Starts jwks_server.py as a process; `tls` is (cert_path, key_path) for HTTPS."""

    def __init__(self, tls=None):
        cmd = [PYTHON, os.path.abspath(__file__)]
        if tls:
            cmd += ["--cert", tls[0], "--key", tls[1]]
        self.tls = bool(tls)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 4 or line[0] != "PORT":
            self.proc.kill()
            raise RuntimeError("jwks server did not start: %r" % line)
        self.port, self.control_port = int(line[1]), int(line[3])

    def origin(self, host="127.0.0.1"):
        return "%s://%s:%d" % ("https" if self.tls else "http", host, self.port)

    def url(self, path=DEFAULT_PATH, host="127.0.0.1"):
        return self.origin(host) + path

    def set(self, path=DEFAULT_PATH, **fields):
        fields["path"] = path
        req = urllib.request.Request("http://127.0.0.1:%d/control" % self.control_port,
                                     data=json.dumps(fields).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def serve_jwks(self, text, path=DEFAULT_PATH, **fields):
        return self.set(path, body=text, mode="ok", **fields)

    def stats(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/stats" % self.control_port, timeout=5) as r:
            return json.loads(r.read())

    def fetches(self, path=DEFAULT_PATH):
        return self.stats()["paths"].get(path, 0)

    def reset_stats(self):
        self.set(reset_stats=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def make_test_pki(directory):
    """Writes a test CA and two server certificates into `directory`; returns their paths:
    ca, cert + key (SAN 127.0.0.1 and localhost), wrong_cert + wrong_key (SAN wrong.example only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(key, path):
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(path, 0o600)

    def write_cert(cert, path):
        with open(path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(name("claimgate test CA")).issuer_name(name("claimgate test CA"))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    paths = {"ca": os.path.join(directory, "ca.pem")}
    write_cert(ca_cert, paths["ca"])

    def leaf(label, cn, sans):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca_cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                .sign(ca_key, hashes.SHA256()))
        paths[label + "cert"] = os.path.join(directory, label + "server.pem")
        paths[label + "key"] = os.path.join(directory, label + "server.key")
        write_cert(cert, paths[label + "cert"])
        write_key(key, paths[label + "key"])

    leaf("", "127.0.0.1", [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    leaf("wrong_", "wrong.example", [x509.DNSName("wrong.example")])
    return paths


if __name__ == "__main__":
    serve(sys.argv[1:])
