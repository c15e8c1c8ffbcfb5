/* The call object: the user-facing half (send, recv, wait, cancel) and
 * the stream half run on the loop thread (deframing, flow control, the
 * data provider).  See call.h for the locking rules. */
#include "call.h"

#include <stdio.h>

#include "encoding.h"
#include "transport.h"

/* ---- lifetime ---- */

cgrpc_call *cg_call_new(int is_server, cg_loop *loop) {
  cgrpc_call *c = calloc(1, sizeof(*c));
  if (!c) return NULL;
  atomic_init(&c->refs, 1);
  c->is_server = is_server;
  c->loop = loop;
  c->deadline = CG_NEVER;
  c->max_recv = 4 * 1024 * 1024;
  c->max_send = -1;
  c->grpc_status = -1;
  c->timeout_ns = -1;
  pthread_mutex_init(&c->mu, NULL);
  cg_cond_init(&c->cv);
  c->task.fn = cg_call_run_ops;
  cg_timer_init(&c->deadline_timer, cg_call_deadline_fired);
  return c;
}

void cg_call_ref(cgrpc_call *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void free_out_chunk(cg_out_chunk *k) {
  if (k->release) k->release(k->release_ud);
  free(k);
}

static void md_free(cgrpc_metadata *md) { cgrpc_metadata_destroy(md); }

void cg_call_unref(cgrpc_call *c) {
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (c->notify_destroy) c->notify_destroy(c->notify_ud);
  while (c->oq_head) {
    cg_out_chunk *k = c->oq_head;
    c->oq_head = k->next;
    free_out_chunk(k);
  }
  while (c->rq_head) {
    cgrpc_buffer *b = c->rq_head;
    c->rq_head = b->next;
    free(b);
  }
  free(c->fmsg);
  cg_md_clear(&c->hdrs);
  cg_md_clear(&c->send_md);
  cg_md_clear(&c->fin_trailers);
  cg_md_clear(&c->auth);
  md_free(c->initial_md);
  md_free(c->trailers);
  free(c->grpc_message);
  free(c->req_path);
  free(c->message);
  free(c->message_replaced);
  free(c->fin_msg);
  free(c->method);
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  if (c->is_server)
    cg_server_call_released(c);
  else
    cg_client_call_released(c);
  free(c);
}

void cg_call_wake_locked(cgrpc_call *c) {
  pthread_cond_broadcast(&c->cv);
  if (c->notify) c->notify(c, c->notify_ud);
}

int cgrpc_call_set_notify(cgrpc_call *c, cgrpc_notify_fn fn, void *ud,
                          cgrpc_destroy_fn destroy) {
  if (!c) return CGRPC_E_INVALID_ARG;
  pthread_mutex_lock(&c->mu);
  cgrpc_destroy_fn old_destroy = c->notify_destroy;
  void *old_ud = c->notify_ud;
  c->notify = fn;
  c->notify_ud = ud;
  c->notify_destroy = destroy;
  if (fn) fn(c, ud); /* events may be ready already */
  pthread_mutex_unlock(&c->mu);
  if (old_destroy) old_destroy(old_ud);
  return CGRPC_OK;
}

void cg_call_post_locked(cgrpc_call *c, unsigned ops) {
  c->ops |= ops;
  cg_call_ref(c);
  if (cg_loop_post(c->loop, &c->task) != 1) {
    /* Already queued (it will see the new bits), or the loop is gone. */
    cg_call_unref(c);
  }
}

int cg_call_set_status_locked(cgrpc_call *c, int code, const char *msg) {
  if (c->status_set) return 0;
  c->status_set = 1;
  c->code = code;
  free(c->message);
  c->message = cg_strdup(msg ? msg : "");
  c->recv_eos = 1;
  cg_call_wake_locked(c);
  return 1;
}

void cg_call_abort_locked(cgrpc_call *c) {
  if (c->cancelled) return;
  c->cancelled = 1;
  cg_call_wake_locked(c);
}

/* ---- events ---- */

static int ended_locked(const cgrpc_call *c) {
  return c->is_server ? (c->cancelled || c->finished) : c->status_set;
}

static unsigned ready_locked(const cgrpc_call *c) {
  unsigned r = 0;
  int ended = ended_locked(c);
  if (c->rq_head || c->recv_eos || ended || c->cancelled) r |= CGRPC_EVENT_RECV;
  if (c->out_pending <= CG_SEND_BOUND || ended || c->send_closed)
    r |= CGRPC_EVENT_SEND;
  if (c->initial_md_ready || ended) r |= CGRPC_EVENT_INITIAL_METADATA;
  if (ended) r |= CGRPC_EVENT_DONE;
  return r;
}

int cgrpc_call_wait(cgrpc_call *c, unsigned mask, int64_t timeout_ms,
                    unsigned *ready) {
  if (ready) *ready = 0;
  if (!c || !mask || (mask & ~0xfu)) return CGRPC_E_INVALID_ARG;
  int64_t until = timeout_ms < 0 ? CG_NEVER : cg_now_ns() + timeout_ms * CG_MS;
  int rc = CGRPC_OK;
  pthread_mutex_lock(&c->mu);
  c->users++;
  unsigned r;
  while (!((r = ready_locked(c)) & mask) && !c->destroyed) {
    if (cg_cond_wait_until(&c->cv, &c->mu, until) == ETIMEDOUT) {
      r = ready_locked(c);
      if (!(r & mask)) rc = CGRPC_E_TIMEOUT;
      break;
    }
  }
  if (rc == CGRPC_OK && ready) *ready = r & mask;
  c->users--;
  if (c->destroyed) cg_call_wake_locked(c);
  pthread_mutex_unlock(&c->mu);
  return rc;
}

/* ---- sending ---- */

static int send_common(cgrpc_call *c, const void *data, size_t len,
                       unsigned flags, cgrpc_destroy_fn release, void *ud) {
  if (!c || (!data && len > 0) || (flags & ~CGRPC_SEND_LAST) ||
      (c->is_server && (flags & CGRPC_SEND_LAST)) || len > UINT32_MAX)
    return CGRPC_E_INVALID_ARG;
  if (c->max_send >= 0 && (int64_t)len > c->max_send) return CGRPC_E_TOO_LARGE;
  int nocopy = release != NULL || ud != NULL;
  cg_out_chunk *k = malloc(sizeof(*k) + 5 + (nocopy ? 0 : len));
  cg_out_chunk *ext = NULL;
  if (k && nocopy && len > 0) {
    ext = calloc(1, sizeof(*ext));
    if (!ext) {
      free(k);
      k = NULL;
    }
  }
  if (!k) return CGRPC_E_NOMEM;
  k->next = NULL;
  k->release = NULL;
  k->release_ud = NULL;
  k->inl[0] = 0;
  k->inl[1] = (uint8_t)(len >> 24);
  k->inl[2] = (uint8_t)(len >> 16);
  k->inl[3] = (uint8_t)(len >> 8);
  k->inl[4] = (uint8_t)len;
  k->p = k->inl;
  k->len = 5;
  if (!nocopy) {
    if (len) memcpy(k->inl + 5, data, len);
    k->len = 5 + len;
  } else if (ext) {
    ext->p = data;
    ext->len = len;
    ext->release = release;
    ext->release_ud = ud;
    k->next = ext;
  } else {
    k->release = release; /* empty message: release with the prefix */
    k->release_ud = ud;
  }

  int rc = CGRPC_OK;
  pthread_mutex_lock(&c->mu);
  if (c->sending)
    rc = CGRPC_E_BUSY;
  else if (c->is_server && c->cancelled)
    rc = CGRPC_E_CANCELLED;
  else if (!c->is_server && c->status_set)
    rc = CGRPC_E_CLOSED;
  else if (c->send_closed || c->destroyed)
    rc = CGRPC_E_STATE;
  if (rc != CGRPC_OK) {
    pthread_mutex_unlock(&c->mu);
    if (ext) free(ext); /* cgrpc_call_send_nocopy releases on error */
    free(k);
    return rc;
  }
  cg_out_chunk *last = ext ? ext : k;
  if (c->oq_tail)
    c->oq_tail->next = k;
  else
    c->oq_head = k;
  c->oq_tail = last;
  c->out_pending += 5 + len;
  c->sent_any = 1;
  unsigned ops = CG_OP_DATA;
  if (flags & CGRPC_SEND_LAST) c->send_closed = 1;
  if (c->is_server && !c->initial_md_sent) {
    c->initial_md_sent = 1;
    ops |= CG_OP_HEADERS;
  }
  cg_call_post_locked(c, ops);
  /* Backpressure: wait while the unsent data is beyond the bound. */
  c->sending = 1;
  c->users++;
  while (c->out_pending > CG_SEND_BOUND && !ended_locked(c) && !c->destroyed)
    pthread_cond_wait(&c->cv, &c->mu);
  c->sending = 0;
  c->users--;
  if (c->destroyed) cg_call_wake_locked(c);
  pthread_mutex_unlock(&c->mu);
  return CGRPC_OK;
}

int cgrpc_call_send(cgrpc_call *c, const void *data, size_t len,
                    unsigned flags) {
  return send_common(c, data, len, flags, NULL, NULL);
}

int cgrpc_call_send_nocopy(cgrpc_call *c, const void *data, size_t len,
                           unsigned flags, cgrpc_destroy_fn release, void *ud) {
  /* A non-NULL marker keeps the no-copy path even without release. */
  static char marker;
  int rc = send_common(c, data, len, flags, release, release ? ud : &marker);
  /* As documented: release runs exactly once, here when nothing was
   * queued, so callers need no separate error path for their buffer. */
  if (rc != CGRPC_OK && release) release(ud);
  return rc;
}

int cgrpc_call_close_send(cgrpc_call *c) {
  if (!c) return CGRPC_E_INVALID_ARG;
  if (c->is_server) return CGRPC_E_ROLE;
  int rc = CGRPC_OK;
  pthread_mutex_lock(&c->mu);
  if (c->sending)
    rc = CGRPC_E_BUSY;
  else if (!c->send_closed && !c->status_set) {
    c->send_closed = 1;
    cg_call_post_locked(c, CG_OP_DATA);
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

/* ---- receiving ---- */

int cgrpc_call_recv(cgrpc_call *c, cgrpc_buffer **msg) {
  if (msg) *msg = NULL;
  if (!c || !msg) return CGRPC_E_INVALID_ARG;
  int rc;
  pthread_mutex_lock(&c->mu);
  if (c->receiving) {
    pthread_mutex_unlock(&c->mu);
    return CGRPC_E_BUSY;
  }
  c->receiving = 1;
  c->users++;
  for (;;) {
    if (c->is_server && c->cancelled) {
      rc = CGRPC_E_CANCELLED;
      break;
    }
    if (c->rq_head) {
      cgrpc_buffer *b = c->rq_head;
      c->rq_head = b->next;
      if (!c->rq_head) c->rq_tail = NULL;
      b->next = NULL;
      c->queued_bytes -= b->len + 5;
      if (c->unconsumed > 0 && c->queued_bytes < CG_RECV_HOLD)
        cg_call_post_locked(c, CG_OP_CONSUME);
      *msg = b;
      rc = CGRPC_OK;
      break;
    }
    if (c->recv_eos || c->status_set || c->destroyed) {
      rc = CGRPC_DONE;
      break;
    }
    pthread_cond_wait(&c->cv, &c->mu);
  }
  c->receiving = 0;
  c->users--;
  if (c->destroyed) cg_call_wake_locked(c);
  pthread_mutex_unlock(&c->mu);
  return rc;
}

static cgrpc_metadata *empty_md(cgrpc_metadata **slot) {
  if (!*slot) *slot = calloc(1, sizeof(cgrpc_metadata));
  return *slot;
}

int cgrpc_call_initial_metadata(cgrpc_call *c, const cgrpc_metadata **md) {
  if (md) *md = NULL;
  if (!c || !md) return CGRPC_E_INVALID_ARG;
  pthread_mutex_lock(&c->mu);
  c->users++;
  while (!c->initial_md_ready && !c->status_set && !c->destroyed &&
         !c->cancelled)
    pthread_cond_wait(&c->cv, &c->mu);
  c->users--;
  *md = empty_md(&c->initial_md);
  if (c->destroyed) cg_call_wake_locked(c);
  pthread_mutex_unlock(&c->mu);
  return *md ? CGRPC_OK : CGRPC_E_NOMEM;
}

int cgrpc_call_status(cgrpc_call *c, int *code, const char **message,
                      const cgrpc_metadata **trailers) {
  if (!c) return CGRPC_E_INVALID_ARG;
  if (c->is_server) return CGRPC_E_ROLE;
  pthread_mutex_lock(&c->mu);
  c->users++;
  while (!c->status_set) pthread_cond_wait(&c->cv, &c->mu);
  c->users--;
  if (code) *code = c->code;
  if (message) *message = c->message ? c->message : "";
  if (trailers) *trailers = empty_md(&c->trailers);
  if (c->destroyed) cg_call_wake_locked(c);
  pthread_mutex_unlock(&c->mu);
  return CGRPC_OK;
}

/* ---- cancel, facts, destroy ---- */

void cgrpc_call_cancel(cgrpc_call *c) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  if (c->is_server) {
    if (!c->finished && !c->cancelled) {
      cg_call_abort_locked(c);
      cg_call_post_locked(c, CG_OP_CANCEL);
    }
  } else if (cg_call_set_status_locked(c, CGRPC_STATUS_CANCELLED,
                                       "Cancelled")) {
    c->cancelled = 1;
    cg_call_post_locked(c, CG_OP_CANCEL);
  }
  pthread_mutex_unlock(&c->mu);
}

int cgrpc_call_abort(cgrpc_call *c, int code, const char *message) {
  if (!c || code < 1 || code > 16) return CGRPC_E_INVALID_ARG;
  if (c->is_server) return cgrpc_call_finish(c, code, message, NULL);
  int rc = CGRPC_E_STATE;
  pthread_mutex_lock(&c->mu);
  if (cg_call_set_status_locked(c, code, message)) {
    c->cancelled = 1;
    cg_call_post_locked(c, CG_OP_CANCEL);
    rc = CGRPC_OK;
  } else if (c->code == CGRPC_STATUS_OK) {
    /* The peer's OK arrived with messages still queued, and one of them
     * failed locally: for the caller the RPC did not succeed. */
    c->code = code;
    free(c->message_replaced);
    c->message_replaced = c->message;
    c->message = cg_strdup(message ? message : "");
    rc = CGRPC_OK;
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

int cgrpc_call_is_cancelled(const cgrpc_call *cc) {
  if (!cc) return 0;
  cgrpc_call *c = (cgrpc_call *)cc; /* only to take the lock */
  pthread_mutex_lock(&c->mu);
  int r = c->cancelled ||
          (!c->is_server && c->status_set &&
           (c->code == CGRPC_STATUS_CANCELLED ||
            c->code == CGRPC_STATUS_DEADLINE_EXCEEDED));
  pthread_mutex_unlock(&c->mu);
  if (!r && c->deadline != CG_NEVER && cg_now_ns() >= c->deadline) r = 1;
  return r;
}

int64_t cgrpc_call_time_remaining(const cgrpc_call *c) {
  if (!c || c->deadline == CG_NEVER) return -1;
  int64_t left = c->deadline - cg_now_ns();
  return left <= 0 ? 0 : left / CG_MS;
}

int cgrpc_call_auth_context(cgrpc_call *c, const cgrpc_metadata **auth) {
  if (auth) *auth = NULL;
  if (!c || !auth) return CGRPC_E_INVALID_ARG;
  pthread_mutex_lock(&c->mu);
  *auth = &c->auth; /* filled once, under mu, when the call is attached */
  pthread_mutex_unlock(&c->mu);
  return CGRPC_OK;
}

const char *cgrpc_call_method(const cgrpc_call *c) {
  return c && c->method ? c->method : "";
}

const char *cgrpc_call_peer(const cgrpc_call *cc) {
  if (!cc) return "";
  cgrpc_call *c = (cgrpc_call *)cc; /* only to take the lock */
  pthread_mutex_lock(&c->mu);
  const char *p = c->peer; /* written once, before it is non-empty */
  pthread_mutex_unlock(&c->mu);
  return p;
}

void cgrpc_call_destroy(cgrpc_call *c) {
  if (!c || c->is_server) return;
  pthread_mutex_lock(&c->mu);
  c->destroyed = 1;
  /* No notification after destroy returns: drop the callback now. */
  cgrpc_destroy_fn nd = c->notify_destroy;
  void *nud = c->notify_ud;
  c->notify = NULL;
  c->notify_destroy = NULL;
  if (cg_call_set_status_locked(c, CGRPC_STATUS_CANCELLED,
                                "Call destroyed before it ended")) {
    c->cancelled = 1;
    cg_call_post_locked(c, CG_OP_CANCEL);
  }
  cg_call_wake_locked(c);
  /* Threads still inside return promptly now; wait for them so a
   * destroy racing a blocked recv cannot free memory under it. */
  while (c->users > 0) pthread_cond_wait(&c->cv, &c->mu);
  pthread_mutex_unlock(&c->mu);
  if (nd) nd(nud);
  cg_call_unref(c);
}

/* ---- stream half (loop thread) ---- */

static void rst(cgrpc_call *c, uint32_t code) {
  if (c->t && c->stream_id > 0 && !c->t->closing) {
    nghttp2_submit_rst_stream(c->t->session, NGHTTP2_FLAG_NONE, c->stream_id,
                              code);
    cg_transport_schedule_flush(c->t);
  }
}

/* The received data is unusable: end the call with code/msg. */
static void fail_stream(cgrpc_call *c, int code, const char *msg) {
  c->discard = 1;
  free(c->fmsg);
  c->fmsg = NULL;
  if (c->is_server) {
    pthread_mutex_lock(&c->mu);
    if (!c->finished) {
      c->finished = 1;
      c->send_closed = 1;
      c->fin_code = code;
      free(c->fin_msg);
      c->fin_msg = cg_strdup(msg);
      cg_call_abort_locked(c);
      cg_call_post_locked(c, CG_OP_FINISH);
    }
    pthread_mutex_unlock(&c->mu);
  } else {
    pthread_mutex_lock(&c->mu);
    cg_call_set_status_locked(c, code, msg);
    pthread_mutex_unlock(&c->mu);
    rst(c, NGHTTP2_CANCEL);
  }
}

void cg_call_on_data(cgrpc_call *c, const uint8_t *data, size_t len) {
  size_t total = len;
  cgrpc_buffer *head = NULL, *tail = NULL;
  size_t nbytes = 0;
  while (len > 0 && !c->discard) {
    if (!c->fmsg) {
      size_t take = CG_MIN(5 - c->fhave, len);
      memcpy(c->fhdr + c->fhave, data, take);
      c->fhave += take;
      data += take;
      len -= take;
      if (c->fhave < 5) break;
      c->fhave = 0;
      uint32_t mlen = (uint32_t)c->fhdr[1] << 24 | (uint32_t)c->fhdr[2] << 16 |
                      (uint32_t)c->fhdr[3] << 8 | c->fhdr[4];
      char msg[160];
      if (c->fhdr[0] != 0) {
        snprintf(msg, sizeof(msg),
                 c->fhdr[0] == 1 ? "compressed message received, but no "
                                   "compression was negotiated"
                                 : "invalid message flags 0x%02x",
                 c->fhdr[0]);
        fail_stream(c, c->fhdr[0] == 1 && c->is_server
                           ? CGRPC_STATUS_UNIMPLEMENTED
                           : CGRPC_STATUS_INTERNAL,
                    msg);
        break;
      }
      if (c->max_recv >= 0 && (int64_t)mlen > c->max_recv) {
        snprintf(msg, sizeof(msg),
                 "received message larger than max (%u vs. %lld)", mlen,
                 (long long)c->max_recv);
        fail_stream(c, CGRPC_STATUS_RESOURCE_EXHAUSTED, msg);
        break;
      }
      c->fmsg = cg_buffer_new(mlen);
      if (!c->fmsg) {
        fail_stream(c, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                    "out of memory for a received message");
        break;
      }
      c->fmsg_have = 0;
    } else {
      size_t take = CG_MIN(c->fmsg->len - c->fmsg_have, len);
      memcpy(c->fmsg->data + c->fmsg_have, data, take);
      c->fmsg_have += take;
      data += take;
      len -= take;
    }
    if (c->fmsg && c->fmsg_have == c->fmsg->len) {
      if (tail)
        tail->next = c->fmsg;
      else
        head = c->fmsg;
      tail = c->fmsg;
      nbytes += c->fmsg->len + 5;
      c->fmsg = NULL;
    }
  }
  size_t give = 0;
  pthread_mutex_lock(&c->mu);
  if (head) {
    if (c->rq_tail)
      c->rq_tail->next = head;
    else
      c->rq_head = head;
    c->rq_tail = tail;
    c->queued_bytes += nbytes;
    cg_call_wake_locked(c);
  }
  c->unconsumed += total;
  /* Reopen the window while the reader keeps up; hold it when the reader
   * falls behind, so a slow reader throttles the peer. */
  if (c->queued_bytes < CG_RECV_HOLD || c->discard || c->status_set) {
    give = c->unconsumed;
    c->unconsumed = 0;
  }
  pthread_mutex_unlock(&c->mu);
  if (give && c->t) {
    nghttp2_session_consume(c->t->session, c->stream_id, give);
  }
}

void cg_call_on_end_stream(cgrpc_call *c) {
  /* Fail first: a reader woken by the end must already see the error. */
  if ((c->fhave > 0 || c->fmsg != NULL) && !c->discard)
    fail_stream(c, CGRPC_STATUS_INTERNAL,
                "stream ended in the middle of a message");
  pthread_mutex_lock(&c->mu);
  c->recv_eos = 1;
  cg_call_wake_locked(c);
  pthread_mutex_unlock(&c->mu);
}

void cg_call_on_begin_headers(cgrpc_call *c) {
  cg_md_clear(&c->hdrs);
  c->http_status = 0;
  c->grpc_status = -1;
  free(c->grpc_message);
  c->grpc_message = NULL;
  c->content_type_ok = 0;
  c->hdr_bytes = 0;
}

static int name_is(const uint8_t *n, size_t len, const char *s) {
  return strlen(s) == len && memcmp(n, s, len) == 0;
}

int cg_call_on_header(cgrpc_call *c, const uint8_t *name, size_t nlen,
                      const uint8_t *value, size_t vlen) {
  c->hdr_bytes += nlen + vlen + 32;
  if (c->hdr_bytes > CG_MAX_HEADER_LIST) return 0; /* reported when done */
  if (nlen > 0 && name[0] == ':') {
    if (name_is(name, nlen, ":status")) {
      int v = 0;
      for (size_t i = 0; i < vlen && i < 4; i++)
        v = v * 10 + (value[i] >= '0' && value[i] <= '9' ? value[i] - '0' : 0);
      c->http_status = v;
    } else if (name_is(name, nlen, ":path")) {
      free(c->req_path);
      c->req_path = cg_strndup((const char *)value, vlen);
    } else if (name_is(name, nlen, ":method")) {
      if (!name_is(value, vlen, "POST")) c->bad_request = 405;
    }
    return 0;
  }
  if (name_is(name, nlen, "content-type")) {
    c->content_type_ok =
        vlen >= 16 && memcmp(value, "application/grpc", 16) == 0 &&
        (vlen == 16 || value[16] == '+' || value[16] == ';');
  } else if (name_is(name, nlen, "grpc-status")) {
    int v = 0, ok = vlen > 0 && vlen <= 9;
    for (size_t i = 0; ok && i < vlen; i++) {
      if (value[i] < '0' || value[i] > '9') ok = 0;
      v = v * 10 + (value[i] - '0');
    }
    c->grpc_status = ok ? v : -2;
  } else if (name_is(name, nlen, "grpc-message")) {
    free(c->grpc_message);
    c->grpc_message = cg_percent_decode(value, vlen);
  } else if (name_is(name, nlen, "grpc-timeout")) {
    int64_t ns;
    if (cg_timeout_decode(value, vlen, &ns) == 0)
      c->timeout_ns = ns;
    else
      c->bad_request = 400;
  } else if (name_is(name, nlen, "grpc-encoding")) {
    if (!name_is(value, vlen, "identity")) c->bad_request = -1;
  } else if (name_is(name, nlen, "user-agent") && c->is_server) {
    return cg_md_append(&c->hdrs, "user-agent", 10, value, vlen);
  } else {
    return cg_md_add_received(&c->hdrs, name, nlen, value, vlen);
  }
  return 0;
}

void cg_call_on_headers_done(cgrpc_call *c, int end_stream) {
  if (c->hdr_bytes > CG_MAX_HEADER_LIST && !c->discard) {
    char msg[160];
    snprintf(msg, sizeof(msg),
             "received metadata larger than the limit (%zu vs. %d bytes)",
             c->hdr_bytes, CG_MAX_HEADER_LIST);
    if (c->is_server && !c->response_headers_seen) {
      cg_server_reject(c, CGRPC_STATUS_RESOURCE_EXHAUSTED, msg);
    } else {
      pthread_mutex_lock(&c->mu);
      c->initial_md_ready = 1;
      pthread_mutex_unlock(&c->mu);
      fail_stream(c, CGRPC_STATUS_RESOURCE_EXHAUSTED, msg);
    }
    return;
  }
  if (c->is_server)
    cg_server_on_headers_done(c, end_stream);
  else
    cg_client_on_headers_done(c, end_stream);
}

static int map_h2_error(uint32_t err, const char **msg) {
  switch (err) {
  case NGHTTP2_NO_ERROR:
    *msg = "stream closed without a gRPC status";
    return CGRPC_STATUS_INTERNAL;
  case NGHTTP2_REFUSED_STREAM:
    *msg = "stream refused by the server (REFUSED_STREAM)";
    return CGRPC_STATUS_UNAVAILABLE;
  case NGHTTP2_CANCEL:
    *msg = "stream cancelled by the peer (RST_STREAM CANCEL)";
    return CGRPC_STATUS_CANCELLED;
  case NGHTTP2_ENHANCE_YOUR_CALM:
    *msg = "stream reset: ENHANCE_YOUR_CALM";
    return CGRPC_STATUS_RESOURCE_EXHAUSTED;
  case NGHTTP2_INADEQUATE_SECURITY:
    *msg = "stream reset: INADEQUATE_SECURITY";
    return CGRPC_STATUS_PERMISSION_DENIED;
  default:
    *msg = "stream reset by the peer";
    return CGRPC_STATUS_INTERNAL;
  }
}

void cg_call_stream_closed(cgrpc_call *c, uint32_t h2_error, int code,
                           const char *msg) {
  cg_transport *t = c->t;
  if (t) cg_timer_cancel(t->loop, &c->deadline_timer);
  pthread_mutex_lock(&c->mu);
  if (c->is_server) {
    /* A response that ended with our status is complete; anything else
     * (reset by the client, connection lost) aborts the RPC. */
    if (!(c->local_end_sent && h2_error == NGHTTP2_NO_ERROR && code < 0))
      cg_call_abort_locked(c);
    c->recv_eos = 1;
    cg_call_wake_locked(c);
  } else if (!c->status_set) {
    char buf[200];
    const char *m = msg;
    if (code < 0) {
      code = map_h2_error(h2_error, &m);
      if (h2_error == NGHTTP2_INTERNAL_ERROR || h2_error > 13) {
        snprintf(buf, sizeof(buf), "stream reset by the peer (HTTP/2 error %u)",
                 h2_error);
        m = buf;
      }
    }
    if (code == CGRPC_STATUS_CANCELLED && c->deadline != CG_NEVER &&
        cg_now_ns() >= c->deadline) {
      code = CGRPC_STATUS_DEADLINE_EXCEEDED;
      m = "Deadline Exceeded";
    }
    cg_call_set_status_locked(c, code, m);
  }
  /* Window held for unread messages goes back to the connection. */
  size_t give = c->unconsumed;
  c->unconsumed = 0;
  pthread_mutex_unlock(&c->mu);
  if (t) {
    if (give && t->session)
      nghttp2_session_consume_connection(t->session, give);
    cg_transport_detach(t, c);
  }
}

ssize_t cg_call_read_data(cgrpc_call *c, uint8_t *buf, size_t len,
                          uint32_t *flags) {
  cg_out_chunk *done = NULL;
  size_t n = 0;
  ssize_t ret;
  pthread_mutex_lock(&c->mu);
  while (n < len && c->oq_head) {
    cg_out_chunk *k = c->oq_head;
    size_t take = CG_MIN(k->len, len - n);
    memcpy(buf + n, k->p, take);
    n += take;
    k->p += take;
    k->len -= take;
    if (k->len == 0) {
      c->oq_head = k->next;
      if (!c->oq_head) c->oq_tail = NULL;
      k->next = done;
      done = k;
    }
  }
  int was_blocked = c->out_pending > CG_SEND_BOUND;
  c->out_pending -= n;
  if (was_blocked && c->out_pending <= CG_SEND_BOUND)
    cg_call_wake_locked(c);
  ret = (ssize_t)n;
  if (!c->oq_head && c->send_closed) {
    if (c->is_server) {
      ssize_t r = cg_server_read_eof(c, flags);
      if (r < 0) ret = r;
    } else {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    c->local_end_sent = 1;
  } else if (n == 0) {
    c->data_deferred = 1;
    ret = NGHTTP2_ERR_DEFERRED;
  }
  pthread_mutex_unlock(&c->mu);
  while (done) {
    cg_out_chunk *k = done;
    done = k->next;
    free_out_chunk(k);
  }
  return ret;
}

void cg_call_deadline_fired(cg_timer *tm) {
  cgrpc_call *c =
      (cgrpc_call *)((char *)tm - offsetof(cgrpc_call, deadline_timer));
  pthread_mutex_lock(&c->mu);
  if (c->is_server) {
    /* End the RPC with DEADLINE_EXCEEDED trailers rather than a bare
     * RST_STREAM(CANCEL): a client whose own timer fires a moment later
     * would otherwise report CANCELLED. */
    if (!c->finished) {
      c->finished = 1;
      c->send_closed = 1;
      c->fin_code = CGRPC_STATUS_DEADLINE_EXCEEDED;
      free(c->fin_msg);
      c->fin_msg = cg_strdup("Deadline Exceeded");
      cg_call_post_locked(c, CG_OP_FINISH);
    }
    cg_call_abort_locked(c);
    pthread_mutex_unlock(&c->mu);
    return;
  }
  cg_call_set_status_locked(c, CGRPC_STATUS_DEADLINE_EXCEEDED,
                            "Deadline Exceeded");
  c->cancelled = 1;
  pthread_mutex_unlock(&c->mu);
  rst(c, NGHTTP2_CANCEL);
  if (c->waiting) cg_client_unwait(c);
}

void cg_call_run_ops(cg_task *task) {
  cgrpc_call *c = (cgrpc_call *)((char *)task - offsetof(cgrpc_call, task));
  pthread_mutex_lock(&c->mu);
  unsigned ops = c->ops;
  c->ops = 0;
  pthread_mutex_unlock(&c->mu);
  if (ops & CG_OP_CONSUME) {
    pthread_mutex_lock(&c->mu);
    size_t give = c->queued_bytes < CG_RECV_HOLD ? c->unconsumed : 0;
    c->unconsumed -= give;
    pthread_mutex_unlock(&c->mu);
    if (give && c->t && !c->t->closing) {
      nghttp2_session_consume(c->t->session, c->stream_id, give);
      cg_transport_schedule_flush(c->t);
    }
  }
  if (ops & CG_OP_CANCEL) {
    if (c->t) {
      cg_timer_cancel(c->loop, &c->deadline_timer);
      rst(c, NGHTTP2_CANCEL);
    } else if (!c->is_server && c->waiting) {
      cg_client_unwait(c);
    }
  }
  if (c->is_server) {
    cg_server_call_ops(c, ops);
  } else {
    if (ops & CG_OP_START) cg_client_start(c);
    if ((ops & CG_OP_DATA) && c->t && c->data_deferred && !c->t->closing) {
      c->data_deferred = 0;
      nghttp2_session_resume_data(c->t->session, c->stream_id);
      cg_transport_schedule_flush(c->t);
    }
  }
  cg_call_unref(c);
}
