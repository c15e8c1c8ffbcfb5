/* HTTP/2 connection: socket I/O, nghttp2 session and callbacks. */
#include "transport.h"

#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- plain socket I/O ---- */

static ssize_t plain_read(cg_io *io, void *buf, size_t n) {
  return recv(io->fd, buf, n, 0);
}
static ssize_t plain_write(cg_io *io, const void *buf, size_t n) {
  return send(io->fd, buf, n, MSG_NOSIGNAL);
}
static void plain_destroy(cg_io *io) {
  if (io->fd >= 0) close(io->fd);
  free(io);
}
cg_io *cg_io_plain_new(int fd) {
  cg_io *io = calloc(1, sizeof(*io));
  if (!io) return NULL;
  io->read = plain_read;
  io->write = plain_write;
  io->destroy = plain_destroy;
  io->fd = fd;
  return io;
}

/* ---- calls on streams ---- */

void cg_transport_attach(cg_transport *t, cgrpc_call *c, int32_t stream_id) {
  c->t = t;
  c->stream_id = stream_id;
  c->tprev = NULL;
  c->tnext = t->calls;
  if (t->calls) t->calls->tprev = c;
  t->calls = c;
  t->ncalls++;
  cg_call_ref(c);
}

void cg_transport_detach(cg_transport *t, cgrpc_call *c) {
  if (c->t != t) return;
  if (c->tprev)
    c->tprev->tnext = c->tnext;
  else
    t->calls = c->tnext;
  if (c->tnext) c->tnext->tprev = c->tprev;
  c->tnext = c->tprev = NULL;
  c->t = NULL;
  if (t->session && c->stream_id > 0)
    nghttp2_session_set_stream_user_data(t->session, c->stream_id, NULL);
  t->ncalls--;
  cg_call_unref(c);
  if (t->draining && t->ncalls == 0 && !t->closing) {
    /* Last frames (trailers, RST) may still be buffered: write first. */
    t->close_after_flush = 1;
    cg_transport_schedule_flush(t);
  }
}

static cgrpc_call *stream_call(cg_transport *t, int32_t id) {
  return nghttp2_session_get_stream_user_data(t->session, id);
}

