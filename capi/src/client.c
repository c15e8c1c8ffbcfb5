/* Client calls: call options, starting a call, request headers, response
 * headers and trailers into a status, the unary helper. */
#include <stdio.h>

#include "channel.h"
#include "encoding.h"

struct cgrpc_call_options {
  int64_t timeout_ms; /* < 0: none */
  int wait_for_ready;
  cgrpc_metadata md;
};

int cgrpc_call_options_create(cgrpc_call_options **out) {
  if (!out) return CGRPC_E_INVALID_ARG;
  cgrpc_call_options *o = calloc(1, sizeof(*o));
  if (!(*out = o)) return CGRPC_E_NOMEM;
  o->timeout_ms = -1;
  return CGRPC_OK;
}

void cgrpc_call_options_destroy(cgrpc_call_options *o) {
  if (!o) return;
  cg_md_clear(&o->md);
  free(o);
}

int cgrpc_call_options_set_timeout(cgrpc_call_options *o, int64_t ms) {
  if (!o) return CGRPC_E_INVALID_ARG;
  o->timeout_ms = ms < 0 ? -1 : ms;
  return CGRPC_OK;
}

int cgrpc_call_options_add_metadata(cgrpc_call_options *o, const char *key,
                                    const void *value, size_t len) {
  if (!o) return CGRPC_E_INVALID_ARG;
  return cgrpc_metadata_add(&o->md, key, value, len);
}

int cgrpc_call_options_set_wait_for_ready(cgrpc_call_options *o, int enable) {
  if (!o) return CGRPC_E_INVALID_ARG;
  o->wait_for_ready = enable != 0;
  return CGRPC_OK;
}

static int valid_method(const char *m) {
  if (m[0] != '/') return 0;
  const char *slash = strchr(m + 1, '/');
  if (!slash || slash == m + 1 || slash[1] == 0 || strchr(slash + 1, '/'))
    return 0;
  for (const char *p = m; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) return 0;
  return 1;
}

int cgrpc_call_start(cgrpc_call **out, cgrpc_channel *ch, const char *method,
                     const cgrpc_call_options *opts) {
  if (!out) return CGRPC_E_INVALID_ARG;
  *out = NULL;
  if (!ch || !method || !valid_method(method)) return CGRPC_E_INVALID_ARG;
  pthread_mutex_lock(&ch->mu);
  int closed = ch->closed;
  pthread_mutex_unlock(&ch->mu);
  if (closed) return CGRPC_E_CLOSED;
  cgrpc_call *c = cg_call_new(0, ch->loop);
  if (!c) return CGRPC_E_NOMEM;
  cg_channel_ref(ch);
  c->ch = ch;
  c->max_recv = ch->max_recv;
  c->max_send = ch->max_send;
  c->method = cg_strdup(method);
  int rc = c->method ? cg_md_append_all(&c->send_md, &ch->default_md)
                     : CGRPC_E_NOMEM;
  if (opts) {
    if (!rc) rc = cg_md_append_all(&c->send_md, &opts->md);
    c->wait_for_ready = opts->wait_for_ready;
    if (opts->timeout_ms >= 0) {
      int64_t now = cg_now_ns();
      /* Beyond what int64 nanoseconds can hold: no deadline at all. */
      c->deadline = opts->timeout_ms > (CG_NEVER - now) / CG_MS
                        ? CG_NEVER
                        : now + opts->timeout_ms * CG_MS;
    }
  }
  if (rc) {
    cg_call_unref(c);
    return rc;
  }
  pthread_mutex_lock(&c->mu);
  c->ops |= CG_OP_START;
  cg_call_ref(c);
  if (cg_loop_post(c->loop, &c->task) != 1) {
    /* The channel closed between the check and now. */
    cg_call_set_status_locked(c, CGRPC_STATUS_CANCELLED, "channel closed");
    c->ops = 0;
    pthread_mutex_unlock(&c->mu);
    cg_call_unref(c);
  } else {
    pthread_mutex_unlock(&c->mu);
  }
  *out = c;
  return CGRPC_OK;
}

void cg_client_call_released(cgrpc_call *c) {
  if (c->ch) cg_channel_unref(c->ch);
}

#define NV(n, v, vl)                                                           \
  (nghttp2_nv) {                                                               \
    (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vl), NGHTTP2_NV_FLAG_NONE  \
  }

