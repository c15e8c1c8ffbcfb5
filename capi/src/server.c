/* Server: options, listeners and accepting, routing requests to
 * handlers on the pool, the server half of calls (response headers,
 * messages, trailers), graceful shutdown. */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "address.h"
#include "call.h"
#include "nvlist.h"
#include "tls.h"
#include "transport.h"

struct cgrpc_server_options {
  int max_threads;
  int64_t max_recv, max_send;
  int max_streams;
};

int cgrpc_server_options_create(cgrpc_server_options **out) {
  if (!out) return CGRPC_E_INVALID_ARG;
  cgrpc_server_options *o = calloc(1, sizeof(*o));
  if (!(*out = o)) return CGRPC_E_NOMEM;
  o->max_threads = 64;
  o->max_recv = 4 * 1024 * 1024;
  o->max_send = -1;
  o->max_streams = 1000;
  return CGRPC_OK;
}
void cgrpc_server_options_destroy(cgrpc_server_options *o) { free(o); }

int cgrpc_server_options_set_max_threads(cgrpc_server_options *o, int n) {
  if (!o || n < 1) return CGRPC_E_INVALID_ARG;
  o->max_threads = n;
  return CGRPC_OK;
}
int cgrpc_server_options_set_max_recv_message_size(cgrpc_server_options *o,
                                                   int64_t bytes) {
  if (!o || bytes < -1) return CGRPC_E_INVALID_ARG;
  o->max_recv = bytes;
  return CGRPC_OK;
}
int cgrpc_server_options_set_max_send_message_size(cgrpc_server_options *o,
                                                   int64_t bytes) {
  if (!o || bytes < -1) return CGRPC_E_INVALID_ARG;
  o->max_send = bytes;
  return CGRPC_OK;
}
int cgrpc_server_options_set_max_concurrent_streams(cgrpc_server_options *o,
                                                    int n) {
  if (!o || n < 1) return CGRPC_E_INVALID_ARG;
  o->max_streams = n;
  return CGRPC_OK;
}

struct cg_method {
  char *path; /* NULL for the fallback */
  cgrpc_handler_fn fn;
  void *ud;
  cgrpc_destroy_fn destroy;
};

typedef struct cg_listener {
  int fd;
  cg_watch watch;
  struct cg_server_core *core;
  char *unix_path;
  cgrpc_credentials *creds; /* NULL: h2c */
} cg_listener;

enum { SRV_NEW, SRV_STARTED, SRV_STOPPING, SRV_STOPPED };

struct cg_server_core {
  atomic_int refs; /* the server handle and each of its calls */
  cg_loop *loop;
  cg_pool *pool;
  int64_t max_recv, max_send;
  cg_transport_settings settings;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int state;       /* (mu) */
  atomic_int active;   /* handlers queued or running */
  atomic_int draining; /* shutdown waits on active: wake it */
  int ntransports; /* (mu) */
  cg_method *methods;
  size_t nmethods;
  cg_method fallback;
  cg_listener *listeners;
  size_t nlisteners;
  cg_transport *transports; /* (loop) */
  cg_task goaway_task, cancel_task, close_task;
};

struct cgrpc_server {
  cg_server_core *core;
};

static __thread cg_server_core *tl_handler_server;

static void core_unref(cg_server_core *s) {
  if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (s->loop) {
    cg_loop_join(s->loop);
    cg_loop_free(s->loop);
  }
  if (s->pool) cg_pool_free(s->pool);
  for (size_t i = 0; i < s->nmethods; i++) free(s->methods[i].path);
  free(s->methods);
  for (size_t i = 0; i < s->nlisteners; i++)
    cg_creds_unref(s->listeners[i].creds);
  free(s->listeners);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s);
}

void cg_server_call_released(cgrpc_call *c) {
  if (c->srv) core_unref(c->srv);
}

/* ---- server half of a call (loop thread) ---- */

