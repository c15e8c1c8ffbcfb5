/* Channel: options, lifecycle, connectivity state, connecting with
 * backoff (grpc doc/connection-backoff.md), routing calls to the
 * connection, stubs. */
#include "channel.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- options ---- */

int cgrpc_channel_options_create(cgrpc_channel_options **out) {
  if (!out) return CGRPC_E_INVALID_ARG;
  cgrpc_channel_options *o = calloc(1, sizeof(*o));
  if (!(*out = o)) return CGRPC_E_NOMEM;
  o->connect_timeout_ms = 20000;
  o->max_send = -1;
  o->max_recv = 4 * 1024 * 1024;
  o->backoff_initial_ms = 1000;
  o->backoff_multiplier = 1.6;
  o->backoff_jitter = 0.2;
  o->backoff_max_ms = 120000;
  return CGRPC_OK;
}

void cgrpc_channel_options_destroy(cgrpc_channel_options *o) {
  if (!o) return;
  free(o->ua_prefix);
  free(o->authority);
  cg_md_clear(&o->md);
  cg_creds_unref(o->creds);
  free(o);
}

int cgrpc_channel_options_set_connect_timeout(cgrpc_channel_options *o,
                                              int64_t ms) {
  if (!o || ms <= 0) return CGRPC_E_INVALID_ARG;
  o->connect_timeout_ms = ms;
  return CGRPC_OK;
}

int cgrpc_channel_options_set_max_send_message_size(cgrpc_channel_options *o,
                                                    int64_t bytes) {
  if (!o || bytes < -1) return CGRPC_E_INVALID_ARG;
  o->max_send = bytes;
  return CGRPC_OK;
}

int cgrpc_channel_options_set_max_recv_message_size(cgrpc_channel_options *o,
                                                    int64_t bytes) {
  if (!o || bytes < -1) return CGRPC_E_INVALID_ARG;
  o->max_recv = bytes;
  return CGRPC_OK;
}

static int set_string(char **slot, const char *v) {
  if (!cg_md_value_valid((const uint8_t *)v, strlen(v))) return CGRPC_E_METADATA;
  char *d = cg_strdup(v);
  if (!d) return CGRPC_E_NOMEM;
  free(*slot);
  *slot = d;
  return CGRPC_OK;
}

int cgrpc_channel_options_set_user_agent(cgrpc_channel_options *o,
                                         const char *prefix) {
  if (!o || !prefix) return CGRPC_E_INVALID_ARG;
  return set_string(&o->ua_prefix, prefix);
}

int cgrpc_channel_options_set_authority(cgrpc_channel_options *o,
                                        const char *authority) {
  if (!o || !authority || !*authority) return CGRPC_E_INVALID_ARG;
  return set_string(&o->authority, authority);
}

int cgrpc_channel_options_add_metadata(cgrpc_channel_options *o,
                                       const char *key, const void *value,
                                       size_t len) {
  if (!o) return CGRPC_E_INVALID_ARG;
  return cgrpc_metadata_add(&o->md, key, value, len);
}

int cgrpc_channel_options_set_credentials(cgrpc_channel_options *o,
                                          const cgrpc_credentials *creds) {
  if (!o || !creds || creds->is_server) return CGRPC_E_INVALID_ARG;
  cgrpc_credentials *c = (cgrpc_credentials *)creds;
  cg_creds_ref(c);
  cg_creds_unref(o->creds);
  o->creds = c;
  return CGRPC_OK;
}

int cgrpc_channel_options_set_backoff(cgrpc_channel_options *o,
                                      int64_t initial_ms, double multiplier,
                                      double jitter, int64_t max_ms) {
  if (!o || initial_ms <= 0 || !(multiplier >= 1.0) || !(jitter >= 0.0) ||
      !(jitter < 1.0) || max_ms < initial_ms)
    return CGRPC_E_INVALID_ARG;
  o->backoff_initial_ms = initial_ms;
  o->backoff_multiplier = multiplier;
  o->backoff_jitter = jitter;
  o->backoff_max_ms = max_ms;
  return CGRPC_OK;
}

/* ---- state ---- */

