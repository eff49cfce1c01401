/* Load generators and an echo upstream for bench/tls_bench.py, one epoll loop each, no threads.

   netload handshakes PORT SECONDS CONCURRENCY SNI
       CONCURRENCY slots, each in a loop: connect, a new full TLS 1.3 handshake (no session
       cache, no tickets kept, no PSK offered), "GET / HTTP/1.1", read the whole response,
       close. Counts only exchanges that completed with a 200 inside SECONDS; counts resumed
       sessions (must stay 0) and the session tickets the server sent. The certificate chain is
       not checked (the client is the load generator; the CertificateVerify signature still
       is, as TLS 1.3 always does).
   netload ws-client PORT SECONDS CONNECTIONS MSG_BYTES PATH
       CONNECTIONS WebSocket connections (upgrade checked: 101 and the right
       Sec-WebSocket-Accept), then each one sends a masked binary frame of MSG_BYTES payload,
       waits for the whole frame to come back and sends the next. Counts round trips and
       payload bytes in SECONDS. The first echo on every connection is compared byte for byte;
       later ones are counted and discarded (recv MSG_TRUNC) so the client's own copies do not
       compete with the proxy for CPU.
   netload ws-echo PORT
       WebSocket echo upstream: answers the upgrade with 101, then echoes every byte it gets back
       as it came (frames are not parsed: the proxies under test do not parse them either).
       Large echoes go through a pipe with splice(2), so no copy to user space. Runs until
       SIGTERM.

   Clients print one JSON object on stdout, including their own CPU time (getrusage). Build:
   cc -O2 -o netload netload.c -lssl -lcrypto */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char* what) {
    perror(what);
    exit(2);
}

static int tcp_connect(int port, int nonblock) {
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr*)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static void ep_set(int ep, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    if (epoll_ctl(ep, op, fd, &ev) < 0) die("epoll_ctl");
}

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------------------------------ */
/* handshakes */

enum { HS_CONNECT, HS_TLS, HS_WRITE, HS_READ };

struct hs_slot {
    int fd;
    int state;
    SSL* ssl;
    double t0;
    char buf[4096];
    int len;
};

static long tickets;

static int count_ticket(SSL* ssl, SSL_SESSION* sess) {
    (void)ssl;
    (void)sess;
    tickets++;
    return 0; /* not kept: nothing is ever resumed */
}

static struct {
    SSL_CTX* ctx;
    int ep, port;
    const char* sni;
    struct hs_slot* slots;
    double deadline;
    double* lat;
    size_t nlat, lat_cap;
    long done, errors, resumed, connect_errors, non200;
    char version[32], cipher[64], group[32], alpn[32];
} H;

static const char hs_req[] = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";

static void hs_start(int i) {
    struct hs_slot* s = &H.slots[i];
    for (;;) {
        s->fd = tcp_connect(H.port, 1);
        if (s->fd >= 0) break;
        H.connect_errors++;
        if (now_s() > H.deadline) return;
        usleep(1000);
    }
    s->state = HS_CONNECT;
    s->ssl = NULL;
    s->len = 0;
    s->t0 = now_s();
    ep_set(H.ep, EPOLL_CTL_ADD, s->fd, EPOLLOUT, i);
}

static void hs_finish(int i, int ok) {
    struct hs_slot* s = &H.slots[i];
    if (ok) {
        H.done++;
        if (H.nlat < H.lat_cap) H.lat[H.nlat++] = now_s() - s->t0;
    } else {
        H.errors++;
        ERR_clear_error();
    }
    if (s->ssl) SSL_free(s->ssl); /* no close_notify: the client closes after the response, as browsers do */
    close(s->fd);
    s->fd = -1;
    if (now_s() < H.deadline) hs_start(i);
}

/* Drives slot i as far as it goes: the events to wait for, 0 when it finished (and was
   restarted), -1 on an error. */