static void respond_now(cgrpc_call *c, int http, int code, const char *msg,
                        int accept_identity) {
  cg_transport *t = c->t;
  char status[16];
  snprintf(status, sizeof(status), "%d", http);
  cg_nvlist l = {0};
  cg_nv_add(&l, ":status", status, strlen(status));
  cg_nv_add(&l, "content-type", "application/grpc", 16);
  if (accept_identity) cg_nv_add(&l, "grpc-accept-encoding", "identity", 8);
  cg_nv_add_status(&l, code, msg);
  c->discard = 1;
  pthread_mutex_lock(&c->mu);
  c->finished = 1;
  c->send_closed = 1;
  c->local_end_sent = 1;
  c->headers_sent = 1;
  pthread_mutex_unlock(&c->mu);
  if (l.err ||
      nghttp2_submit_response(t->session, c->stream_id, l.nv, l.n, NULL) != 0)
    nghttp2_submit_rst_stream(t->session, NGHTTP2_FLAG_NONE, c->stream_id,
                              NGHTTP2_INTERNAL_ERROR);
  cg_nv_free(&l);
  cg_transport_schedule_flush(t);
}

void cg_server_reject(cgrpc_call *c, int code, const char *msg) {
  c->response_headers_seen = 1;
  respond_now(c, 200, code, msg, 0);
}

static const cg_method *find_method(cg_server_core *s, const char *path) {
  for (size_t i = 0; i < s->nmethods; i++)
    if (strcmp(s->methods[i].path, path) == 0) return &s->methods[i];
  return s->fallback.fn ? &s->fallback : NULL;
}

static int service_known(cg_server_core *s, const char *path) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 0;
  for (size_t i = 0; i < s->nmethods; i++)
    if (strncmp(s->methods[i].path, path, n) == 0 &&
        s->methods[i].path[n] == '/')
      return 1;
  return 0;
}

static void run_handler(cg_job *job);

/* One handler fewer.  Only a shutdown waits for the count, so the lock
 * and the wake-up are paid only while draining (the hot path stays
 * lock-free). */