static void set_state(cgrpc_channel *ch, cgrpc_connectivity_state s) {
  pthread_mutex_lock(&ch->mu);
  if (ch->state != s && ch->state != CGRPC_CHANNEL_SHUTDOWN) {
    CG_TRACE("channel %s: state %d -> %d", ch->target.authority, ch->state, s);
    ch->state = s;
    pthread_cond_broadcast(&ch->cv);
  }
  pthread_mutex_unlock(&ch->mu);
}

static cgrpc_connectivity_state get_state(cgrpc_channel *ch) {
  pthread_mutex_lock(&ch->mu);
  cgrpc_connectivity_state s = ch->state;
  pthread_mutex_unlock(&ch->mu);
  return s;
}

/* ---- calls waiting for a connection ---- */

static void fail_call(cgrpc_call *c, int code, const char *msg) {
  cg_timer_cancel(c->loop, &c->deadline_timer);
  pthread_mutex_lock(&c->mu);
  cg_call_set_status_locked(c, code, msg);
  pthread_mutex_unlock(&c->mu);
}

static void wait_add(cgrpc_channel *ch, cgrpc_call *c) {
  cg_call_ref(c);
  c->waiting = 1;
  c->pnext = NULL;
  c->pprev = ch->wtail;
  if (ch->wtail)
    ch->wtail->pnext = c;
  else
    ch->whead = c;
  ch->wtail = c;
}

static void wait_remove(cgrpc_channel *ch, cgrpc_call *c) {
  if (!c->waiting) return;
  if (c->pprev)
    c->pprev->pnext = c->pnext;
  else
    ch->whead = c->pnext;
  if (c->pnext)
    c->pnext->pprev = c->pprev;
  else
    ch->wtail = c->pprev;
  c->pnext = c->pprev = NULL;
  c->waiting = 0;
}

void cg_client_unwait(cgrpc_call *c) {
  if (!c->waiting) return;
  wait_remove(c->ch, c);
  cg_timer_cancel(c->loop, &c->deadline_timer);
  cg_call_unref(c);
}

/* Hands every waiting call to t, or fails those that may not wait. */
static void flush_waiting(cgrpc_channel *ch, int only_fail, int code,
                          const char *msg) {
  cgrpc_call *c = ch->whead;
  while (c) {
    cgrpc_call *next = c->pnext;
    if (only_fail && c->wait_for_ready && code == CGRPC_STATUS_UNAVAILABLE) {
      c = next;
      continue;
    }
    wait_remove(ch, c);
    if (only_fail)
      fail_call(c, code, msg);
    else
      cg_client_call_submit(c, ch->t);
    cg_call_unref(c);
    c = next;
  }
}

/* ---- connecting ---- */

static void connect_start(cgrpc_channel *ch);
static void try_addr(cgrpc_channel *ch);

static int64_t jittered(cgrpc_channel *ch, int64_t ns) {
  double j = ch->backoff_jitter;
  double r = (double)random() / (double)RAND_MAX; /* spread the herd */
  return (int64_t)((double)ns * (1.0 - j + 2.0 * j * r));
}

static void connect_failed(cgrpc_channel *ch) {
  ch->connecting = 0;
  CG_TRACE("channel %s: connect failed: %s", ch->target.authority,
           ch->last_error);
  set_state(ch, CGRPC_CHANNEL_TRANSIENT_FAILURE);
  char msg[600];
  snprintf(msg, sizeof(msg), "failed to connect to %s: %s",
           ch->target.authority, ch->last_error);
  flush_waiting(ch, 1, CGRPC_STATUS_UNAVAILABLE, msg);
  cg_timer_set(ch->loop, &ch->btimer, ch->next_attempt_ns);
}

static void backoff_done(cg_timer *tm) {
  cgrpc_channel *ch = (cgrpc_channel *)((char *)tm -
                                        offsetof(cgrpc_channel, btimer));
  double next = (double)ch->cur_backoff_ns * ch->backoff_mult;
  ch->cur_backoff_ns = next > (double)ch->backoff_max_ns ? ch->backoff_max_ns
                                                         : (int64_t)next;
  set_state(ch, CGRPC_CHANNEL_IDLE);
  if (ch->whead) connect_start(ch);
}