static int hs_step(int i) {
    struct hs_slot* s = &H.slots[i];
    int r;
    for (;;) {
        switch (s->state) {
        case HS_CONNECT: {
            int err = 0;
            socklen_t l = sizeof err;
            getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
            if (err) {
                H.connect_errors++;
                return -1;
            }
            s->ssl = SSL_new(H.ctx);
            SSL_set_fd(s->ssl, s->fd);
            SSL_set_tlsext_host_name(s->ssl, H.sni);
            SSL_set_connect_state(s->ssl);
            s->state = HS_TLS;
            break;
        }
        case HS_TLS:
            r = SSL_do_handshake(s->ssl);
            if (r != 1) goto want;
            if (SSL_session_reused(s->ssl)) H.resumed++;
            if (!H.version[0]) {
                const unsigned char* p = NULL;
                unsigned int n = 0;
                snprintf(H.version, sizeof H.version, "%s", SSL_get_version(s->ssl));
                snprintf(H.cipher, sizeof H.cipher, "%s", SSL_get_cipher_name(s->ssl));
                const char* gn = OBJ_nid2sn(SSL_get_negotiated_group(s->ssl) & ~TLSEXT_nid_unknown);
                snprintf(H.group, sizeof H.group, "%s", gn ? gn : "?");
                SSL_get0_alpn_selected(s->ssl, &p, &n);
                snprintf(H.alpn, sizeof H.alpn, "%.*s", (int)n, p ? (const char*)p : "");
            }
            s->state = HS_WRITE;
            break;
        case HS_WRITE:
            r = SSL_write(s->ssl, hs_req, sizeof hs_req - 1);
            if (r <= 0) goto want;
            s->state = HS_READ;
            break;
        case HS_READ: {
            r = SSL_read(s->ssl, s->buf + s->len, sizeof s->buf - 1 - s->len);
            if (r <= 0) goto want;
            s->len += r;
            s->buf[s->len] = 0;
            char* end = strstr(s->buf, "\r\n\r\n");
            if (!end) {
                if (s->len >= (int)sizeof s->buf - 1) return -1;
                break;
            }
            char* cl = strcasestr(s->buf, "\r\ncontent-length:");
            long body = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
            if (s->len < (end + 4 - s->buf) + body) break;
            int ok = s->len > 12 && strncmp(s->buf + 9, "200", 3) == 0;
            if (!ok) H.non200++;
            hs_finish(i, ok);
            return 0;
        }
        }
    }
want:
    switch (SSL_get_error(s->ssl, r)) {
    case SSL_ERROR_WANT_READ: return EPOLLIN;
    case SSL_ERROR_WANT_WRITE: return EPOLLOUT;
    default: return -1;
    }
}

/* Replaces X509_verify_cert: with SSL_VERIFY_NONE alone OpenSSL still builds and checks the
   chain (one more ECDSA verify) and only ignores the result. */
static int skip_chain(X509_STORE_CTX* x, void* arg) {
    (void)x;
    (void)arg;
    return 1;
}

