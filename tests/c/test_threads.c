/* The thread contract: many threads on one channel, one sender plus one
 * receiver per stream, second senders/receivers refused, cancel and
 * destroy from other threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes.h"
#include "testutil.h"

static test_server ts;
static cgrpc_channel *ch;

static void setup(void) {
  ts_start(&ts);
  ch = chan(ts.target);
}
static void teardown(void) {
  cgrpc_channel_destroy(ch);
  ts_stop(&ts);
}

typedef struct worker {
  pthread_t th;
  int id, n, ok;
  char peer[128];
} worker;

static char *info_field(const char *reply, const char *key) {
  const char *p = strstr(reply, key);
  if (!p) return strdup("");
  p += strlen(key);
  const char *e = strchr(p, ';');
  return e ? strndup(p, (size_t)(e - p)) : strdup(p);
}

static void *unary_worker(void *arg) {
  worker *w = arg;
  char req[64];
  for (int i = 0; i < w->n; i++) {
    snprintf(req, sizeof(req), "t%d-i%d", w->id, i);
    char *reply = NULL;
    int code = do_unary(ch, "/cgrpc.test.Echo/Unary", req, NULL, &reply, NULL);
    if (code == 0 && reply && strcmp(reply, req) == 0) w->ok++;
    free(reply);
  }
  char *reply = NULL;
  if (do_unary(ch, "/cgrpc.test.Probe/Info", "", NULL, &reply, NULL) == 0) {
    char *peer = info_field(reply, "peer=");
    snprintf(w->peer, sizeof(w->peer), "%s", peer);
    free(peer);
  }
  free(reply);
  return NULL;
}

START_TEST(many_threads_one_channel) {
  enum { NT = 32 };
  int per = 320 / test_scale(); /* 10,240 RPCs in the plain build */
  worker w[NT];
  for (int i = 0; i < NT; i++) {
    w[i] = (worker){.id = i, .n = per};
    ck_assert_int_eq(pthread_create(&w[i].th, NULL, unary_worker, &w[i]), 0);
  }
  int total = 0;
  for (int i = 0; i < NT; i++) {
    pthread_join(w[i].th, NULL);
    total += w[i].ok;
  }
  ck_assert_int_eq(total, NT * per);
  /* One connection: the server saw every thread come from the same peer. */
  ck_assert(strncmp(w[0].peer, "ipv4:127.0.0.1:", 15) == 0);
  for (int i = 1; i < NT; i++) ck_assert_str_eq(w[i].peer, w[0].peer);
  ck_assert_int_eq(cgrpc_channel_state(ch, 0), CGRPC_CHANNEL_READY);
}
END_TEST

typedef struct duplex {
  cgrpc_call *c;
  int n, got, in_order;
} duplex;

static void *duplex_reader(void *arg) {
  duplex *d = arg;
  d->in_order = 1;
  cgrpc_buffer *b;
  while (cgrpc_call_recv(d->c, &b) == CGRPC_OK) {
    char want[32];
    snprintf(want, sizeof(want), "msg-%d", d->got);
    if (cgrpc_buffer_len(b) != strlen(want) ||
        memcmp(cgrpc_buffer_data(b), want, strlen(want)) != 0)
      d->in_order = 0;
    d->got++;
    cgrpc_buffer_free(b);
  }
  return NULL;
}

START_TEST(send_and_recv_on_two_threads) {
  duplex d = {.n = 2000 / test_scale()};
  ck_rc(cgrpc_call_start(&d.c, ch, "/cgrpc.test.Echo/Bidi", NULL));
  pthread_t th;
  pthread_create(&th, NULL, duplex_reader, &d);
  for (int i = 0; i < d.n; i++) {
    char m[32];
    snprintf(m, sizeof(m), "msg-%d", i);
    ck_rc(cgrpc_call_send(d.c, m, strlen(m), 0));
  }
  ck_rc(cgrpc_call_close_send(d.c));
  pthread_join(th, NULL);
  ck_assert_int_eq(d.got, d.n);
  ck_assert(d.in_order);
  int code;
  ck_rc(cgrpc_call_status(d.c, &code, NULL, NULL));
  ck_assert_int_eq(code, 0);
  cgrpc_call_destroy(d.c);
}
END_TEST

typedef struct blocker {
  cgrpc_call *c;
  atomic_int sent;
  int rc;
} blocker;