static const cg_transport_hooks client_hooks;

static void transport_ready(cgrpc_channel *ch, cg_transport *t) {
  if (ch->pending == t) {
    ch->pending = NULL;
    cg_timer_cancel(ch->loop, &ch->ctimer);
  }
  ch->connecting = 0;
  ch->t = t;
  ch->cur_backoff_ns = ch->backoff_initial_ns;
  set_state(ch, CGRPC_CHANNEL_READY);
  flush_waiting(ch, 0, 0, NULL);
}

static void connected(cgrpc_channel *ch, int fd) {
  cg_loop_unwatch(ch->loop, &ch->cwatch);
  cg_timer_cancel(ch->loop, &ch->ctimer);
  ch->cfd = -1;
  ch->connecting = 0;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  char peer[96];
  cg_addr *a = &ch->addrs[ch->ai];
  cg_addr_name((struct sockaddr *)&a->ss, a->len, peer, sizeof(peer));
  int tls = ch->creds && ch->creds->tls;
  cg_io *io = tls ? cg_io_tls_new(fd, ch->creds, ch->target.host)
                  : cg_io_plain_new(fd);
  cg_transport *t = NULL;
  int rc = io ? cg_transport_create(&t, ch->loop, io, 0, &ch->settings,
                                    &client_hooks, ch, peer)
              : CGRPC_E_NOMEM;
  if (rc != CGRPC_OK) {
    if (io)
      io->destroy(io);
    else
      close(fd);
    snprintf(ch->last_error, sizeof(ch->last_error),
             "cannot set up HTTP/2: %s", cgrpc_strerror(rc));
    connect_failed(ch);
    return;
  }
  if (t->ready) {
    transport_ready(ch, t);
  } else {
    /* TLS: READY after the handshake; the connect timer still runs.  A
     * handshake that already failed reports through on_closed. */
    ch->pending = t;
    ch->connecting = 1;
    int64_t now = cg_now_ns();
    cg_timer_set(ch->loop, &ch->ctimer,
                 now + CG_MAX(ch->next_attempt_ns - now, ch->min_connect_ns));
  }
}

static void attempt_failed(cgrpc_channel *ch, const char *why) {
  cg_loop_unwatch(ch->loop, &ch->cwatch);
  cg_timer_cancel(ch->loop, &ch->ctimer);
  if (ch->cfd >= 0) close(ch->cfd);
  ch->cfd = -1;
  char peer[96];
  cg_addr *a = &ch->addrs[ch->ai];
  cg_addr_name((struct sockaddr *)&a->ss, a->len, peer, sizeof(peer));
  snprintf(ch->last_error, sizeof(ch->last_error), "%s: %s", peer, why);
  ch->ai++;
  try_addr(ch);
}

static void on_connect_io(cg_watch *w, uint32_t ev) {
  cgrpc_channel *ch = (cgrpc_channel *)((char *)w -
                                        offsetof(cgrpc_channel, cwatch));
  CG_UNUSED(ev);
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(ch->cfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err == 0)
    connected(ch, ch->cfd);
  else
    attempt_failed(ch, strerror(err));
}

static void on_connect_timeout(cg_timer *tm) {
  cgrpc_channel *ch = (cgrpc_channel *)((char *)tm -
                                        offsetof(cgrpc_channel, ctimer));
  if (ch->pending) { /* the on_closed hook reports the failure */
    char msg[200];
    snprintf(msg, sizeof(msg), "TLS handshake with %s timed out",
             ch->pending->peer);
    cg_transport_close(ch->pending, CGRPC_STATUS_UNAVAILABLE, msg);
    return;
  }
  attempt_failed(ch, "connect timed out");
}