static int hs_main(int port, double seconds, int conc, const char* sni) {
    H.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(H.ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(H.ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_cert_verify_callback(H.ctx, skip_chain, NULL);
    /* A client "cache" only to see the tickets in the callback; nothing is stored or offered. */
    SSL_CTX_set_session_cache_mode(H.ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(H.ctx, count_ticket);
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX_set_alpn_protos(H.ctx, alpn, sizeof alpn - 1);
    H.port = port;
    H.sni = sni;
    H.ep = epoll_create1(0);
    H.slots = calloc(conc, sizeof *H.slots);
    H.lat_cap = 1 << 20;
    H.lat = malloc(H.lat_cap * sizeof *H.lat);
    double c0 = cpu_s(), t_start = now_s();
    H.deadline = t_start + seconds;
    for (int i = 0; i < conc; i++) hs_start(i);
    struct epoll_event evs[256];
    while (now_s() < H.deadline) {
        int n = epoll_wait(H.ep, evs, 256, 50);
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u64;
            if (H.slots[i].fd < 0) continue;
            int want = hs_step(i);
            if (want < 0)
                hs_finish(i, 0);
            else if (want > 0)
                ep_set(H.ep, EPOLL_CTL_MOD, H.slots[i].fd, want, i);
        }
    }
    double wall = now_s() - t_start, cpu = cpu_s() - c0;
    qsort(H.lat, H.nlat, sizeof *H.lat, cmp_double);
    printf("{\"handshakes\": %ld, \"errors\": %ld, \"connect_errors\": %ld, \"non200\": %ld, \"resumed\": %ld, "
           "\"tickets\": %ld, \"wall_s\": %.4f, \"lg_cpu_s\": %.4f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
           "\"version\": \"%s\", \"cipher\": \"%s\", \"group\": \"%s\", \"alpn\": \"%s\"}\n",
           H.done, H.errors, H.connect_errors, H.non200, H.resumed, tickets, wall, cpu,
           H.nlat ? H.lat[H.nlat / 2] * 1e3 : -1.0, H.nlat ? H.lat[H.nlat * 99 / 100] * 1e3 : -1.0, H.version,
           H.cipher, H.group, H.alpn);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* WebSocket */

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static void ws_accept(const char* key, size_t keylen, char out[64]) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    char in[128];
    int n = snprintf(in, sizeof in, "%.*s%s", (int)keylen, key, ws_guid);
    SHA1((unsigned char*)in, n, digest);
    EVP_EncodeBlock((unsigned char*)out, digest, SHA_DIGEST_LENGTH);
}

/* Reads an HTTP head (up to \r\n\r\n) from a blocking fd; returns its length, or -1. */
static int read_head(int fd, char* buf, int cap, int* got) {
    *got = 0;
    while (*got < cap - 1) {
        ssize_t r = recv(fd, buf + *got, cap - 1 - *got, 0);
        if (r <= 0) return -1;
        *got += r;
        buf[*got] = 0;
        char* end = strstr(buf, "\r\n\r\n");
        if (end) return end + 4 - buf;
    }
    return -1;
}

struct ws_conn {
    int fd;
    size_t sent, rcvd;
    int checked;
    double t0;
};

static struct {
    unsigned char *frame, *check;
    size_t flen;
    long rts, mismatches;
    double* lat;
    size_t nlat, lat_cap;
    double deadline;
} W;

/* Sends and reads on connection c until both would block: 0 to keep going, -1 on an error. */
static int ws_pump(struct ws_conn* c) {
    for (;;) {
        int progress = 0;
        if (c->sent < W.flen) {
            ssize_t w = send(c->fd, W.frame + c->sent, W.flen - c->sent, MSG_NOSIGNAL);
            if (w > 0) {
                c->sent += w;
                progress = 1;
            } else if (w < 0 && errno != EAGAIN) {
                return -1;
            }
        }
        if (c->rcvd < c->sent) {
            ssize_t r;
            size_t want = c->sent - c->rcvd; /* never more than is owed: the next echo is not ours yet */
            if (!c->checked)
                r = recv(c->fd, W.check + c->rcvd, want, 0);
            else
                r = recv(c->fd, NULL, want, MSG_TRUNC); /* TCP: discarded in the kernel, no copy */
            if (r > 0) {
                c->rcvd += r;
                progress = 1;
            } else if (r == 0 || errno != EAGAIN) {
                return -1;
            }
        }
        if (c->rcvd == W.flen) {
            double t = now_s();
            if (!c->checked) {
                if (memcmp(W.check, W.frame, W.flen) != 0) W.mismatches++;
                c->checked = 1;
            }
            W.rts++;
            if (W.nlat < W.lat_cap) W.lat[W.nlat++] = t - c->t0;
            c->sent = c->rcvd = 0;
            c->t0 = t;
            if (t >= W.deadline) return 0;
            continue;
        }
        if (!progress) return 0;
    }
}

static int ws_client_main(int port, double seconds, int nconn, size_t msg, const char* path) {
    /* one frame, built once: FIN + binary, masked, the payload a byte pattern */
    size_t hdr = 2 + (msg >= 126 ? (msg > 65535 ? 8 : 2) : 0) + 4;
    W.flen = hdr + msg;
    W.frame = malloc(W.flen);
    W.check = malloc(W.flen);
    unsigned char* f = W.frame;
    size_t o = 0;
    f[o++] = 0x82;
    if (msg < 126) {
        f[o++] = 0x80 | msg;
    } else if (msg <= 65535) {
        f[o++] = 0x80 | 126;
        f[o++] = msg >> 8;
        f[o++] = msg & 0xff;
    } else {
        f[o++] = 0x80 | 127;
        for (int sh = 56; sh >= 0; sh -= 8) f[o++] = (uint64_t)msg >> sh;
    }
    const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    memcpy(f + o, mask, 4);
    o += 4;
    for (size_t k = 0; k < msg; k++) f[o + k] = (unsigned char)((k * 31 + (k >> 8)) ^ mask[k & 3]);

    int ep = epoll_create1(0);
    struct ws_conn* cs = calloc(nconn, sizeof *cs);
    const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    char expect[64];
    ws_accept(key, sizeof key - 1, expect);
    long upgrade_errors = 0, errors = 0;
    for (int i = 0; i < nconn; i++) {
        int fd = tcp_connect(port, 0);
        if (fd < 0) die("connect");
        char req[512], head[4096];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                         path, key);
        if (send(fd, req, n, 0) != n) die("send upgrade");
        int got, hl = read_head(fd, head, sizeof head, &got);
        char* acc = hl > 0 ? strcasestr(head, "\r\nsec-websocket-accept:") : NULL;
        if (hl < 0 || strncmp(head + 9, "101", 3) != 0 || !acc || !strstr(acc, expect) || got != hl) {
            fprintf(stderr, "upgrade %d failed: %.300s\n", i, hl < 0 ? "(closed)" : head);
            upgrade_errors++;
            close(fd);
            cs[i].fd = -1;
            continue;
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        cs[i].fd = fd;
    }
    if (upgrade_errors) {
        printf("{\"round_trips\": 0, \"upgrade_errors\": %ld, \"errors\": %ld}\n", upgrade_errors, upgrade_errors);
        return 1;
    }
    W.lat_cap = 1 << 21;
    W.lat = malloc(W.lat_cap * sizeof *W.lat);
    double c0 = cpu_s(), t_start = now_s();
    W.deadline = t_start + seconds;
    for (int i = 0; i < nconn; i++) {
        cs[i].t0 = now_s();
        ep_set(ep, EPOLL_CTL_ADD, cs[i].fd, EPOLLIN | EPOLLOUT | EPOLLET, i);
        if (ws_pump(&cs[i]) < 0) errors++;
    }
    struct epoll_event evs[256];
    while (now_s() < W.deadline) {
        int n = epoll_wait(ep, evs, 256, 50);
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u64;
            if (cs[i].fd < 0) continue;
            if (ws_pump(&cs[i]) < 0) {
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, cs[i].fd, NULL);
                close(cs[i].fd);
                cs[i].fd = -1;
            }
        }
    }
    double wall = now_s() - t_start, cpu = cpu_s() - c0;
    qsort(W.lat, W.nlat, sizeof *W.lat, cmp_double);
    printf("{\"round_trips\": %ld, \"payload_bytes\": %.0f, \"errors\": %ld, \"mismatches\": %ld, "
           "\"upgrade_errors\": 0, \"wall_s\": %.4f, \"lg_cpu_s\": %.4f, \"p50_ms\": %.3f, \"p99_ms\": %.3f}\n",
           W.rts, (double)W.rts * msg, errors + W.mismatches, W.mismatches, wall, cpu,
           W.nlat ? W.lat[W.nlat / 2] * 1e3 : -1.0, W.nlat ? W.lat[W.nlat * 99 / 100] * 1e3 : -1.0);
    for (int i = 0; i < nconn; i++)
        if (cs[i].fd >= 0) close(cs[i].fd);
    return 0;
}