void cg_client_call_submit(cgrpc_call *c, cg_transport *t) {
  cgrpc_channel *ch = c->ch;
  char timeout[32];
  pthread_mutex_lock(&c->mu);
  int ended = c->status_set;
  pthread_mutex_unlock(&c->mu);
  if (ended) {
    cg_timer_cancel(c->loop, &c->deadline_timer);
    return;
  }
  size_t nmd = c->send_md.n;
  nghttp2_nv stack_nv[24];
  nghttp2_nv *nv = nmd + 8 <= 24 ? stack_nv : malloc((nmd + 8) * sizeof(*nv));
  cg_bytes *b64 = nmd ? calloc(nmd, sizeof(cg_bytes)) : NULL;
  int rc = (!nv || (nmd && !b64)) ? CGRPC_E_NOMEM : 0;
  size_t n = 0;
  if (!rc) {
    const char *path = c->method;
    nv[n++] = NV(":method", "POST", 4);
    if (t->tls)
      nv[n++] = NV(":scheme", "https", 5);
    else
      nv[n++] = NV(":scheme", "http", 4);
    nv[n++] = NV(":path", path, strlen(path));
    nv[n++] = NV(":authority", ch->authority, strlen(ch->authority));
    nv[n++] = NV("te", "trailers", 8);
    nv[n++] = NV("content-type", "application/grpc", 16);
    nv[n++] = NV("user-agent", ch->user_agent, strlen(ch->user_agent));
    if (c->deadline != CG_NEVER) {
      cg_timeout_encode(timeout, c->deadline - cg_now_ns());
      nv[n++] = NV("grpc-timeout", timeout, strlen(timeout));
    }
    for (size_t i = 0; i < nmd && !rc; i++) {
      cg_md_entry *e = &c->send_md.e[i];
      size_t kl = strlen(e->key);
      nghttp2_nv x = {(uint8_t *)e->key, e->val, kl, e->len,
                      NGHTTP2_NV_FLAG_NONE};
      if (cg_md_key_is_bin(e->key, kl)) {
        rc = cg_base64_encode(&b64[i], e->val, e->len);
        x.value = b64[i].p ? b64[i].p : (uint8_t *)"";
        x.valuelen = b64[i].len;
      }
      nv[n++] = x;
    }
  }
  int32_t id = -1;
  if (!rc) {
    nghttp2_data_provider dp = cg_data_provider(c);
    id = nghttp2_submit_request(t->session, NULL, nv, n, &dp, c);
  }
  for (size_t i = 0; b64 && i < nmd; i++) cg_bytes_free(&b64[i]);
  free(b64);
  if (nv != stack_nv) free(nv);
  if (id < 0) {
    cg_timer_cancel(c->loop, &c->deadline_timer);
    pthread_mutex_lock(&c->mu);
    cg_call_set_status_locked(c, CGRPC_STATUS_UNAVAILABLE,
                              rc ? "out of memory" : nghttp2_strerror(id));
    pthread_mutex_unlock(&c->mu);
    return;
  }
  cg_transport_attach(t, c, id);
  pthread_mutex_lock(&c->mu);
  memcpy(c->peer, t->peer, sizeof(c->peer));
  cg_md_append_all(&c->auth, &t->auth);
  pthread_mutex_unlock(&c->mu);
  cg_transport_schedule_flush(t);
}

static int status_from_http(int http) {
  switch (http) {
  case 400: return CGRPC_STATUS_INTERNAL;
  case 401: return CGRPC_STATUS_UNAUTHENTICATED;
  case 403: return CGRPC_STATUS_PERMISSION_DENIED;
  case 404: return CGRPC_STATUS_UNIMPLEMENTED;
  case 429:
  case 502:
  case 503:
  case 504: return CGRPC_STATUS_UNAVAILABLE;
  case 431: return CGRPC_STATUS_INTERNAL;
  default: return CGRPC_STATUS_UNKNOWN;
  }
}

static cgrpc_metadata *take_hdrs(cgrpc_call *c) {
  cgrpc_metadata *md = malloc(sizeof(*md));
  if (!md) return NULL;
  *md = c->hdrs;
  memset(&c->hdrs, 0, sizeof(c->hdrs));
  return md;
}

/* The stream's final header block arrived: publish the status. */
static void finish_from_headers(cgrpc_call *c) {
  char buf[160];
  int code;
  const char *msg = c->grpc_message ? c->grpc_message : "";
  if (c->http_status != 0 && c->http_status != 200 && c->grpc_status == -1) {
    code = status_from_http(c->http_status);
    snprintf(buf, sizeof(buf), "unexpected HTTP status code %d received",
             c->http_status);
    msg = buf;
  } else if (c->grpc_status < 0 || c->grpc_status > 16) {
    code = CGRPC_STATUS_UNKNOWN;
    if (c->grpc_status == -1) {
      msg = "server closed the stream without a grpc-status";
    } else if (c->grpc_status == -2) {
      msg = "malformed grpc-status";
    }
    /* Codes beyond 16 keep the server's message but become UNKNOWN. */
  } else {
    code = c->grpc_status;
  }
  cgrpc_metadata *tr = take_hdrs(c);
  pthread_mutex_lock(&c->mu);
  if (!c->status_set && tr) {
    cgrpc_metadata_destroy(c->trailers);
    c->trailers = tr;
    tr = NULL;
  }
  c->recv_eos = 1;
  cg_call_set_status_locked(c, code, msg);
  int sent_all = c->local_end_sent;
  pthread_mutex_unlock(&c->mu);
  cgrpc_metadata_destroy(tr);
  c->discard = 1;
  if (!sent_all && c->t) {
    /* The server ended first: stop our half too (RFC 7540 8.1). */
    nghttp2_submit_rst_stream(c->t->session, NGHTTP2_FLAG_NONE, c->stream_id,
                              NGHTTP2_NO_ERROR);
    cg_transport_schedule_flush(c->t);
  }
}