static void handler_done(cg_server_core *s) {
  if (atomic_fetch_sub(&s->active, 1) == 1 && atomic_load(&s->draining)) {
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
}

void cg_server_on_headers_done(cgrpc_call *c, int end_stream) {
  cg_server_core *s = c->srv;
  if (c->response_headers_seen) { /* request trailers: not gRPC; end it */
    if (end_stream) cg_call_on_end_stream(c);
    return;
  }
  c->response_headers_seen = 1;
  pthread_mutex_lock(&c->mu);
  memcpy(c->peer, c->t->peer, sizeof(c->peer));
  cg_md_append_all(&c->auth, &c->t->auth);
  if (end_stream) c->recv_eos = 1;
  pthread_mutex_unlock(&c->mu);
  const char *path = c->req_path ? c->req_path : "";
  if (c->bad_request == -1) {
    respond_now(c, 200, CGRPC_STATUS_UNIMPLEMENTED,
                "message compression is not supported", 1);
    return;
  }
  if (c->bad_request || !c->content_type_ok || path[0] != '/') {
    int http = c->bad_request > 0 ? c->bad_request
               : !c->content_type_ok ? 415
                                     : 400;
    char msg[96];
    snprintf(msg, sizeof(msg), "invalid gRPC request (HTTP %d)", http);
    respond_now(c, http, CGRPC_STATUS_INTERNAL, msg, 0);
    return;
  }
  const cg_method *m = find_method(s, path);
  if (!m) {
    char msg[300];
    const char *slash = strrchr(path, '/');
    if (!service_known(s, path) || !slash)
      snprintf(msg, sizeof(msg), "unknown service %.*s",
               slash ? (int)(slash - path - 1) : 0, path + 1);
    else
      snprintf(msg, sizeof(msg), "unknown method %s for service %.*s",
               slash + 1, (int)(slash - path - 1), path + 1);
    respond_now(c, 200, CGRPC_STATUS_UNIMPLEMENTED, msg, 0);
    return;
  }
  c->method = cg_strdup(path);
  c->handler = m;
  if (c->timeout_ns >= 0) {
    int64_t now = cg_now_ns();
    c->deadline = c->timeout_ns > CG_NEVER - now ? CG_NEVER : now + c->timeout_ns;
    if (c->deadline != CG_NEVER)
      cg_timer_set(c->loop, &c->deadline_timer, c->deadline);
  }
  cgrpc_metadata *md = malloc(sizeof(*md));
  if (!md || !c->method) {
    free(md);
    respond_now(c, 200, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory", 0);
    return;
  }
  *md = c->hdrs;
  memset(&c->hdrs, 0, sizeof(c->hdrs));
  pthread_mutex_lock(&c->mu);
  c->initial_md = md;
  c->initial_md_ready = 1;
  c->in_handler = 1;
  pthread_mutex_unlock(&c->mu);
  atomic_fetch_add(&s->active, 1);
  cg_call_ref(c);
  c->job.fn = run_handler;
  if (cg_pool_submit(s->pool, &c->job) != 0) {
    handler_done(s);
    cg_call_unref(c);
    respond_now(c, 200, CGRPC_STATUS_UNAVAILABLE, "server shutting down", 0);
  }
}

ssize_t cg_server_read_eof(cgrpc_call *c, uint32_t *flags) {
  cg_nvlist l = {0};
  cg_nv_add_status(&l, c->fin_code, c->fin_msg);
  cg_nv_add_md(&l, &c->fin_trailers);
  int rc = l.err ? -1
                 : nghttp2_submit_trailer(c->t->session, c->stream_id, l.nv,
                                          l.n);
  cg_nv_free(&l);
  if (rc != 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
  return 0;
}

void cg_server_call_ops(cgrpc_call *c, unsigned ops) {
  cg_transport *t = c->t;
  if (!t || t->closing || (ops & CG_OP_CANCEL)) return;
  if (!c->headers_sent && (ops & (CG_OP_HEADERS | CG_OP_DATA | CG_OP_FINISH))) {
    cg_nvlist l = {0};
    cg_nv_add(&l, ":status", "200", 3);
    cg_nv_add(&l, "content-type", "application/grpc", 16);
    pthread_mutex_lock(&c->mu);
    int trailers_only = c->finished && !c->initial_md_sent;
    if (trailers_only) {
      cg_nv_add_status(&l, c->fin_code, c->fin_msg);
      cg_nv_add_md(&l, &c->fin_trailers);
      c->local_end_sent = 1;
    } else {
      cg_nv_add_md(&l, &c->send_md);
    }
    nghttp2_data_provider dp = cg_data_provider(c);
    int rc = l.err ? -1
                   : nghttp2_submit_response(t->session, c->stream_id, l.nv,
                                             l.n, trailers_only ? NULL : &dp);
    pthread_mutex_unlock(&c->mu);
    cg_nv_free(&l);
    c->headers_sent = 1;
    if (rc != 0)
      nghttp2_submit_rst_stream(t->session, NGHTTP2_FLAG_NONE, c->stream_id,
                                NGHTTP2_INTERNAL_ERROR);
    cg_transport_schedule_flush(t);
    return;
  }
  if ((ops & (CG_OP_DATA | CG_OP_FINISH)) && c->data_deferred) {
    c->data_deferred = 0;
    nghttp2_session_resume_data(t->session, c->stream_id);
    cg_transport_schedule_flush(t);
  }
}

/* ---- server half of a call (handler thread) ---- */

int cgrpc_call_send_initial_metadata(cgrpc_call *c, const cgrpc_metadata *md) {
  if (!c) return CGRPC_E_INVALID_ARG;
  if (!c->is_server) return CGRPC_E_ROLE;
  int rc = CGRPC_OK;
  pthread_mutex_lock(&c->mu);
  if (c->sending)
    rc = CGRPC_E_BUSY;
  else if (c->cancelled)
    rc = CGRPC_E_CANCELLED;
  else if (c->initial_md_sent || c->finished)
    rc = CGRPC_E_STATE;
  else if ((rc = cg_md_append_all(&c->send_md, md)) == CGRPC_OK) {
    c->initial_md_sent = 1;
    cg_call_post_locked(c, CG_OP_HEADERS);
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

int cgrpc_call_set_trailing_metadata(cgrpc_call *c, const cgrpc_metadata *md) {
  if (!c || !md) return CGRPC_E_INVALID_ARG;
  if (!c->is_server) return CGRPC_E_ROLE;
  int rc;
  pthread_mutex_lock(&c->mu);
  if (c->finished)
    rc = CGRPC_E_STATE;
  else if (c->cancelled)
    rc = CGRPC_E_CANCELLED;
  else
    rc = cg_md_append_all(&c->fin_trailers, md);
  pthread_mutex_unlock(&c->mu);
  return rc;
}

int cgrpc_call_finish(cgrpc_call *c, int code, const char *message,
                      const cgrpc_metadata *trailers) {
  if (!c || code < 0 || code > 16) return CGRPC_E_INVALID_ARG;
  if (!c->is_server) return CGRPC_E_ROLE;
  int rc = CGRPC_OK;
  pthread_mutex_lock(&c->mu);
  if (c->sending)
    rc = CGRPC_E_BUSY;
  else if (c->finished)
    rc = CGRPC_E_STATE;
  else if (c->cancelled)
    rc = CGRPC_E_CANCELLED;
  else if ((rc = cg_md_append_all(&c->fin_trailers, trailers)) == CGRPC_OK) {
    if (c->deadline != CG_NEVER && cg_now_ns() >= c->deadline) {
      /* The deadline passed before the handler answered; its timer may
       * not have run yet, but the outcome is DEADLINE_EXCEEDED. */
      code = CGRPC_STATUS_DEADLINE_EXCEEDED;
      message = "Deadline Exceeded";
    }
    c->fin_code = code;
    c->fin_msg = cg_strdup(message ? message : "");
    c->finished = 1;
    c->send_closed = 1;
    cg_call_post_locked(c, CG_OP_FINISH);
    cg_call_wake_locked(c);
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

static void run_handler(cg_job *job) {
  cgrpc_call *c = (cgrpc_call *)((char *)job - offsetof(cgrpc_call, job));
  cg_server_core *s = c->srv;
  tl_handler_server = s;
  c->handler->fn(c, c->handler->ud);
  tl_handler_server = NULL;
  cgrpc_call_finish(c, CGRPC_STATUS_UNKNOWN,
                    "handler returned without a status", NULL);
  pthread_mutex_lock(&c->mu);
  c->in_handler = 0;
  pthread_mutex_unlock(&c->mu);
  handler_done(s);
  cg_call_unref(c);
}

/* ---- transports ---- */

static cgrpc_call *on_new_stream(cg_transport *t, int32_t id) {
  cg_server_core *s = t->owner;
  CG_UNUSED(id);
  cgrpc_call *c = cg_call_new(1, s->loop);
  if (!c) return NULL;
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
  c->srv = s;
  c->max_recv = s->max_recv;
  c->max_send = s->max_send;
  return c;
}

static void on_transport_closed(cg_transport *t) {
  cg_server_core *s = t->owner;
  for (cg_transport **p = &s->transports; *p; p = &(*p)->next) {
    if (*p == t) {
      *p = t->next;
      break;
    }
  }
  pthread_mutex_lock(&s->mu);
  s->ntransports--;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static const cg_transport_hooks server_hooks = {on_new_stream, NULL,
                                                on_transport_closed, NULL};

static void on_accept(cg_watch *w, uint32_t ev) {
  cg_listener *ln = (cg_listener *)((char *)w - offsetof(cg_listener, watch));
  cg_server_core *s = ln->core;
  CG_UNUSED(ev);
  for (int i = 0; i < 64; i++) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept4(ln->fd, (struct sockaddr *)&ss, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        CG_TRACE("accept failed: %s", strerror(errno));
      return;
    }
    if (ss.ss_family != AF_UNIX) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    char peer[96];
    cg_addr_name((struct sockaddr *)&ss, len, peer, sizeof(peer));
    int tls = ln->creds && ln->creds->tls;
    cg_io *io = tls ? cg_io_tls_new(fd, ln->creds, NULL) : cg_io_plain_new(fd);
    cg_transport_settings st = s->settings;
    if (tls) st.handshake_timeout_ms = ln->creds->handshake_timeout_ms;
    cg_transport *t = NULL;
    if (!io || cg_transport_create(&t, s->loop, io, 1, &st, &server_hooks, s,
                                   peer) != CGRPC_OK) {
      if (io)
        io->destroy(io);
      else
        close(fd);
      continue;
    }
    t->next = s->transports;
    s->transports = t;
    pthread_mutex_lock(&s->mu);
    s->ntransports++;
    pthread_mutex_unlock(&s->mu);
  }
}

static void close_listeners(cg_server_core *s) {
  for (size_t i = 0; i < s->nlisteners; i++) {
    cg_listener *ln = &s->listeners[i];
    if (ln->fd < 0) continue;
    cg_loop_unwatch(s->loop, &ln->watch);
    close(ln->fd);
    ln->fd = -1;
    if (ln->unix_path) unlink(ln->unix_path);
    free(ln->unix_path);
    ln->unix_path = NULL;
  }
}

static void goaway_task(cg_task *task) {
  cg_server_core *s = (cg_server_core *)((char *)task -
                                         offsetof(cg_server_core, goaway_task));
  close_listeners(s);
  for (cg_transport *t = s->transports, *next; t; t = next) {
    next = t->next;
    cg_transport_goaway(t);
  }
}

/* Grace is over: reset every running RPC with CANCEL (clients see
 * CANCELLED) and wake its handler; drained connections then close. */
static void cancel_task(cg_task *task) {
  cg_server_core *s = (cg_server_core *)((char *)task -
                                         offsetof(cg_server_core, cancel_task));
  for (cg_transport *t = s->transports; t; t = t->next) {
    if (t->closing) continue;
    for (cgrpc_call *c = t->calls; c; c = c->tnext) {
      pthread_mutex_lock(&c->mu);
      cg_call_abort_locked(c);
      pthread_mutex_unlock(&c->mu);
      nghttp2_submit_rst_stream(t->session, NGHTTP2_FLAG_NONE, c->stream_id,
                                NGHTTP2_CANCEL);
    }
    cg_transport_schedule_flush(t);
  }
}

static void close_all(cg_server_core *s) {
  for (cg_transport *t = s->transports, *next; t; t = next) {
    next = t->next;
    cg_transport_close(t, CGRPC_STATUS_CANCELLED, "server shutting down");
  }
}

static void close_task(cg_task *task) {
  cg_server_core *s = (cg_server_core *)((char *)task -
                                         offsetof(cg_server_core, close_task));
  close_listeners(s);
  close_all(s);
  cg_loop_quit(s->loop);
}

/* ---- public ---- */

int cgrpc_server_create(cgrpc_server **out, const cgrpc_server_options *opts) {
  if (!out) return CGRPC_E_INVALID_ARG;
  *out = NULL;
  cgrpc_server_options defaults;
  if (!opts) {
    cgrpc_server_options *d;
    if (cgrpc_server_options_create(&d)) return CGRPC_E_NOMEM;
    defaults = *d;
    free(d);
    opts = &defaults;
  }
  cgrpc_server *srv = calloc(1, sizeof(*srv));
  cg_server_core *s = calloc(1, sizeof(*s));
  if (!srv || !s) {
    free(srv);
    free(s);
    return CGRPC_E_NOMEM;
  }
  atomic_init(&s->refs, 1);
  pthread_mutex_init(&s->mu, NULL);
  cg_cond_init(&s->cv);
  s->max_recv = opts->max_recv;
  s->max_send = opts->max_send;
  s->settings.max_concurrent_streams = (uint32_t)opts->max_streams;
  s->settings.stream_window = 1024 * 1024;
  s->settings.conn_window = 16 * 1024 * 1024;
  s->goaway_task.fn = goaway_task;
  s->cancel_task.fn = cancel_task;
  s->close_task.fn = close_task;
  int rc = cg_pool_create(&s->pool, opts->max_threads);
  if (!rc) rc = cg_loop_create(&s->loop, "cgrpc-server");
  if (rc) {
    core_unref(s);
    free(srv);
    return rc;
  }
  srv->core = s;
  *out = srv;
  return CGRPC_OK;
}

int cgrpc_server_add_listener(cgrpc_server *srv, const char *address,
                              int *port) {
  return cgrpc_server_add_secure_listener(srv, address, NULL, port);
}

int cgrpc_server_add_secure_listener(cgrpc_server *srv, const char *address,
                                     const cgrpc_credentials *creds,
                                     int *port) {
  if (port) *port = 0;
  if (!srv || !address || (creds && creds->tls && !creds->is_server))
    return CGRPC_E_INVALID_ARG;
  cg_server_core *s = srv->core;
  pthread_mutex_lock(&s->mu);
  int state = s->state;
  pthread_mutex_unlock(&s->mu);
  if (state != SRV_NEW) return CGRPC_E_STATE;
  cg_target t;
  int rc = cg_target_parse(&t, address);
  if (rc) return rc;
  cg_addr a;
  char err[200];
  if (cg_target_resolve(&t, &a, 1, err, sizeof(err)) != 1) {
    cg_set_last_error("listen %s: %s", address, err);
    cg_target_free(&t);
    return CGRPC_E_ADDRESS;
  }
  int fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    cg_target_free(&t);
    return CGRPC_E_SYSTEM;
  }
  int one = 1;
  if (a.ss.ss_family != AF_UNIX)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (t.unix_path) {
    struct stat st;
    if (stat(t.unix_path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(t.unix_path);
  }
  if (bind(fd, (struct sockaddr *)&a.ss, a.len) != 0 || listen(fd, 1024) != 0) {
    cg_set_last_error("listen %s: %s", address, strerror(errno));
    close(fd);
    cg_target_free(&t);
    return CGRPC_E_ADDRESS;
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof(bound);
  int p = 0;
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
    if (bound.ss_family == AF_INET)
      p = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    else if (bound.ss_family == AF_INET6)
      p = ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
  }
  cg_listener *ls =
      realloc(s->listeners, (s->nlisteners + 1) * sizeof(*s->listeners));
  if (!ls) {
    close(fd);
    cg_target_free(&t);
    return CGRPC_E_NOMEM;
  }
  s->listeners = ls;
  cg_listener *ln = &s->listeners[s->nlisteners++];
  memset(ln, 0, sizeof(*ln));
  ln->fd = fd;
  ln->core = s;
  ln->unix_path = t.unix_path;
  t.unix_path = NULL;
  if (creds && creds->tls) {
    ln->creds = (cgrpc_credentials *)creds;
    cg_creds_ref(ln->creds);
  }
  cg_target_free(&t);
  if (port) *port = p;
  return CGRPC_OK;
}

static int add_method(cgrpc_server *srv, const char *path,
                      cgrpc_handler_fn fn, void *ud, cgrpc_destroy_fn destroy) {
  if (!srv || !fn) return CGRPC_E_INVALID_ARG;
  cg_server_core *s = srv->core;
  pthread_mutex_lock(&s->mu);
  int state = s->state;
  pthread_mutex_unlock(&s->mu);
  if (state != SRV_NEW) return CGRPC_E_STATE;
  if (!path) {
    if (s->fallback.fn) return CGRPC_E_STATE;
    s->fallback = (cg_method){NULL, fn, ud, destroy};
    return CGRPC_OK;
  }
  const char *slash = path[0] == '/' ? strchr(path + 1, '/') : NULL;
  if (!slash || slash == path + 1 || !slash[1] || strchr(slash + 1, '/'))
    return CGRPC_E_INVALID_ARG;
  for (size_t i = 0; i < s->nmethods; i++)
    if (strcmp(s->methods[i].path, path) == 0) return CGRPC_E_STATE;
  cg_method *m = realloc(s->methods, (s->nmethods + 1) * sizeof(*m));
  if (!m) return CGRPC_E_NOMEM;
  s->methods = m;
  char *p = cg_strdup(path);
  if (!p) return CGRPC_E_NOMEM;
  s->methods[s->nmethods++] = (cg_method){p, fn, ud, destroy};
  return CGRPC_OK;
}

int cgrpc_server_register_method(cgrpc_server *srv, const char *method,
                                 cgrpc_handler_fn handler, void *user_data,
                                 cgrpc_destroy_fn destroy) {
  if (!method) return CGRPC_E_INVALID_ARG;
  return add_method(srv, method, handler, user_data, destroy);
}

int cgrpc_server_set_fallback_handler(cgrpc_server *srv,
                                      cgrpc_handler_fn handler,
                                      void *user_data,
                                      cgrpc_destroy_fn destroy) {
  return add_method(srv, NULL, handler, user_data, destroy);
}

int cgrpc_server_start(cgrpc_server *srv) {
  if (!srv) return CGRPC_E_INVALID_ARG;
  cg_server_core *s = srv->core;
  pthread_mutex_lock(&s->mu);
  if (s->state != SRV_NEW || s->nlisteners == 0) {
    pthread_mutex_unlock(&s->mu);
    return CGRPC_E_STATE;
  }
  for (size_t i = 0; i < s->nlisteners; i++) {
    cg_listener *ln = &s->listeners[i];
    ln->watch.fd = ln->fd;
    ln->watch.fn = on_accept;
    /* epoll_ctl is thread-safe; the loop sees the watch from now on. */
    if (cg_loop_watch(s->loop, &ln->watch, EPOLLIN) != 0) {
      pthread_mutex_unlock(&s->mu);
      return CGRPC_E_SYSTEM;
    }
  }
  s->state = SRV_STARTED;
  pthread_mutex_unlock(&s->mu);
  return CGRPC_OK;
}

int cgrpc_server_shutdown(cgrpc_server *srv, int64_t grace_ms) {
  if (!srv) return CGRPC_E_INVALID_ARG;
  cg_server_core *s = srv->core;
  if (tl_handler_server == s) return CGRPC_E_STATE;
  pthread_mutex_lock(&s->mu);
  if (s->state == SRV_STOPPING) { /* another thread is at it: wait */
    while (s->state != SRV_STOPPED) pthread_cond_wait(&s->cv, &s->mu);
  }
  if (s->state == SRV_STOPPED) {
    pthread_mutex_unlock(&s->mu);
    return CGRPC_OK;
  }
  int was_started = s->state == SRV_STARTED;
  s->state = SRV_STOPPING;
  pthread_mutex_unlock(&s->mu);

  if (was_started) {
    int64_t until = grace_ms < 0 ? CG_NEVER : cg_now_ns() + grace_ms * CG_MS;
    atomic_store(&s->draining, 1);
    cg_loop_post(s->loop, &s->goaway_task);
    pthread_mutex_lock(&s->mu);
    while (atomic_load(&s->active) > 0 || s->ntransports > 0)
      if (cg_cond_wait_until(&s->cv, &s->mu, until) == ETIMEDOUT) break;
    int left = atomic_load(&s->active) > 0 || s->ntransports > 0;
    pthread_mutex_unlock(&s->mu);
    if (left) cg_loop_post(s->loop, &s->cancel_task);
    /* Cancelled handlers see CGRPC_E_CANCELLED and return; the resets
     * get a moment to reach the clients before connections close. */
    pthread_mutex_lock(&s->mu);
    while (atomic_load(&s->active) > 0) pthread_cond_wait(&s->cv, &s->mu);
    int64_t settle = cg_now_ns() + 200 * CG_MS;
    while (s->ntransports > 0)
      if (cg_cond_wait_until(&s->cv, &s->mu, settle) == ETIMEDOUT) break;
    pthread_mutex_unlock(&s->mu);
  }
  cg_loop_post(s->loop, &s->close_task);
  cg_loop_join(s->loop);
  cg_pool_shutdown(s->pool);
  pthread_mutex_lock(&s->mu);
  s->state = SRV_STOPPED;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return CGRPC_OK;
}

void cgrpc_server_destroy(cgrpc_server *srv) {
  if (!srv) return;
  cg_server_core *s = srv->core;
  if (tl_handler_server == s) return; /* misuse: cannot free from inside */
  cgrpc_server_shutdown(srv, 0);
  for (size_t i = 0; i < s->nmethods; i++)
    if (s->methods[i].destroy) s->methods[i].destroy(s->methods[i].ud);
  if (s->fallback.destroy) s->fallback.destroy(s->fallback.ud);
  free(srv);
  core_unref(s);
}