static void try_addr(cgrpc_channel *ch) {
  while (ch->ai < ch->naddrs) {
    cg_addr *a = &ch->addrs[ch->ai];
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0) {
      snprintf(ch->last_error, sizeof(ch->last_error), "socket: %s",
               strerror(errno));
      ch->ai++;
      continue;
    }
    ch->cfd = fd;
    if (connect(fd, (struct sockaddr *)&a->ss, a->len) == 0) {
      connected(ch, fd);
      return;
    }
    if (errno != EINPROGRESS) {
      attempt_failed(ch, strerror(errno));
      return;
    }
    ch->cwatch.fd = fd;
    ch->cwatch.fn = on_connect_io;
    if (cg_loop_watch(ch->loop, &ch->cwatch, EPOLLOUT) != 0) {
      attempt_failed(ch, "epoll failed");
      return;
    }
    int64_t now = cg_now_ns();
    cg_timer_set(ch->loop, &ch->ctimer,
                 now + CG_MAX(ch->next_attempt_ns - now, ch->min_connect_ns));
    return;
  }
  connect_failed(ch);
}

static void resolved(cgrpc_channel *ch, int n, const cg_addr *addrs,
                     const char *err) {
  if (ch->shutdown) return;
  if (n <= 0) {
    snprintf(ch->last_error, sizeof(ch->last_error), "%s", err);
    connect_failed(ch);
    return;
  }
  memcpy(ch->addrs, addrs, (size_t)n * sizeof(*addrs));
  ch->naddrs = n;
  ch->ai = 0;
  try_addr(ch);
}

static void resolved_task(cg_task *task) {
  cgrpc_channel *ch = (cgrpc_channel *)((char *)task -
                                        offsetof(cgrpc_channel, resolved_task));
  cg_addr addrs[CG_MAX_ADDRS];
  char err[200];
  pthread_mutex_lock(&ch->mu);
  int n = ch->res_n;
  memcpy(addrs, ch->res_addrs, sizeof(addrs));
  memcpy(err, ch->res_err, sizeof(err));
  pthread_mutex_unlock(&ch->mu);
  resolved(ch, n, addrs, err);
}

/* Host names resolve on a short-lived thread so the loop never blocks. */
static void *resolver_main(void *arg) {
  cgrpc_channel *ch = arg;
  cg_addr addrs[CG_MAX_ADDRS];
  char err[200] = "";
  int n = cg_target_resolve(&ch->target, addrs, CG_MAX_ADDRS, err, sizeof(err));
  pthread_mutex_lock(&ch->mu);
  ch->res_n = n;
  memcpy(ch->res_addrs, addrs, sizeof(addrs));
  memcpy(ch->res_err, err, sizeof(err));
  pthread_mutex_unlock(&ch->mu);
  cg_loop_post(ch->loop, &ch->resolved_task);
  cg_channel_unref(ch);
  return NULL;
}

static void connect_start(cgrpc_channel *ch) {
  if (ch->connecting || ch->t || ch->pending || ch->shutdown) return;
  ch->connecting = 1;
  set_state(ch, CGRPC_CHANNEL_CONNECTING);
  ch->next_attempt_ns = cg_now_ns() + jittered(ch, ch->cur_backoff_ns);
  if (ch->target.unix_path || ch->target.numeric) {
    cg_addr addrs[CG_MAX_ADDRS];
    char err[200] = "";
    int n = cg_target_resolve(&ch->target, addrs, CG_MAX_ADDRS, err,
                              sizeof(err));
    resolved(ch, n, addrs, err);
    return;
  }
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  cg_channel_ref(ch);
  if (pthread_create(&th, &attr, resolver_main, ch) != 0) {
    cg_channel_unref(ch);
    snprintf(ch->last_error, sizeof(ch->last_error),
             "cannot start the resolver thread");
    connect_failed(ch);
  }
  pthread_attr_destroy(&attr);
}

/* ---- transport hooks ---- */

static void on_goaway(cg_transport *t) {
  cgrpc_channel *ch = t->owner;
  if (ch->t != t) return;
  ch->t = NULL;
  t->next = ch->draining;
  ch->draining = t;
  set_state(ch, CGRPC_CHANNEL_IDLE);
  if (ch->whead) connect_start(ch);
}

static void on_ready(cg_transport *t) { transport_ready(t->owner, t); }