/* echo server */

enum { E_HEAD, E_ECHO };
struct echo_conn {
    int fd, state;
    int pipe[2];
    size_t in_pipe; /* bytes spliced in, not yet out */
    char head[4096];
    int hlen;
};

static volatile sig_atomic_t stop_flag;
static void on_term(int sig) {
    (void)sig;
    stop_flag = 1;
}

static void echo_close(int ep, struct echo_conn* c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->pipe[0] >= 0) {
        close(c->pipe[0]);
        close(c->pipe[1]);
    }
    free(c);
}

/* 0: keep, -1: close */
static int echo_pump(struct echo_conn* c) {
    if (c->state == E_HEAD) {
        ssize_t r = recv(c->fd, c->head + c->hlen, sizeof c->head - 1 - c->hlen, 0);
        if (r == 0) return -1;
        if (r < 0) return errno == EAGAIN ? 0 : -1;
        c->hlen += r;
        c->head[c->hlen] = 0;
        char* end = strstr(c->head, "\r\n\r\n");
        if (!end) return c->hlen < (int)sizeof c->head - 1 ? 0 : -1;
        char* k = strcasestr(c->head, "\r\nsec-websocket-key:");
        if (!k || k > end) return -1;
        k += 20;
        while (*k == ' ') k++;
        size_t kl = strcspn(k, "\r ");
        char acc[64], resp[256];
        ws_accept(k, kl, acc);
        int n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Accept: %s\r\n\r\n",
                         acc);
        if (send(c->fd, resp, n, MSG_NOSIGNAL) != n) return -1;
        size_t rest = c->hlen - (end + 4 - c->head);
        if (rest && send(c->fd, end + 4, rest, MSG_NOSIGNAL) != (ssize_t)rest) return -1;
        if (pipe2(c->pipe, O_NONBLOCK) < 0) return -1;
        fcntl(c->pipe[1], F_SETPIPE_SZ, 256 << 10); /* 64 connections stay under pipe-user-pages-soft */
        c->state = E_ECHO;
    }
    for (;;) {
        int progress = 0;
        if (c->in_pipe) {
            ssize_t w = splice(c->pipe[0], NULL, c->fd, NULL, c->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (w > 0) {
                c->in_pipe -= w;
                progress = 1;
            } else if (w < 0 && errno != EAGAIN) {
                return -1;
            }
        }
        if (!c->in_pipe) {
            ssize_t r = splice(c->fd, NULL, c->pipe[1], NULL, 256 << 10, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (r > 0) {
                c->in_pipe += r;
                progress = 1;
            } else if (r == 0) {
                return -1;
            } else if (errno != EAGAIN) {
                return -1;
            }
        }
        if (!progress) return 0;
    }
}

static int ws_echo_main(int port) {
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr*)&a, sizeof a) < 0) die("bind");
    if (listen(lfd, 1024) < 0) die("listen");
    int ep = epoll_create1(0);
    ep_set(ep, EPOLL_CTL_ADD, lfd, EPOLLIN, 0);
    struct epoll_event evs[256];
    while (!stop_flag) {
        int n = epoll_wait(ep, evs, 256, 200);
        for (int k = 0; k < n; k++) {
            if (evs[k].data.u64 == 0) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct echo_conn* c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->pipe[0] = c->pipe[1] = -1;
                    ep_set(ep, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLOUT | EPOLLET, (uint64_t)(uintptr_t)c);
                }
                continue;
            }
            struct echo_conn* c = (struct echo_conn*)(uintptr_t)evs[k].data.u64;
            if (echo_pump(c) < 0) echo_close(ep, c);
        }
    }
    return 0;
}

int main(int argc, char** argv) {
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (argc == 6 && !strcmp(argv[1], "handshakes")) return hs_main(atoi(argv[2]), atof(argv[3]), atoi(argv[4]), argv[5]);
    if (argc == 7 && !strcmp(argv[1], "ws-client"))
        return ws_client_main(atoi(argv[2]), atof(argv[3]), atoi(argv[4]), strtoul(argv[5], NULL, 10), argv[6]);
    if (argc == 3 && !strcmp(argv[1], "ws-echo")) return ws_echo_main(atoi(argv[2]));
    fprintf(stderr,
            "usage: netload handshakes PORT SECONDS CONCURRENCY SNI\n"
            "       netload ws-client PORT SECONDS CONNECTIONS MSG_BYTES PATH\n"
            "       netload ws-echo PORT\n");
    return 2;
}
