/* LD_PRELOAD allocation counter for bench/datapath_bench.py.

   Counts calls to malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign, valloc,
   pvalloc and free (operator new/delete in libstdc++ call malloc/free, so they are counted
   too) with relaxed atomics, and forwards to glibc's __libc_* entry points (no dlsym, so no
   recursion while the dynamic loader allocates). On SIGUSR2 it writes one line

       seq=N allocs=A frees=F reallocs=R bytes=B

   with write(2) into the file named by ALLOC_COUNT_FILE (replacing its contents), which is
   async-signal-safe. Build: cc -shared -fPIC -O2 -o alloc_count.so alloc_count.c -ldl */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

static atomic_ulong n_alloc, n_free, n_realloc, n_bytes, n_seq;

void* malloc(size_t n) {
  atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);
  return __libc_malloc(n);
}

void* calloc(size_t a, size_t b) {
  atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&n_bytes, a * b, memory_order_relaxed);
  return __libc_calloc(a, b);
}

void* realloc(void* p, size_t n) {
  atomic_fetch_add_explicit(p ? &n_realloc : &n_alloc, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);
  return __libc_realloc(p, n);
}

void free(void* p) {
  if (p) atomic_fetch_add_explicit(&n_free, 1, memory_order_relaxed);
  __libc_free(p);
}

static void* counted_memalign(size_t align, size_t n) {
  atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&n_bytes, n, memory_order_relaxed);
  return __libc_memalign(align, n);
}

int posix_memalign(void** out, size_t align, size_t n) {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  void* p = counted_memalign(align, n);
  if (!p && n) return ENOMEM;
  *out = p;
  return 0;
}

void* aligned_alloc(size_t align, size_t n) { return counted_memalign(align, n); }
void* memalign(size_t align, size_t n) { return counted_memalign(align, n); }
void* valloc(size_t n) { return counted_memalign((size_t)sysconf(_SC_PAGESIZE), n); }
void* pvalloc(size_t n) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return counted_memalign(page, (n + page - 1) & ~(page - 1));
}

static char* put_num(char* p, const char* label, unsigned long v) {
  char digits[24];
  int n = 0;
  while (*label) *p++ = *label++;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = digits[--n];
  return p;
}

static void dump(int sig) {
  (void)sig;
  int saved = errno;
  const char* path = getenv("ALLOC_COUNT_FILE");
  if (path) {
    char line[200], *p = line;
    unsigned long seq = atomic_fetch_add(&n_seq, 1) + 1;
    p = put_num(p, "seq=", seq);
    p = put_num(p, " allocs=", atomic_load(&n_alloc));
    p = put_num(p, " frees=", atomic_load(&n_free));
    p = put_num(p, " reallocs=", atomic_load(&n_realloc));
    p = put_num(p, " bytes=", atomic_load(&n_bytes));
    *p++ = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ssize_t ignored = write(fd, line, (size_t)(p - line));
      (void)ignored;
      close(fd);
    }
  }
  errno = saved;
}

__attribute__((constructor)) static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = dump;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);
}