static void on_closed(cg_transport *t) {
  cgrpc_channel *ch = t->owner;
  if (ch->pending == t) { /* the handshake failed: a failed attempt */
    ch->pending = NULL;
    cg_timer_cancel(ch->loop, &ch->ctimer);
    snprintf(ch->last_error, sizeof(ch->last_error), "%s", t->close_msg);
    if (!ch->shutdown) connect_failed(ch);
    return;
  }
  if (ch->t == t) {
    ch->t = NULL;
    if (!ch->shutdown) set_state(ch, CGRPC_CHANNEL_IDLE);
    if (ch->whead) connect_start(ch);
    return;
  }
  for (cg_transport **p = &ch->draining; *p; p = &(*p)->next) {
    if (*p == t) {
      *p = t->next;
      break;
    }
  }
}

static const cg_transport_hooks client_hooks = {NULL, on_goaway, on_closed,
                                                on_ready};

/* ---- tasks posted by user threads ---- */

void cg_client_start(cgrpc_call *c) {
  cgrpc_channel *ch = c->ch;
  pthread_mutex_lock(&c->mu);
  int ended = c->status_set;
  pthread_mutex_unlock(&c->mu);
  if (ended) return;
  if (ch->shutdown) {
    fail_call(c, CGRPC_STATUS_CANCELLED, "channel closed");
    return;
  }
  if (c->deadline != CG_NEVER)
    cg_timer_set(ch->loop, &c->deadline_timer, c->deadline);
  if (ch->t && !ch->t->draining && !ch->t->closing) {
    cg_client_call_submit(c, ch->t);
    return;
  }
  cgrpc_connectivity_state s = get_state(ch);
  if (s == CGRPC_CHANNEL_TRANSIENT_FAILURE && !c->wait_for_ready) {
    char msg[600];
    snprintf(msg, sizeof(msg), "failed to connect to %s: %s",
             ch->target.authority, ch->last_error);
    fail_call(c, CGRPC_STATUS_UNAVAILABLE, msg);
    return;
  }
  wait_add(ch, c);
  if (s == CGRPC_CHANNEL_IDLE) connect_start(ch);
}

static void connect_task(cg_task *task) {
  cgrpc_channel *ch = (cgrpc_channel *)((char *)task -
                                        offsetof(cgrpc_channel, connect_task));
  if (get_state(ch) == CGRPC_CHANNEL_IDLE) connect_start(ch);
}

static void reset_task(cg_task *task) {
  cgrpc_channel *ch = (cgrpc_channel *)((char *)task -
                                        offsetof(cgrpc_channel, reset_task));
  ch->cur_backoff_ns = ch->backoff_initial_ns;
  if (get_state(ch) == CGRPC_CHANNEL_TRANSIENT_FAILURE && !ch->connecting) {
    cg_timer_cancel(ch->loop, &ch->btimer);
    set_state(ch, CGRPC_CHANNEL_IDLE);
    if (ch->whead) connect_start(ch);
  }
}

static void shutdown_task(cg_task *task) {
  cgrpc_channel *ch = (cgrpc_channel *)((char *)task -
                                        offsetof(cgrpc_channel, shutdown_task));
  ch->shutdown = 1;
  set_state(ch, CGRPC_CHANNEL_SHUTDOWN);
  pthread_mutex_lock(&ch->mu);
  ch->state = CGRPC_CHANNEL_SHUTDOWN;
  pthread_cond_broadcast(&ch->cv);
  pthread_mutex_unlock(&ch->mu);
  flush_waiting(ch, 1, CGRPC_STATUS_CANCELLED, "channel closed");
  cg_timer_cancel(ch->loop, &ch->btimer);
  cg_timer_cancel(ch->loop, &ch->ctimer);
  if (ch->cfd >= 0) {
    cg_loop_unwatch(ch->loop, &ch->cwatch);
    close(ch->cfd);
    ch->cfd = -1;
  }
  if (ch->t) cg_transport_close(ch->t, CGRPC_STATUS_CANCELLED, "channel closed");
  if (ch->pending)
    cg_transport_close(ch->pending, CGRPC_STATUS_CANCELLED, "channel closed");
  for (cg_transport *t = ch->draining; t; t = t->next)
    cg_transport_close(t, CGRPC_STATUS_CANCELLED, "channel closed");
  cg_loop_quit(ch->loop);
}