void cg_client_on_headers_done(cgrpc_call *c, int end_stream) {
  if (!c->response_headers_seen) {
    if (c->http_status >= 100 && c->http_status < 200 && !end_stream) {
      cg_call_on_begin_headers(c); /* informational: wait for the real one */
      return;
    }
    c->response_headers_seen = 1;
    if (end_stream) { /* Trailers-Only */
      pthread_mutex_lock(&c->mu);
      c->initial_md_ready = 1;
      pthread_mutex_unlock(&c->mu);
      finish_from_headers(c);
      return;
    }
    if (c->http_status != 200 || !c->content_type_ok) {
      char buf[160];
      int code = c->http_status != 200 ? status_from_http(c->http_status)
                                       : CGRPC_STATUS_UNKNOWN;
      if (c->http_status != 200)
        snprintf(buf, sizeof(buf), "unexpected HTTP status code %d received",
                 c->http_status);
      else
        snprintf(buf, sizeof(buf), "unexpected content-type in the response");
      c->discard = 1;
      pthread_mutex_lock(&c->mu);
      c->initial_md_ready = 1;
      cg_call_set_status_locked(c, code, buf);
      pthread_mutex_unlock(&c->mu);
      if (c->t) {
        nghttp2_submit_rst_stream(c->t->session, NGHTTP2_FLAG_NONE,
                                  c->stream_id, NGHTTP2_CANCEL);
        cg_transport_schedule_flush(c->t);
      }
      return;
    }
    cgrpc_metadata *md = take_hdrs(c);
    pthread_mutex_lock(&c->mu);
    if (md && !c->initial_md) {
      c->initial_md = md;
      md = NULL;
    }
    c->initial_md_ready = 1;
    cg_call_wake_locked(c);
    pthread_mutex_unlock(&c->mu);
    cgrpc_metadata_destroy(md);
    return;
  }
  /* Trailers: nghttp2 guarantees they end the stream. */
  if (c->fhave > 0 || c->fmsg) {
    c->grpc_status = CGRPC_STATUS_INTERNAL;
    free(c->grpc_message);
    c->grpc_message = cg_strdup("stream ended in the middle of a message");
  }
  finish_from_headers(c);
}

static int unary_on(cgrpc_call *c, const void *request, size_t request_len,
                    int *code, cgrpc_buffer **reply, char **message);

int cgrpc_unary(cgrpc_channel *ch, const char *method, const void *request,
                size_t request_len, const cgrpc_call_options *opts, int *code,
                cgrpc_buffer **reply, char **message) {
  if (reply) *reply = NULL;
  if (message) *message = NULL;
  if (!code || !reply) return CGRPC_E_INVALID_ARG;
  cgrpc_call *c;
  int rc = cgrpc_call_start(&c, ch, method, opts);
  if (rc) return rc;
  return unary_on(c, request, request_len, code, reply, message);
}

int cgrpc_stub_unary(const cgrpc_stub *stub, const char *method,
                     const void *request, size_t request_len,
                     const cgrpc_call_options *opts, int *code,
                     cgrpc_buffer **reply, char **message) {
  if (reply) *reply = NULL;
  if (message) *message = NULL;
  if (!code || !reply) return CGRPC_E_INVALID_ARG;
  cgrpc_call *c;
  int rc = cgrpc_stub_call_start(&c, stub, method, opts);
  if (rc) return rc;
  return unary_on(c, request, request_len, code, reply, message);
}

/* Sends request, reads one reply and the status, destroys c. */
static int unary_on(cgrpc_call *c, const void *request, size_t request_len,
                    int *code, cgrpc_buffer **reply, char **message) {
  int rc;
  rc = cgrpc_call_send(c, request, request_len, CGRPC_SEND_LAST);
  if (rc && rc != CGRPC_E_CLOSED) {
    cgrpc_call_destroy(c);
    return rc;
  }
  cgrpc_buffer *msg = NULL;
  cgrpc_buffer *extra = NULL;
  int r = cgrpc_call_recv(c, &msg);
  if (r == CGRPC_OK) r = cgrpc_call_recv(c, &extra);
  const char *m;
  cgrpc_call_status(c, code, &m, NULL);
  if (*code == CGRPC_STATUS_OK && (!msg || extra)) {
    /* A unary response must carry exactly one message. */
    *code = CGRPC_STATUS_INTERNAL;
    m = msg ? "server sent more than one response message"
            : "server sent no response message";
  }
  if (*code == CGRPC_STATUS_OK) {
    *reply = msg;
    msg = NULL;
  }
  if (message) *message = cg_strdup(m);
  cgrpc_buffer_free(msg);
  cgrpc_buffer_free(extra);
  cgrpc_call_destroy(c);
  return CGRPC_OK;
}
