/* Unary echo benchmark for the cgrpc client.
 *
 *   unary_bench --target 127.0.0.1:PORT [--threads N] [--seconds S]
 *               [--size BYTES] [--warmup S] [--method /svc/Method]
 *               [--timeout-ms MS] [--tls-ca FILE [--tls-override NAME]]
 *
 * With --tls-ca the channel uses TLS: the server's certificate must verify
 * against the CA certificates in FILE, and match the target's host (or
 * NAME, which is then also sent as SNI and used as :authority).  Without
 * it the channel is plaintext HTTP/2 (h2c).
 *
 * N threads share ONE cgrpc channel.  Each thread calls the echo method
 * back to back (cgrpc_unary) through a warm-up phase and then a measured
 * phase of S seconds.  A call counts if it started and finished inside the
 * measured phase; its latency goes into the thread's own array, and the
 * arrays are merged and sorted at the end.  Every reply must equal its
 * request (each request carries the thread number and a sequence number,
 * so a reply delivered to the wrong call is caught too).
 *
 * Prints one line of JSON.  Exit status: 0 if every call (warm-up
 * included) succeeded and echoed its request, 1 if any failed, 2 for a
 * usage or setup error.  All loops are bounded by time, and every call
 * has a deadline (--timeout-ms, default 5000), so a stuck call cannot
 * hang the run. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgrpc.h"

#define MAX_THREADS 256
#define MAX_SIZE (1 << 20)

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct {
  /* shared, read-only once threads start */
  cgrpc_channel *ch;
  const cgrpc_call_options *opts;
  const char *method;
  size_t size;
  int index;
  uint64_t go_ns;       /* threads wait until this moment */
  uint64_t measure_ns;  /* warm-up ends */
  uint64_t end_ns;      /* measured phase ends */
  /* per thread results */
  uint64_t *lat;        /* latencies (ns) of measured calls */
  size_t nlat, cap;
  uint64_t calls_total; /* every call, warm-up included */
  uint64_t errors;      /* every failed call, warm-up included */
  uint64_t errors_measured;
  uint64_t mismatches;  /* of errors: reply differs from request */
  uint64_t max_ns;      /* slowest call, warm-up included */
  char first_error[200];
  int alloc_failed;
} worker;

/* Fills req with a recognisable pattern unique to (thread, seq). */
static void fill_request(uint8_t *req, size_t size, int thread, uint64_t seq) {
  uint8_t head[16];
  for (int i = 0; i < 8; i++) head[i] = (uint8_t)(seq >> (8 * i));
  for (int i = 0; i < 4; i++) head[8 + i] = (uint8_t)((unsigned)thread >> (8 * i));
  memcpy(head + 12, "cgrp", 4);
  for (size_t i = 0; i < size; i++)
    req[i] = i < sizeof(head) ? head[i] : (uint8_t)(i * 31u + (unsigned)thread);
}

static void note_error(worker *w, const char *what, long n) {
  if (w->first_error[0]) return;
  snprintf(w->first_error, sizeof(w->first_error), "%s (%ld)", what, n);
}

static void *run_worker(void *arg) {
  worker *w = arg;
  uint8_t *req = malloc(w->size ? w->size : 1);
  if (!req) {
    w->alloc_failed = 1;
    return NULL;
  }
  while (now_ns() < w->go_ns) {
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
  }
  uint64_t seq = 0;
  for (;;) {
    uint64_t t0 = now_ns();
    if (t0 >= w->end_ns) break;
    fill_request(req, w->size, w->index, seq++);
    int code = -1;
    cgrpc_buffer *reply = NULL;
    char *message = NULL;
    int rc = cgrpc_unary(w->ch, w->method, req, w->size, w->opts, &code,
                         &reply, &message);
    uint64_t t1 = now_ns();
    uint64_t d = t1 - t0;
    w->calls_total++;
    if (d > w->max_ns) w->max_ns = d;
    int bad = 0;
    if (rc != CGRPC_OK) {
      bad = 1;
      note_error(w, cgrpc_strerror(rc), rc);
    } else if (code != CGRPC_STATUS_OK) {
      bad = 1;
      note_error(w, cgrpc_status_name(code), code);
    } else if (!reply || cgrpc_buffer_len(reply) != w->size ||
               memcmp(cgrpc_buffer_data(reply), req, w->size) != 0) {
      bad = 1;
      w->mismatches++;
      note_error(w, "reply differs from request; reply bytes",
                 reply ? (long)cgrpc_buffer_len(reply) : -1L);
    }
    cgrpc_buffer_free(reply);
    cgrpc_free(message);
    if (bad) w->errors++;
    if (t0 >= w->measure_ns && t1 <= w->end_ns) {
      if (bad) {
        w->errors_measured++;
        continue; /* failed calls are not part of the latency figures */
      }
      if (w->nlat == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 65536;
        uint64_t *p = realloc(w->lat, ncap * sizeof(*p));
        if (!p) {
          w->alloc_failed = 1;
          break;
        }
        w->lat = p;
        w->cap = ncap;
      }
      w->lat[w->nlat++] = d;
    }
  }
  free(req);
  return NULL;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n), in microseconds. */
