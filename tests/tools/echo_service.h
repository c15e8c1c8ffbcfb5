/* The echo test service (cgrpc.test.Echo) on the cgrpc server API, shared
 * by the echo_server binary and the C tests.  The same contract is
 * implemented with grpcio in tests/interop/echo_grpcio_server.py:
 *   Unary        reply = request
 *   ServerStream x-count (default 3) replies: request + "#" + i
 *   ClientStream reply = concatenation of the requests
 *   Bidi         each request echoed as it arrives
 * Request metadata: x-sleep-ms (sleep first, stop if cancelled),
 * x-echo-initial (echoed in initial metadata), x-echo-trailing-bin
 * (echoed in trailers), x-echo-status + x-echo-message-bin (end at once
 * with that status). */
#ifndef ECHO_SERVICE_H
#define ECHO_SERVICE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgrpc.h"

static int echo_md_int(const cgrpc_call *call, const cgrpc_metadata *md,
                       const char *key, long dflt, long *out) {
  (void)call;
  size_t len;
  const uint8_t *v = cgrpc_metadata_get(md, key, &len);
  if (!v) {
    *out = dflt;
    return 0;
  }
  char *end;
  long x = strtol((const char *)v, &end, 10);
  if (len == 0 || *end) return -1;
  *out = x;
  return 0;
}

static void echo_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs the shared prelude; returns 1 if the handler must stop now. */
static int echo_prelude(cgrpc_call *call, cgrpc_metadata **trailers) {
  const cgrpc_metadata *md;
  cgrpc_call_initial_metadata(call, &md);
  long sleep_ms, status;
  if (echo_md_int(call, md, "x-sleep-ms", 0, &sleep_ms) ||
      echo_md_int(call, md, "x-echo-status", 0, &status)) {
    cgrpc_call_finish(call, CGRPC_STATUS_INVALID_ARGUMENT,
                      "bad integer metadata", NULL);
    return 1;
  }
  for (long slept = 0; slept < sleep_ms; slept += 10) {
    if (cgrpc_call_is_cancelled(call)) return 1;
    echo_sleep_ms(sleep_ms - slept < 10 ? sleep_ms - slept : 10);
  }
  cgrpc_metadata_create(trailers);
  size_t len;
  const uint8_t *v = cgrpc_metadata_get(md, "x-echo-trailing-bin", &len);
  if (v) cgrpc_metadata_add(*trailers, "x-echo-trailing-bin", v, len);
  v = cgrpc_metadata_get(md, "x-echo-initial", &len);
  if (v) {
    cgrpc_metadata *im;
    cgrpc_metadata_create(&im);
    cgrpc_metadata_add(im, "x-echo-initial", v, len);
    cgrpc_call_send_initial_metadata(call, im);
    cgrpc_metadata_destroy(im);
  }
  if (status != 0) {
    v = cgrpc_metadata_get(md, "x-echo-message-bin", &len);
    char *msg = calloc(1, (v ? len : 0) + 1);
    if (v && msg) memcpy(msg, v, len);
    cgrpc_call_finish(call, status < 0 || status > 16 ? 2 : (int)status,
                      msg ? msg : "", *trailers);
    free(msg);
    cgrpc_metadata_destroy(*trailers);
    *trailers = NULL;
    return 1;
  }
  return 0;
}

static void echo_end(cgrpc_call *call, cgrpc_metadata *trailers, int rc) {
  if (rc == CGRPC_E_CANCELLED) { /* the client is gone: nothing to send */
  } else if (rc < 0) {
    cgrpc_call_finish(call, CGRPC_STATUS_INTERNAL, cgrpc_strerror(rc), trailers);
  } else {
    cgrpc_call_finish(call, CGRPC_STATUS_OK, NULL, trailers);
  }
  cgrpc_metadata_destroy(trailers);
}