static void *flood_sender(void *arg) {
  blocker *b = arg;
  static char chunk[32768];
  for (int i = 0; i < 100000; i++) {
    int rc = cgrpc_call_send(b->c, chunk, sizeof(chunk), 0);
    if (rc != CGRPC_OK) {
      b->rc = rc;
      break;
    }
    atomic_fetch_add(&b->sent, 1);
  }
  return NULL;
}

static void *blocked_recv(void *arg) {
  blocker *b = arg;
  cgrpc_buffer *m = NULL;
  b->rc = cgrpc_call_recv(b->c, &m);
  cgrpc_buffer_free(m);
  return NULL;
}

START_TEST(second_sender_is_busy) {
  blocker b = {0};
  /* Echo's Bidi echoes; we never read, so everything backs up and the
   * sender blocks in cgrpc_call_send. */
  ck_rc(cgrpc_call_start(&b.c, ch, "/cgrpc.test.Echo/Bidi", NULL));
  pthread_t th;
  pthread_create(&th, NULL, flood_sender, &b);
  int last = -1;
  for (int i = 0; i < 100; i++) { /* wait until sending stalls */
    sleep_ms(50);
    int now = atomic_load(&b.sent);
    if (now == last && now > 0) break;
    last = now;
  }
  ck_assert_int_eq(cgrpc_call_send(b.c, "x", 1, 0), CGRPC_E_BUSY);
  ck_assert_int_eq(cgrpc_call_close_send(b.c), CGRPC_E_BUSY);
  /* Bounded memory: the stalled sender got far less than 100000 out. */
  ck_assert_int_lt(atomic_load(&b.sent), 2000);
  cgrpc_call_cancel(b.c);
  pthread_join(th, NULL);
  ck_assert_int_eq(b.rc, CGRPC_E_CLOSED);
  cgrpc_call_destroy(b.c);
}
END_TEST

START_TEST(second_receiver_is_busy_and_cancel_wakes) {
  atomic_store(&probe_cancel_seen, 0);
  blocker b = {0};
  ck_rc(cgrpc_call_start(&b.c, ch, "/cgrpc.test.Probe/WaitCancel", NULL));
  cgrpc_buffer *m;
  ck_rc(cgrpc_call_recv(b.c, &m)); /* "started" */
  cgrpc_buffer_free(m);
  pthread_t th;
  pthread_create(&th, NULL, blocked_recv, &b);
  unsigned ready = 1;
  ck_assert_int_eq(cgrpc_call_wait(b.c, CGRPC_EVENT_RECV, 100, &ready),
                   CGRPC_E_TIMEOUT);
  ck_assert_int_eq((int)ready, 0);
  ck_assert_int_eq(cgrpc_call_recv(b.c, &m), CGRPC_E_BUSY);
  int64_t t0 = now_ms();
  cgrpc_call_cancel(b.c); /* from another thread than the receiver */
  pthread_join(th, NULL);
  ck_assert_int_lt(now_ms() - t0, 1000);
  ck_assert_int_eq(b.rc, CGRPC_DONE);
  int code;
  ck_rc(cgrpc_call_status(b.c, &code, NULL, NULL));
  ck_assert_int_eq(code, CGRPC_STATUS_CANCELLED);
  ck_rc(cgrpc_call_wait(b.c, CGRPC_EVENT_DONE, 0, &ready));
  ck_assert_int_eq((int)ready, CGRPC_EVENT_DONE);
  /* The server's handler saw the cancellation. */
  for (int i = 0; i < 200 && !atomic_load(&probe_cancel_seen); i++) sleep_ms(10);
  ck_assert_int_eq(atomic_load(&probe_cancel_seen), 1);
  cgrpc_call_destroy(b.c);
}
END_TEST

START_TEST(destroy_while_another_thread_waits) {
  blocker b = {0};
  ck_rc(cgrpc_call_start(&b.c, ch, "/cgrpc.test.Probe/WaitCancel", NULL));
  pthread_t th;
  pthread_create(&th, NULL, blocked_recv, &b);
  sleep_ms(100);
  cgrpc_call_destroy(b.c); /* waits for the receiver to leave */
  pthread_join(th, NULL);
  ck_assert(b.rc == CGRPC_DONE || b.rc == CGRPC_OK);
}
END_TEST

