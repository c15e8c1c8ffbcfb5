/* Internal helpers shared by every module; never installed. */
#ifndef CG_INTERNAL_H
#define CG_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgrpc.h"

#define CG_UNUSED(x) ((void)(x))
#define CG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CG_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Monotonic clock in nanoseconds. */
int64_t cg_now_ns(void);
#define CG_MS 1000000LL
#define CG_NEVER INT64_MAX

/* Absolute CLOCK_MONOTONIC deadline for pthread_cond_timedwait. */
void cg_abstime(struct timespec *ts, int64_t deadline_ns);
/* Waits on cv until deadline_ns (CG_NEVER: no limit).  Returns 0, or
 * ETIMEDOUT once the deadline has passed. */
int cg_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
                       int64_t deadline_ns);
/* A condition variable on CLOCK_MONOTONIC. */
void cg_cond_init(pthread_cond_t *cv);

char *cg_strdup(const char *s);
char *cg_strndup(const char *s, size_t n);

/* A received message; payload follows the header in the same block. */
struct cgrpc_buffer {
  struct cgrpc_buffer *next; /* queue link while library-owned */
  size_t len;
  uint8_t data[];
};
cgrpc_buffer *cg_buffer_new(size_t len);

/* Growable byte string. */
typedef struct cg_bytes {
  uint8_t *p;
  size_t len, cap;
} cg_bytes;
int cg_bytes_reserve(cg_bytes *b, size_t extra);
int cg_bytes_append(cg_bytes *b, const void *p, size_t n);
void cg_bytes_free(cg_bytes *b);

/* Internal prefix for log lines (stderr), enabled by CGRPC_TRACE=1. */
extern int cg_trace_enabled;
void cg_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define CG_TRACE(...)                                                          \
  do {                                                                         \
    if (cg_trace_enabled) cg_trace(__VA_ARGS__);                               \
  } while (0)

#endif
