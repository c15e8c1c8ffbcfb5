/* Version, error strings, status names, buffers, clocks, small helpers. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

const char *cgrpc_version(void) { return CGRPC_VERSION; }
int cgrpc_version_number(void) { return CGRPC_VERSION_NUMBER; }

const char *cgrpc_strerror(int rc) {
  switch (rc) {
  case CGRPC_OK: return "success";
  case CGRPC_DONE: return "no more messages";
  case CGRPC_E_INVALID_ARG: return "invalid argument";
  case CGRPC_E_NOMEM: return "out of memory";
  case CGRPC_E_BUSY: return "another thread is already doing this on the call";
  case CGRPC_E_STATE: return "not allowed in the current state";
  case CGRPC_E_CLOSED: return "the call or channel has ended";
  case CGRPC_E_TIMEOUT: return "timed out";
  case CGRPC_E_METADATA: return "invalid metadata key or value";
  case CGRPC_E_TOO_LARGE: return "message larger than the maximum send size";
  case CGRPC_E_TARGET: return "invalid target or address";
  case CGRPC_E_ADDRESS: return "cannot bind or listen on the address";
  case CGRPC_E_SYSTEM: return "system call failed";
  case CGRPC_E_ROLE: return "function not for this side of the call";
  case CGRPC_E_NOT_FOUND: return "not found";
  case CGRPC_E_CANCELLED: return "the RPC was cancelled";
  case CGRPC_E_TLS: return "invalid TLS credentials";
  case CGRPC_E_PARSE: return "malformed input";
  case CGRPC_E_TYPE: return "wrong type or unknown name for a field";
  default: return "unknown error code";
  }
}

static const char *const status_names[] = {
    "OK",        "CANCELLED",          "UNKNOWN",
    "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS",   "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED",      "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",            "UNAVAILABLE",
    "DATA_LOSS",     "UNAUTHENTICATED"};

const char *cgrpc_status_name(int code) {
  if (code < 0 || code > 16) return "UNKNOWN_CODE";
  return status_names[code];
}

cgrpc_buffer *cg_buffer_new(size_t len) {
  cgrpc_buffer *b = malloc(sizeof(*b) + len + 1);
  if (!b) return NULL;
  b->next = NULL;
  b->len = len;
  b->data[len] = 0;
  return b;
}
const uint8_t *cgrpc_buffer_data(const cgrpc_buffer *buf) {
  return buf ? buf->data : NULL;
}
size_t cgrpc_buffer_len(const cgrpc_buffer *buf) { return buf ? buf->len : 0; }
void cgrpc_buffer_free(cgrpc_buffer *buf) { free(buf); }
void cgrpc_free(void *p) { free(p); }

int64_t cg_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void cg_abstime(struct timespec *ts, int64_t deadline_ns) {
  ts->tv_sec = (time_t)(deadline_ns / 1000000000LL);
  ts->tv_nsec = (long)(deadline_ns % 1000000000LL);
}

void cg_cond_init(pthread_cond_t *cv) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &a);
  pthread_condattr_destroy(&a);
}

int cg_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
                       int64_t deadline_ns) {
  if (deadline_ns == CG_NEVER) {
    pthread_cond_wait(cv, mu);
    return 0;
  }
  if (cg_now_ns() >= deadline_ns) return ETIMEDOUT;
  struct timespec ts;
  cg_abstime(&ts, deadline_ns);
  return pthread_cond_timedwait(cv, mu, &ts);
}

char *cg_strdup(const char *s) { return s ? cg_strndup(s, strlen(s)) : NULL; }
char *cg_strndup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

int cg_bytes_reserve(cg_bytes *b, size_t extra) {
  if (b->len + extra <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) return CGRPC_E_NOMEM;
  b->p = p;
  b->cap = cap;
  return 0;
}
int cg_bytes_append(cg_bytes *b, const void *p, size_t n) {
  if (n == 0) return 0;
  if (cg_bytes_reserve(b, n)) return CGRPC_E_NOMEM;
  memcpy(b->p + b->len, p, n);
  b->len += n;
  return 0;
}
void cg_bytes_free(cg_bytes *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

int cg_trace_enabled;
__attribute__((constructor)) static void cg_trace_init(void) {
  const char *e = getenv("CGRPC_TRACE");
  cg_trace_enabled = e && *e && strcmp(e, "0") != 0;
}
void cg_trace(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "[cgrpc] ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}