/* ---- public ---- */

int cgrpc_channel_create(cgrpc_channel **out, const char *target,
                         const cgrpc_channel_options *opts) {
  if (!out) return CGRPC_E_INVALID_ARG;
  *out = NULL;
  if (!target) return CGRPC_E_INVALID_ARG;
  cgrpc_channel_options defaults;
  if (!opts) {
    cgrpc_channel_options *d;
    if (cgrpc_channel_options_create(&d)) return CGRPC_E_NOMEM;
    defaults = *d;
    free(d);
    opts = &defaults;
  }
  if (opts->creds && opts->creds->tls && !opts->creds->ctx)
    return CGRPC_E_INVALID_ARG;
  cgrpc_channel *ch = calloc(1, sizeof(*ch));
  if (!ch) return CGRPC_E_NOMEM;
  int rc = cg_target_parse(&ch->target, target);
  if (rc) {
    free(ch);
    return rc;
  }
  atomic_init(&ch->refs, 1);
  pthread_mutex_init(&ch->mu, NULL);
  cg_cond_init(&ch->cv);
  ch->cfd = -1;
  ch->state = CGRPC_CHANNEL_IDLE;
  ch->max_send = opts->max_send;
  ch->max_recv = opts->max_recv;
  /* Spans beyond ~73 years are clamped so deadline arithmetic cannot
   * overflow. */
  const int64_t span_max = INT64_MAX / CG_MS / 4;
  ch->min_connect_ns = CG_MIN(opts->connect_timeout_ms, span_max) * CG_MS;
  ch->backoff_initial_ns = CG_MIN(opts->backoff_initial_ms, span_max) * CG_MS;
  ch->backoff_max_ns = CG_MIN(opts->backoff_max_ms, span_max) * CG_MS;
  ch->backoff_mult = opts->backoff_multiplier;
  ch->backoff_jitter = opts->backoff_jitter;
  ch->cur_backoff_ns = ch->backoff_initial_ns;
  ch->settings.stream_window = 1024 * 1024;
  ch->settings.conn_window = 16 * 1024 * 1024;
  if (opts->creds) {
    ch->creds = opts->creds;
    cg_creds_ref(ch->creds);
  }
  const char *override = ch->creds ? ch->creds->override_name : NULL;
  ch->authority = cg_strdup(opts->authority ? opts->authority
                            : override      ? override
                                            : ch->target.authority);
  char ua[512];
  snprintf(ua, sizeof(ua), "%s%sgrpc-c-cgrpc/%s (nghttp2/%s)",
           opts->ua_prefix ? opts->ua_prefix : "", opts->ua_prefix ? " " : "",
           CGRPC_VERSION, nghttp2_version(0)->version_str);
  ch->user_agent = cg_strdup(ua);
  cg_timer_init(&ch->ctimer, on_connect_timeout);
  cg_timer_init(&ch->btimer, backoff_done);
  ch->connect_task.fn = connect_task;
  ch->resolved_task.fn = resolved_task;
  ch->shutdown_task.fn = shutdown_task;
  ch->reset_task.fn = reset_task;
  rc = cg_md_append_all(&ch->default_md, &opts->md);
  if (opts == &defaults) cg_md_clear(&defaults.md);
  if (rc || !ch->authority || !ch->user_agent) {
    rc = rc ? rc : CGRPC_E_NOMEM;
    goto fail;
  }
  rc = cg_loop_create(&ch->loop, "cgrpc-channel");
  if (rc) goto fail;
  *out = ch;
  return CGRPC_OK;
fail:
  cg_channel_unref(ch);
  return rc;
}

void cg_channel_ref(cgrpc_channel *ch) {
  atomic_fetch_add_explicit(&ch->refs, 1, memory_order_relaxed);
}