static double pct_us(const uint64_t *v, size_t n, double p) {
  if (n == 0) return 0.0;
  size_t rank = (size_t)(p * (double)n + 0.999999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return (double)v[rank - 1] / 1000.0;
}

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static void usage(const char *prog) {
  fprintf(stderr,
          "usage: %s --target HOST:PORT [--threads N] [--seconds S] "
          "[--size BYTES] [--warmup S] [--method /svc/M] [--timeout-ms MS]\n"
          "       [--tls-ca FILE [--tls-override NAME]]\n",
          prog);
}

static int parse_double(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (errno || end == s || *end || !(x >= lo && x <= hi)) return -1;
  *out = x;
  return 0;
}

int main(int argc, char **argv) {
  const char *target = NULL;
  const char *method = "/cgrpc.test.Echo/Unary";
  const char *tls_ca = NULL, *tls_override = NULL;
  double threads_d = 1, seconds = 3, size_d = 64, warmup = 0.5,
         timeout_ms = 5000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) {
      usage(argv[0]);
      return 2;
    }
    const char *v = argv[++i];
    int bad = 0;
    if (strcmp(a, "--target") == 0)
      target = v;
    else if (strcmp(a, "--method") == 0)
      method = v;
    else if (strcmp(a, "--tls-ca") == 0)
      tls_ca = v;
    else if (strcmp(a, "--tls-override") == 0)
      tls_override = v;
    else if (strcmp(a, "--threads") == 0)
      bad = parse_double(v, 1, MAX_THREADS, &threads_d);
    else if (strcmp(a, "--seconds") == 0)
      bad = parse_double(v, 0.01, 3600, &seconds);
    else if (strcmp(a, "--size") == 0)
      bad = parse_double(v, 0, MAX_SIZE, &size_d);
    else if (strcmp(a, "--warmup") == 0)
      bad = parse_double(v, 0, 3600, &warmup);
    else if (strcmp(a, "--timeout-ms") == 0)
      bad = parse_double(v, 1, 3600e3, &timeout_ms);
    else
      bad = 1;
    if (bad) {
      fprintf(stderr, "bad option %s %s\n", a, v);
      usage(argv[0]);
      return 2;
    }
  }
  if (!target || (tls_override && !tls_ca)) {
    if (target) fprintf(stderr, "--tls-override needs --tls-ca\n");
    usage(argv[0]);
    return 2;
  }
  int nthreads = (int)threads_d;
  size_t size = (size_t)size_d;

  cgrpc_channel_options *chopts = NULL;
  int rc = CGRPC_OK;
  if (tls_ca) {
    /* TLS client credentials; the channel options keep their own
     * reference, so the builder and our handle go at once. */
    cgrpc_tls_options *to = NULL;
    cgrpc_credentials *creds = NULL;
    const char *step = "tls options";
    rc = cgrpc_tls_options_create(&to);
    if (!rc) {
      step = "--tls-ca";
      rc = cgrpc_tls_options_set_root_certs_file(to, tls_ca);
    }
    if (!rc && tls_override) {
      step = "--tls-override";
      rc = cgrpc_tls_options_set_target_name_override(to, tls_override);
    }
    if (!rc) {
      step = "tls credentials";
      rc = cgrpc_credentials_create_tls_client(&creds, to);
    }
    if (!rc) {
      step = "channel options";
      rc = cgrpc_channel_options_create(&chopts);
    }
    if (!rc) rc = cgrpc_channel_options_set_credentials(chopts, creds);
    cgrpc_credentials_destroy(creds);
    cgrpc_tls_options_destroy(to);
    if (rc) {
      fprintf(stderr, "%s: %s %s\n", step, cgrpc_strerror(rc),
              cgrpc_last_error());
      cgrpc_channel_options_destroy(chopts);
      return 2;
    }
  }
  cgrpc_channel *ch = NULL;
  rc = cgrpc_channel_create(&ch, target, chopts);
  cgrpc_channel_options_destroy(chopts); /* the channel has what it needs */
  if (rc) {
    fprintf(stderr, "channel %s: %s %s\n", target, cgrpc_strerror(rc),
            cgrpc_last_error());
    return 2;
  }
  cgrpc_call_options *opts = NULL;
  rc = cgrpc_call_options_create(&opts);
  if (!rc) rc = cgrpc_call_options_set_timeout(opts, (int64_t)timeout_ms);
  if (rc) {
    fprintf(stderr, "call options: %s\n", cgrpc_strerror(rc));
    cgrpc_channel_destroy(ch);
    return 2;
  }

  /* Connect before the clock starts (bounded: 50 x 100 ms). */
  cgrpc_connectivity_state st = cgrpc_channel_state(ch, 1);
  for (int i = 0; i < 50 && st != CGRPC_CHANNEL_READY; i++) {
    cgrpc_channel_wait_for_state_change(ch, st, 100);
    st = cgrpc_channel_state(ch, 1);
  }
  if (st != CGRPC_CHANNEL_READY) {
    fprintf(stderr, "channel %s did not become READY (state %d)\n", target,
            (int)st);
    cgrpc_call_options_destroy(opts);
    cgrpc_channel_destroy(ch);
    return 2;
  }

  worker *ws = calloc((size_t)nthreads, sizeof(*ws));
  pthread_t *tids = calloc((size_t)nthreads, sizeof(*tids));
  if (!ws || !tids) {
    fprintf(stderr, "out of memory\n");
    return 2;
  }
  uint64_t go = now_ns() + 20000000u; /* 20 ms for the threads to start */
  uint64_t measure = go + (uint64_t)(warmup * 1e9);
  uint64_t end = measure + (uint64_t)(seconds * 1e9);
  int started = 0;
  for (int i = 0; i < nthreads; i++) {
    ws[i] = (worker){.ch = ch, .opts = opts, .method = method, .size = size,
                     .index = i, .go_ns = go, .measure_ns = measure,
                     .end_ns = end};
    if (pthread_create(&tids[i], NULL, run_worker, &ws[i]) != 0) {
      fprintf(stderr, "pthread_create failed after %d threads\n", i);
      break;
    }
    started++;
  }
  for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);

  size_t n = 0;
  uint64_t calls_total = 0, errors = 0, errors_measured = 0, mismatches = 0,
           max_ns = 0;
  int alloc_failed = 0;
  const char *first_error = "";
  for (int i = 0; i < started; i++) {
    n += ws[i].nlat;
    calls_total += ws[i].calls_total;
    errors += ws[i].errors;
    errors_measured += ws[i].errors_measured;
    mismatches += ws[i].mismatches;
    if (ws[i].max_ns > max_ns) max_ns = ws[i].max_ns;
    alloc_failed |= ws[i].alloc_failed;
    if (!first_error[0] && ws[i].first_error[0]) first_error = ws[i].first_error;
  }
  uint64_t *all = malloc((n ? n : 1) * sizeof(*all));
  if (!all) {
    fprintf(stderr, "out of memory\n");
    return 2;
  }
  size_t k = 0;
  double sum_us = 0;
  for (int i = 0; i < started; i++) {
    memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
    k += ws[i].nlat;
  }
  qsort(all, n, sizeof(*all), cmp_u64);
  for (size_t i = 0; i < n; i++) sum_us += (double)all[i] / 1000.0;

  printf("{\"client\":\"cgrpc\",\"target\":");
  json_str(target);
  printf(",\"tls\":%s", tls_ca ? "true" : "false");
  printf(",\"threads\":%d,\"seconds\":%g,\"warmup\":%g,\"size\":%zu,"
         "\"calls\":%zu,\"qps\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,"
         "\"p99_us\":%.1f,\"p999_us\":%.1f,\"mean_us\":%.1f,\"max_us\":%.1f,"
         "\"calls_total\":%" PRIu64 ",\"errors\":%" PRIu64
         ",\"errors_measured\":%" PRIu64 ",\"mismatches\":%" PRIu64
         ",\"first_error\":",
         started, seconds, warmup, size, n, (double)n / seconds,
         pct_us(all, n, 0.50), pct_us(all, n, 0.90), pct_us(all, n, 0.99),
         pct_us(all, n, 0.999), n ? sum_us / (double)n : 0.0,
         (double)max_ns / 1000.0, calls_total, errors, errors_measured,
         mismatches);
  json_str(first_error);
  printf("}\n");
  fflush(stdout);

  for (int i = 0; i < started; i++) free(ws[i].lat);
  free(all);
  free(ws);
  free(tids);
  cgrpc_call_options_destroy(opts);
  cgrpc_channel_destroy(ch);
  if (started != nthreads || alloc_failed) return 2;
  return errors ? 1 : 0;
}