typedef struct stub_worker {
  pthread_t th;
  cgrpc_stub *stub;
  int ok;
} stub_worker;

static void *stub_user(void *arg) {
  stub_worker *w = arg;
  for (int i = 0; i < 50; i++) {
    cgrpc_call *c;
    if (cgrpc_stub_call_start(&c, w->stub, "Unary", NULL)) continue;
    cgrpc_call_send(c, "s", 1, CGRPC_SEND_LAST);
    cgrpc_buffer *m;
    if (cgrpc_call_recv(c, &m) == CGRPC_OK) {
      w->ok += cgrpc_buffer_len(m) == 1;
      cgrpc_buffer_free(m);
    }
    cgrpc_call_destroy(c);
  }
  return NULL;
}

START_TEST(shared_stub) {
  cgrpc_stub *stub;
  ck_rc(cgrpc_stub_create(&stub, ch, "cgrpc.test.Echo"));
  stub_worker w[8];
  for (int i = 0; i < 8; i++) {
    w[i] = (stub_worker){.stub = stub};
    pthread_create(&w[i].th, NULL, stub_user, &w[i]);
  }
  int ok = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(w[i].th, NULL);
    ok += w[i].ok;
  }
  ck_assert_int_eq(ok, 8 * 50);
  cgrpc_stub_destroy(stub);
}
END_TEST

static void count_notify(cgrpc_call *call, void *ud) {
  (void)call;
  atomic_fetch_add((atomic_int *)ud, 1);
}

static atomic_int notify_freed;
static void notify_destroy(void *ud) {
  (void)ud;
  atomic_fetch_add(&notify_freed, 1);
}

START_TEST(notify_drives_an_event_loop) {
  /* Many calls, one waiting thread, no thread per call: each call's
   * notify bumps a counter the "event loop" polls. */
  enum { N = 20 };
  static atomic_int fired;
  atomic_store(&fired, 0);
  atomic_store(&notify_freed, 0);
  cgrpc_call *calls[N];
  int done[N] = {0};
  for (int i = 0; i < N; i++) {
    ck_rc(cgrpc_call_start(&calls[i], ch, "/cgrpc.test.Echo/Unary", NULL));
    ck_rc(cgrpc_call_set_notify(calls[i], count_notify, &fired, notify_destroy));
    char m[16];
    snprintf(m, sizeof(m), "n%d", i);
    ck_rc(cgrpc_call_send(calls[i], m, strlen(m), CGRPC_SEND_LAST));
  }
  int remaining = N;
  int64_t until = now_ms() + 10000;
  while (remaining > 0 && now_ms() < until) {
    int seen = atomic_load(&fired);
    for (int i = 0; i < N; i++) {
      unsigned ready;
      if (done[i] || cgrpc_call_wait(calls[i], CGRPC_EVENT_DONE, 0, &ready)) continue;
      cgrpc_buffer *b;
      ck_rc(cgrpc_call_recv(calls[i], &b)); /* does not block now */
      char m[16];
      snprintf(m, sizeof(m), "n%d", i);
      ck_assert_int_eq((int)cgrpc_buffer_len(b), (int)strlen(m));
      cgrpc_buffer_free(b);
      done[i] = 1;
      remaining--;
    }
    while (remaining > 0 && atomic_load(&fired) == seen && now_ms() < until)
      sleep_ms(1); /* an event loop would sleep in poll() on an eventfd */
  }
  ck_assert_int_eq(remaining, 0);
  ck_assert_int_ge(atomic_load(&fired), N);
  for (int i = 0; i < N; i++) cgrpc_call_destroy(calls[i]);
  ck_assert_int_eq(atomic_load(&notify_freed), N);
}
END_TEST

Suite *threads_suite(void) {
  Suite *s = suite_create("threads");
  TCase *tc = tcase_create("contract");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, many_threads_one_channel);
  tcase_add_test(tc, send_and_recv_on_two_threads);
  tcase_add_test(tc, second_sender_is_busy);
  tcase_add_test(tc, second_receiver_is_busy_and_cancel_wakes);
  tcase_add_test(tc, destroy_while_another_thread_waits);
  tcase_add_test(tc, shared_stub);
  tcase_add_test(tc, notify_drives_an_event_loop);
  suite_add_tcase(s, tc);
  return s;
}