void cg_channel_unref(cgrpc_channel *ch) {
  if (atomic_fetch_sub_explicit(&ch->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (ch->loop) {
    cg_loop_join(ch->loop);
    cg_loop_free(ch->loop);
  }
  cg_target_free(&ch->target);
  free(ch->authority);
  free(ch->user_agent);
  cg_md_clear(&ch->default_md);
  cg_creds_unref(ch->creds);
  pthread_mutex_destroy(&ch->mu);
  pthread_cond_destroy(&ch->cv);
  free(ch);
}

void cgrpc_channel_destroy(cgrpc_channel *ch) {
  if (!ch) return;
  pthread_mutex_lock(&ch->mu);
  int was_closed = ch->closed;
  ch->closed = 1;
  pthread_mutex_unlock(&ch->mu);
  if (was_closed) return;
  if (cg_loop_post(ch->loop, &ch->shutdown_task) >= 0 &&
      !cg_loop_in_thread(ch->loop))
    cg_loop_join(ch->loop);
  cg_channel_unref(ch);
}

cgrpc_connectivity_state cgrpc_channel_state(cgrpc_channel *ch,
                                             int try_to_connect) {
  if (!ch) return CGRPC_CHANNEL_SHUTDOWN;
  pthread_mutex_lock(&ch->mu);
  cgrpc_connectivity_state s = ch->state;
  if (try_to_connect && s == CGRPC_CHANNEL_IDLE && !ch->closed)
    cg_loop_post(ch->loop, &ch->connect_task);
  pthread_mutex_unlock(&ch->mu);
  return s;
}

int cgrpc_channel_wait_for_state_change(cgrpc_channel *ch,
                                        cgrpc_connectivity_state last_seen,
                                        int64_t timeout_ms) {
  if (!ch) return CGRPC_E_INVALID_ARG;
  int64_t until = timeout_ms < 0 ? CG_NEVER : cg_now_ns() + timeout_ms * CG_MS;
  int rc = CGRPC_OK;
  pthread_mutex_lock(&ch->mu);
  while (ch->state == last_seen) {
    if (cg_cond_wait_until(&ch->cv, &ch->mu, until) == ETIMEDOUT &&
        ch->state == last_seen) {
      rc = CGRPC_E_TIMEOUT;
      break;
    }
  }
  pthread_mutex_unlock(&ch->mu);
  return rc;
}

void cgrpc_channel_reset_backoff(cgrpc_channel *ch) {
  if (!ch) return;
  cg_loop_post(ch->loop, &ch->reset_task);
}

/* ---- stubs ---- */

struct cgrpc_stub {
  cgrpc_channel *ch;
  char *service;
};

int cgrpc_stub_create(cgrpc_stub **out, cgrpc_channel *ch,
                      const char *service) {
  if (!out) return CGRPC_E_INVALID_ARG;
  *out = NULL;
  if (!ch || !service || !*service) return CGRPC_E_INVALID_ARG;
  for (const char *p = service; *p; p++)
    if (*p == '/' || (unsigned char)*p <= 0x20 || *p == 0x7f)
      return CGRPC_E_INVALID_ARG;
  cgrpc_stub *s = calloc(1, sizeof(*s));
  if (!s || !(s->service = cg_strdup(service))) {
    free(s);
    return CGRPC_E_NOMEM;
  }
  cg_channel_ref(ch);
  s->ch = ch;
  *out = s;
  return CGRPC_OK;
}

void cgrpc_stub_destroy(cgrpc_stub *s) {
  if (!s) return;
  cg_channel_unref(s->ch);
  free(s->service);
  free(s);
}

const char *cgrpc_stub_service(const cgrpc_stub *s) {
  return s ? s->service : NULL;
}

int cgrpc_stub_call_start(cgrpc_call **out, const cgrpc_stub *s,
                          const char *method, const cgrpc_call_options *opts) {
  if (!out) return CGRPC_E_INVALID_ARG;
  *out = NULL;
  if (!s || !method || !*method || strchr(method, '/'))
    return CGRPC_E_INVALID_ARG;
  size_t n = strlen(s->service) + strlen(method) + 3;
  char *path = malloc(n);
  if (!path) return CGRPC_E_NOMEM;
  snprintf(path, n, "/%s/%s", s->service, method);
  int rc = cgrpc_call_start(out, s->ch, path, opts);
  free(path);
  return rc;
}
