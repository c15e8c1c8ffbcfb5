/* Test-only methods (see probes.h). */
#include "probes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

atomic_int probe_cancel_seen;
atomic_int probe_flood_sent;
atomic_int probe_running, probe_max_running;
atomic_int probe_misuse_ok;

/* Info: replies "deadline=<ms>;peer=<peer>;method=<m>;md=k=v,k=<hex>,;
 * auth=k=v," (auth context without the PEM). */
static void info(cgrpc_call *call, void *ud) {
  (void)ud;
  cgrpc_buffer *req;
  if (cgrpc_call_recv(call, &req) == CGRPC_OK) cgrpc_buffer_free(req);
  const cgrpc_metadata *md;
  cgrpc_call_initial_metadata(call, &md);
  char out[4096];
  int n = snprintf(out, sizeof(out), "deadline=%lld;peer=%s;method=%s;md=",
                   (long long)cgrpc_call_time_remaining(call),
                   cgrpc_call_peer(call), cgrpc_call_method(call));
  for (size_t i = 0; i < cgrpc_metadata_count(md) && n < 3800; i++) {
    const char *k = cgrpc_metadata_key(md, i);
    size_t len;
    const uint8_t *v = cgrpc_metadata_value(md, i, &len);
    if (strcmp(k, "user-agent") == 0) continue;
    n += snprintf(out + n, sizeof(out) - (size_t)n, "%s=", k);
    size_t kl = strlen(k);
    int bin = kl > 4 && strcmp(k + kl - 4, "-bin") == 0;
    for (size_t j = 0; j < len && n < 3900; j++)
      n += bin ? snprintf(out + n, sizeof(out) - (size_t)n, "%02x", v[j])
               : snprintf(out + n, sizeof(out) - (size_t)n, "%c", v[j]);
    n += snprintf(out + n, sizeof(out) - (size_t)n, ",");
  }
  const cgrpc_metadata *auth;
  cgrpc_call_auth_context(call, &auth);
  n += snprintf(out + n, sizeof(out) - (size_t)n, ";auth=");
  for (size_t i = 0; i < cgrpc_metadata_count(auth) && n < 3900; i++) {
    const char *k = cgrpc_metadata_key(auth, i);
    if (strcmp(k, "x509_pem_cert") == 0) continue;
    n += snprintf(out + n, sizeof(out) - (size_t)n, "%s=%s,", k,
                  (const char *)cgrpc_metadata_value(auth, i, NULL));
  }
  cgrpc_call_send(call, out, (size_t)n, 0);
  cgrpc_call_finish(call, CGRPC_STATUS_OK, NULL, NULL);
}

/* WaitCancel: waits (10 s at most) for the client to cancel. */
static void wait_cancel(cgrpc_call *call, void *ud) {
  (void)ud;
  cgrpc_call_send(call, "started", 7, 0);
  cgrpc_buffer *m = NULL;
  int rc = cgrpc_call_recv(call, &m); /* blocks until cancel or half-close */
  cgrpc_buffer_free(m);
  if (rc == CGRPC_E_CANCELLED && cgrpc_call_is_cancelled(call) &&
      cgrpc_call_send(call, "x", 1, 0) == CGRPC_E_CANCELLED)
    atomic_store(&probe_cancel_seen, 1);
  cgrpc_call_finish(call, CGRPC_STATUS_OK, NULL, NULL);
}

/* Flood: sends up to 2000 messages of 64 KiB (stops when cancelled). */
static void flood(cgrpc_call *call, void *ud) {
  (void)ud;
  static char chunk[65536];
  for (int i = 0; i < 2000; i++) {
    if (cgrpc_call_send(call, chunk, sizeof(chunk), 0) != CGRPC_OK) return;
    atomic_fetch_add(&probe_flood_sent, 1);
  }
  cgrpc_call_finish(call, CGRPC_STATUS_OK, NULL, NULL);
}

/* Sleep: x-sleep-ms style sleep of the request's number of ms, counting
 * how many such handlers overlap. */
static void sleep_probe(cgrpc_call *call, void *ud) {
  (void)ud;
  int now = atomic_fetch_add(&probe_running, 1) + 1;
  int max = atomic_load(&probe_max_running);
  while (now > max && !atomic_compare_exchange_weak(&probe_max_running, &max, now)) {
  }
  cgrpc_buffer *req;
  long ms = 0;
  if (cgrpc_call_recv(call, &req) == CGRPC_OK) {
    ms = strtol((const char *)cgrpc_buffer_data(req), NULL, 10);
    cgrpc_buffer_free(req);
  }
  sleep_ms(ms);
  atomic_fetch_sub(&probe_running, 1);
  cgrpc_call_send(call, "slept", 5, 0);
  cgrpc_call_finish(call, CGRPC_STATUS_OK, NULL, NULL);
}

/* Big: replies with as many bytes as the request's number. */
static void big(cgrpc_call *call, void *ud) {
  (void)ud;
  cgrpc_buffer *req;
  size_t n = 0;
  if (cgrpc_call_recv(call, &req) == CGRPC_OK) {
    n = strtoul((const char *)cgrpc_buffer_data(req), NULL, 10);
    cgrpc_buffer_free(req);
  }
  char *p = calloc(1, n + 1);
  memset(p, 'b', n);
  int rc = cgrpc_call_send(call, p, n, 0);
  free(p);
  if (rc == CGRPC_OK) cgrpc_call_finish(call, CGRPC_STATUS_OK, NULL, NULL);
}

/* NoFinish: returns without a status. */
static void no_finish(cgrpc_call *call, void *ud) {
  (void)call;
  (void)ud;
}

/* Misuse: server-side API misuse must give error codes; reports them. */
static void misuse(cgrpc_call *call, void *ud) {
  (void)ud;
  int a = cgrpc_call_close_send(call);             /* client only */
  int b = cgrpc_call_status(call, NULL, NULL, NULL); /* client only */
  int c = cgrpc_call_send(call, "x", 1, CGRPC_SEND_LAST);
  int d = cgrpc_call_finish(call, 99, NULL, NULL);
  int e = cgrpc_call_finish(call, CGRPC_STATUS_OK, "ok", NULL);
  int f = cgrpc_call_finish(call, CGRPC_STATUS_OK, "again", NULL);
  int g = cgrpc_call_send(call, "y", 1, 0);
  int h = cgrpc_call_send_initial_metadata(call, NULL);
  /* The status was already sent: report through a global instead. */
  atomic_store(&probe_misuse_ok,
               (a == CGRPC_E_ROLE) + (b == CGRPC_E_ROLE) +
                   (c == CGRPC_E_INVALID_ARG) + (d == CGRPC_E_INVALID_ARG) +
                   (e == CGRPC_OK) + (f == CGRPC_E_STATE) +
                   (g == CGRPC_E_STATE) + (h == CGRPC_E_STATE));
}

int probes_register(cgrpc_server *srv) {
  struct {
    const char *path;
    cgrpc_handler_fn fn;
  } m[] = {{"/cgrpc.test.Probe/Info", info},
           {"/cgrpc.test.Probe/WaitCancel", wait_cancel},
           {"/cgrpc.test.Probe/Flood", flood},
           {"/cgrpc.test.Probe/Sleep", sleep_probe},
           {"/cgrpc.test.Probe/Big", big},
           {"/cgrpc.test.Probe/NoFinish", no_finish},
           {"/cgrpc.test.Probe/Misuse", misuse}};
  for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
    int rc = cgrpc_server_register_method(srv, m[i].path, m[i].fn, NULL, NULL);
    if (rc) return rc;
  }
  return CGRPC_OK;
}