static void echo_unary(cgrpc_call *call, void *ud) {
  (void)ud;
  cgrpc_metadata *tr = NULL;
  if (echo_prelude(call, &tr)) return;
  cgrpc_buffer *req = NULL;
  int rc = cgrpc_call_recv(call, &req);
  if (rc == CGRPC_DONE) {
    cgrpc_call_finish(call, CGRPC_STATUS_INVALID_ARGUMENT, "no request", tr);
    cgrpc_metadata_destroy(tr);
    return;
  }
  if (rc == CGRPC_OK)
    rc = cgrpc_call_send(call, cgrpc_buffer_data(req), cgrpc_buffer_len(req), 0);
  cgrpc_buffer_free(req);
  echo_end(call, tr, rc);
}

static void echo_server_stream(cgrpc_call *call, void *ud) {
  (void)ud;
  cgrpc_metadata *tr = NULL;
  if (echo_prelude(call, &tr)) return;
  const cgrpc_metadata *md;
  cgrpc_call_initial_metadata(call, &md);
  long count;
  if (echo_md_int(call, md, "x-count", 3, &count)) {
    cgrpc_call_finish(call, CGRPC_STATUS_INVALID_ARGUMENT, "bad x-count", tr);
    cgrpc_metadata_destroy(tr);
    return;
  }
  cgrpc_buffer *req = NULL;
  int rc = cgrpc_call_recv(call, &req);
  if (rc == CGRPC_DONE) {
    cgrpc_call_finish(call, CGRPC_STATUS_INVALID_ARGUMENT, "no request", tr);
    cgrpc_metadata_destroy(tr);
    return;
  }
  size_t n = cgrpc_buffer_len(req);
  char *out = malloc(n + 32);
  for (long i = 0; rc == CGRPC_OK && i < count; i++) {
    memcpy(out, cgrpc_buffer_data(req), n);
    int k = snprintf(out + n, 32, "#%ld", i);
    rc = cgrpc_call_send(call, out, n + (size_t)k, 0);
  }
  free(out);
  cgrpc_buffer_free(req);
  echo_end(call, tr, rc);
}

static void echo_client_stream(cgrpc_call *call, void *ud) {
  (void)ud;
  cgrpc_metadata *tr = NULL;
  if (echo_prelude(call, &tr)) return;
  size_t len = 0, cap = 64;
  char *all = malloc(cap);
  cgrpc_buffer *m;
  int rc;
  while ((rc = cgrpc_call_recv(call, &m)) == CGRPC_OK) {
    size_t n = cgrpc_buffer_len(m);
    if (len + n > cap) {
      while (len + n > cap) cap *= 2;
      all = realloc(all, cap);
    }
    memcpy(all + len, cgrpc_buffer_data(m), n);
    len += n;
    cgrpc_buffer_free(m);
  }
  if (rc == CGRPC_DONE) rc = cgrpc_call_send(call, all, len, 0);
  free(all);
  echo_end(call, tr, rc);
}

static void echo_bidi(cgrpc_call *call, void *ud) {
  (void)ud;
  cgrpc_metadata *tr = NULL;
  if (echo_prelude(call, &tr)) return;
  cgrpc_buffer *m;
  int rc;
  while ((rc = cgrpc_call_recv(call, &m)) == CGRPC_OK) {
    rc = cgrpc_call_send(call, cgrpc_buffer_data(m), cgrpc_buffer_len(m), 0);
    cgrpc_buffer_free(m);
    if (rc) break;
  }
  echo_end(call, tr, rc == CGRPC_DONE ? CGRPC_OK : rc);
}

/* Registers the four methods; returns the first error. */
static int echo_register(cgrpc_server *srv) {
  int rc = cgrpc_server_register_method(srv, "/cgrpc.test.Echo/Unary",
                                        echo_unary, NULL, NULL);
  if (!rc)
    rc = cgrpc_server_register_method(srv, "/cgrpc.test.Echo/ServerStream",
                                      echo_server_stream, NULL, NULL);
  if (!rc)
    rc = cgrpc_server_register_method(srv, "/cgrpc.test.Echo/ClientStream",
                                      echo_client_stream, NULL, NULL);
  if (!rc)
    rc = cgrpc_server_register_method(srv, "/cgrpc.test.Echo/Bidi", echo_bidi,
                                      NULL, NULL);
  return rc;
}

#endif