/* ---- nghttp2 callbacks (loop thread) ---- */

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f,
                            void *ud) {
  cg_transport *t = ud;
  CG_UNUSED(s);
  if (f->hd.type != NGHTTP2_HEADERS) return 0;
  cgrpc_call *c = stream_call(t, f->hd.stream_id);
  if (!c && t->is_server && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
    if (t->draining) {
      nghttp2_submit_rst_stream(t->session, NGHTTP2_FLAG_NONE,
                                f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
      return 0;
    }
    c = t->hooks->new_stream(t, f->hd.stream_id);
    if (!c) {
      nghttp2_submit_rst_stream(t->session, NGHTTP2_FLAG_NONE,
                                f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
      return 0;
    }
    cg_transport_attach(t, c, f->hd.stream_id);
    cg_call_unref(c); /* attach took the transport's reference */
    nghttp2_session_set_stream_user_data(t->session, f->hd.stream_id, c);
  }
  if (c) cg_call_on_begin_headers(c);
  return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f,
                     const uint8_t *name, size_t nlen, const uint8_t *value,
                     size_t vlen, uint8_t flags, void *ud) {
  cg_transport *t = ud;
  CG_UNUSED(s);
  CG_UNUSED(flags);
  if (f->hd.type != NGHTTP2_HEADERS) return 0;
  cgrpc_call *c = stream_call(t, f->hd.stream_id);
  if (!c) return 0;
  if (cg_call_on_header(c, name, nlen, value, vlen) != 0)
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
  return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f,
                         void *ud) {
  cg_transport *t = ud;
  CG_UNUSED(s);
  switch (f->hd.type) {
  case NGHTTP2_HEADERS: {
    cgrpc_call *c = stream_call(t, f->hd.stream_id);
    if (c)
      cg_call_on_headers_done(c, (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
    break;
  }
  case NGHTTP2_DATA: {
    cgrpc_call *c = stream_call(t, f->hd.stream_id);
    if (c && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) cg_call_on_end_stream(c);
    break;
  }
  case NGHTTP2_GOAWAY:
    if (!t->is_server && !t->draining) {
      t->draining = 1;
      CG_TRACE("GOAWAY from %s (last stream %d, code %u)", t->peer,
               f->goaway.last_stream_id, f->goaway.error_code);
      if (t->hooks->goaway) t->hooks->goaway(t);
    }
    break;
  default:
    break;
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id,
                         const uint8_t *data, size_t len, void *ud) {
  cg_transport *t = ud;
  CG_UNUSED(flags);
  cgrpc_call *c = stream_call(t, id);
  if (!c) {
    /* No reader (reset, refused): give the window back at once. */
    nghttp2_session_consume(s, id, len);
    return 0;
  }
  cg_call_on_data(c, data, len);
  return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t err,
                           void *ud) {
  cg_transport *t = ud;
  CG_UNUSED(s);
  cgrpc_call *c = stream_call(t, id);
  if (c) cg_call_stream_closed(c, err, -1, NULL);
  return 0;
}

static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f,
                         void *ud) {
  cg_transport *t = ud;
  CG_UNUSED(s);
  /* A server that ends its response before the request ended resets the
   * request side (RFC 7540 8.1) so the stream can be freed. */
  if (t->is_server && (f->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
      (f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA)) {
    cgrpc_call *c = stream_call(t, f->hd.stream_id);
    if (c) {
      pthread_mutex_lock(&c->mu);
      int eos = c->recv_eos;
      pthread_mutex_unlock(&c->mu);
      if (!eos)
        nghttp2_submit_rst_stream(t->session, NGHTTP2_FLAG_NONE,
                                  f->hd.stream_id, NGHTTP2_NO_ERROR);
    }
  }
  return 0;
}

static int on_frame_not_send(nghttp2_session *s, const nghttp2_frame *f,
                             int lib_error, void *ud) {
  cg_transport *t = ud;
  CG_UNUSED(s);
  if (f->hd.type != NGHTTP2_HEADERS) return 0;
  cgrpc_call *c = stream_call(t, f->hd.stream_id);
  if (c && !t->is_server) {
    char msg[128];
    int too_big = lib_error == NGHTTP2_ERR_FRAME_SIZE_ERROR;
    snprintf(msg, sizeof(msg), "request headers not sent: %s",
             too_big ? "metadata larger than the header size limit"
                     : nghttp2_strerror(lib_error));
    cg_call_stream_closed(c, NGHTTP2_REFUSED_STREAM,
                          too_big ? CGRPC_STATUS_RESOURCE_EXHAUSTED
                                  : CGRPC_STATUS_UNAVAILABLE,
                          msg);
  }
  return 0;
}

static ssize_t data_read(nghttp2_session *s, int32_t id, uint8_t *buf,
                         size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud) {
  CG_UNUSED(s);
  CG_UNUSED(id);
  CG_UNUSED(ud);
  return cg_call_read_data(src->ptr, buf, len, flags);
}

const nghttp2_data_provider cg_data_provider_template = {{0}, data_read};

nghttp2_data_provider cg_data_provider(cgrpc_call *c) {
  nghttp2_data_provider p = cg_data_provider_template;
  p.source.ptr = c;
  return p;
}

static nghttp2_session_callbacks *make_callbacks(void) {
  nghttp2_session_callbacks *cb;
  if (nghttp2_session_callbacks_new(&cb) != 0) return NULL;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cb,
                                                           on_frame_not_send);
  return cb;
}

/* ---- I/O ---- */

static void update_events(cg_transport *t, uint32_t ev) {
  if (t->events == ev || t->closing) return;
  t->events = ev;
  cg_loop_rewatch(t->loop, &t->watch, ev);
}

static void fail(cg_transport *t, const char *what) {
  char msg[400];
  if (t->io->err[0])
    snprintf(msg, sizeof(msg), "%s %s: %s", what, t->peer, t->io->err);
  else
    snprintf(msg, sizeof(msg), "%s %s", what, t->peer);
  cg_transport_close(t, CGRPC_STATUS_UNAVAILABLE, msg);
}

static void flush_now(cg_transport *t) {
  if (t->closing || !t->ready) return;
  for (;;) {
    /* Gather frames into one buffer, then write it in one go. */
    while (t->out.len - t->out_off < 65536 &&
           nghttp2_session_want_write(t->session)) {
      const uint8_t *p;
      ssize_t n = nghttp2_session_mem_send(t->session, &p);
      if (n < 0) {
        fail(t, nghttp2_strerror((int)n));
        return;
      }
      if (n == 0) break;
      if (cg_bytes_append(&t->out, p, (size_t)n)) {
        fail(t, "out of memory writing to");
        return;
      }
    }
    if (t->out.len == t->out_off) break;
    ssize_t w = t->io->write(t->io, t->out.p + t->out_off,
                             t->out.len - t->out_off);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno == EINTR) continue;
      fail(t, "connection lost writing to");
      return;
    }
    t->out_off += (size_t)w;
    if (t->out_off == t->out.len) t->out.len = t->out_off = 0;
  }
  int pending = t->out.len > t->out_off;
  update_events(t, EPOLLIN | (pending ? EPOLLOUT : 0));
  if (!pending && t->close_after_flush)
    cg_transport_close(t, CGRPC_STATUS_UNAVAILABLE, "connection drained");
  else if (!pending && !nghttp2_session_want_read(t->session) &&
           !nghttp2_session_want_write(t->session))
    cg_transport_close(t, CGRPC_STATUS_UNAVAILABLE, "connection closed");
}

static void flush_task(cg_task *task) {
  cg_transport *t = (cg_transport *)((char *)task -
                                     offsetof(cg_transport, flush_task));
  flush_now(t);
}

void cg_transport_schedule_flush(cg_transport *t) {
  if (!t->closing) cg_loop_post(t->loop, &t->flush_task);
}

static void drive_handshake(cg_transport *t) {
  uint32_t want = EPOLLIN;
  char err[200] = "";
  int rc = t->io->handshake(t->io, &want, err, sizeof(err));
  if (rc < 0) {
    char msg[400];
    snprintf(msg, sizeof(msg), "TLS handshake with %s failed: %s", t->peer, err);
    cg_transport_close(t, CGRPC_STATUS_UNAVAILABLE, msg);
    return;
  }
  if (rc == 0) {
    update_events(t, want);
    return;
  }
  t->ready = 1;
  cg_timer_cancel(t->loop, &t->hs_timer);
  t->io->auth(t->io, &t->auth);
  update_events(t, EPOLLIN);
  if (t->hooks->ready) t->hooks->ready(t);
}

static void on_handshake_timeout(cg_timer *tm) {
  cg_transport *t = (cg_transport *)((char *)tm - offsetof(cg_transport, hs_timer));
  char msg[200];
  snprintf(msg, sizeof(msg), "TLS handshake with %s timed out", t->peer);
  cg_transport_close(t, CGRPC_STATUS_UNAVAILABLE, msg);
}

/* Reads and feeds the session until the socket has nothing more.  A TLS
 * read returns one record at a time and may leave data buffered inside
 * OpenSSL, so only EAGAIN (not a short read) means "drained"; after a
 * bounded number of reads the rest waits for a read task (fairness). */
static void read_some(cg_transport *t) {
  uint8_t buf[65536];
  for (int i = 0; i < 64 && !t->closing; i++) {
    ssize_t n = t->io->read(t->io, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == EINTR) continue;
      fail(t, "connection lost reading from");
      return;
    }
    if (n == 0) {
      fail(t, "connection closed by");
      return;
    }
    ssize_t r = nghttp2_session_mem_recv(t->session, buf, (size_t)n);
    if (r < 0) {
      char msg[160];
      snprintf(msg, sizeof(msg), "HTTP/2 error from %s: %s", t->peer,
               nghttp2_strerror((int)r));
      /* Tell the peer why before closing. */
      nghttp2_session_terminate_session(t->session, NGHTTP2_PROTOCOL_ERROR);
      flush_now(t);
      if (!t->closing) cg_transport_close(t, CGRPC_STATUS_UNAVAILABLE, msg);
      return;
    }
    if (!t->tls && (size_t)n < sizeof(buf)) return; /* socket drained */
  }
  if (!t->closing) cg_loop_post(t->loop, &t->read_task);
}

static void read_task(cg_task *task) {
  cg_transport *t = (cg_transport *)((char *)task -
                                     offsetof(cg_transport, read_task));
  if (t->closing) return;
  read_some(t);
  flush_now(t);
}

static void on_io(cg_watch *w, uint32_t ev) {
  cg_transport *t = (cg_transport *)((char *)w - offsetof(cg_transport, watch));
  if (t->closing) return;
  if (!t->ready) {
    drive_handshake(t);
    if (!t->ready || t->closing) return;
    /* Application data may already sit in OpenSSL's buffer. */
    ev |= EPOLLIN;
  }
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_some(t);
  flush_now(t);
}

/* ---- lifecycle ---- */

static void close_task(cg_task *task) {
  cg_transport *t = (cg_transport *)((char *)task -
                                     offsetof(cg_transport, close_task));
  if (t->session) {
    nghttp2_session_del(t->session);
    t->session = NULL;
  }
  if (t->hooks->closed) t->hooks->closed(t);
  if (t->io) t->io->destroy(t->io);
  cg_md_clear(&t->auth);
  cg_bytes_free(&t->out);
  free(t);
}

void cg_transport_close(cg_transport *t, int code, const char *msg) {
  if (t->closing) return;
  t->closing = 1;
  t->close_code = code;
  snprintf(t->close_msg, sizeof(t->close_msg), "%s", msg);
  CG_TRACE("transport %s closing: %s", t->peer, msg);
  cg_loop_unwatch(t->loop, &t->watch);
  cg_timer_cancel(t->loop, &t->hs_timer);
  while (t->calls) {
    cgrpc_call *c = t->calls;
    cg_call_stream_closed(c, NGHTTP2_INTERNAL_ERROR, code, t->close_msg);
    if (t->calls == c) cg_transport_detach(t, c); /* not detached by role */
  }
  /* The session may be inside a callback now: delete it from a task. */
  cg_loop_post(t->loop, &t->close_task);
}

void cg_transport_goaway(cg_transport *t) {
  if (t->closing || t->draining) return;
  t->draining = 1;
  nghttp2_submit_goaway(t->session, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(t->session),
                        NGHTTP2_NO_ERROR, NULL, 0);
  if (t->ncalls == 0) t->close_after_flush = 1;
  flush_now(t);
}

int cg_transport_create(cg_transport **out, cg_loop *loop, cg_io *io,
                        int is_server, const cg_transport_settings *st,
                        const cg_transport_hooks *hooks, void *owner,
                        const char *peer) {
  cg_transport *t = calloc(1, sizeof(*t));
  nghttp2_session_callbacks *cb = make_callbacks();
  nghttp2_option *opt = NULL;
  if (!t || !cb || nghttp2_option_new(&opt) != 0) goto nomem;
  t->loop = loop;
  t->io = io;
  t->is_server = is_server;
  t->hooks = hooks;
  t->owner = owner;
  snprintf(t->peer, sizeof(t->peer), "%s", peer);
  t->flush_task.fn = flush_task;
  t->close_task.fn = close_task;
  t->read_task.fn = read_task;
  /* Windows reopen only as the application reads (backpressure). */
  nghttp2_option_set_no_auto_window_update(opt, 1);
  int rc = is_server ? nghttp2_session_server_new2(&t->session, cb, t, opt)
                     : nghttp2_session_client_new2(&t->session, cb, t, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  cb = NULL;
  if (rc != 0) goto nomem;
  nghttp2_settings_entry iv[4];
  size_t n = 0;
  iv[n].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
  iv[n++].value = st->stream_window;
  iv[n].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
  iv[n++].value = 64 * 1024;
  if (!is_server) {
    iv[n].settings_id = NGHTTP2_SETTINGS_ENABLE_PUSH;
    iv[n++].value = 0;
  }
  if (st->max_concurrent_streams) {
    iv[n].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
    iv[n++].value = st->max_concurrent_streams;
  }
  if (nghttp2_submit_settings(t->session, NGHTTP2_FLAG_NONE, iv, n) != 0 ||
      nghttp2_session_set_local_window_size(t->session, NGHTTP2_FLAG_NONE, 0,
                                            (int32_t)st->conn_window) != 0)
    goto nomem;
  t->watch.fd = io->fd;
  t->watch.fn = on_io;
  t->events = EPOLLIN;
  t->tls = io->handshake != NULL;
  t->ready = !t->tls;
  cg_timer_init(&t->hs_timer, on_handshake_timeout);
  if (!t->tls &&
      cg_md_append(&t->auth, "transport_security_type", 23, "insecure", 8)) {
    nghttp2_session_del(t->session);
    free(t);
    return CGRPC_E_NOMEM;
  }
  if (cg_loop_watch(loop, &t->watch, EPOLLIN) != 0) {
    nghttp2_session_del(t->session);
    cg_md_clear(&t->auth);
    free(t);
    return CGRPC_E_SYSTEM;
  }
  *out = t;
  if (t->tls) {
    if (st->handshake_timeout_ms > 0)
      cg_timer_set(loop, &t->hs_timer,
                   cg_now_ns() + st->handshake_timeout_ms * CG_MS);
    drive_handshake(t); /* the client speaks first */
  } else {
    cg_transport_schedule_flush(t);
  }
  return CGRPC_OK;
nomem:
  if (cb) nghttp2_session_callbacks_del(cb);
  if (t && t->session) nghttp2_session_del(t->session);
  free(t);
  return CGRPC_E_NOMEM;
}
