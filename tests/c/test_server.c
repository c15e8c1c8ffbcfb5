/* Server behaviour: what handlers see, parallel handlers and the pool
 * bound, message limits, flow control, listeners, graceful shutdown. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

START_TEST(handler_sees_deadline_peer_metadata) {
  cgrpc_call_options *o = opts_md(5000, "x-a", "one", NULL);
  ck_rc(cgrpc_call_options_add_metadata(o, "x-b-bin", "\x01\xff", 2));
  char *reply;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Probe/Info", "", o, &reply, NULL),
                   0);
  long dl = atol(strstr(reply, "deadline=") + 9);
  ck_assert_msg(dl > 3000 && dl <= 5000, "deadline %ld in %s", dl, reply);
  ck_assert_ptr_nonnull(strstr(reply, "peer=ipv4:127.0.0.1:"));
  ck_assert_ptr_nonnull(strstr(reply, "method=/cgrpc.test.Probe/Info;"));
  ck_assert_ptr_nonnull(strstr(reply, "x-a=one,"));
  ck_assert_ptr_nonnull(strstr(reply, "x-b-bin=01ff,"));
  free(reply);
  cgrpc_call_options_destroy(o);
  /* No deadline: -1. */
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Probe/Info", "", NULL, &reply, NULL),
                   0);
  ck_assert_ptr_nonnull(strstr(reply, "deadline=-1;"));
  free(reply);
}
END_TEST

typedef struct sleeper {
  pthread_t th;
  const char *ms;
  int code;
} sleeper;

static void *sleep_call(void *arg) {
  sleeper *s = arg;
  s->code = do_unary(ch, "/cgrpc.test.Probe/Sleep", s->ms, NULL, NULL, NULL);
  return NULL;
}

static int64_t run_sleepers(int n, const char *ms) {
  atomic_store(&probe_running, 0);
  atomic_store(&probe_max_running, 0);
  sleeper s[16];
  int64_t t0 = now_ms();
  for (int i = 0; i < n; i++) {
    s[i] = (sleeper){.ms = ms, .code = -1};
    pthread_create(&s[i].th, NULL, sleep_call, &s[i]);
  }
  for (int i = 0; i < n; i++) {
    pthread_join(s[i].th, NULL);
    ck_assert_int_eq(s[i].code, 0);
  }
  return now_ms() - t0;
}

START_TEST(handlers_run_in_parallel) {
  int64_t took = run_sleepers(16, "200");
  ck_assert_msg(took < 16 * 200 / 2, "16 x 200 ms took %lld ms", (long long)took);
  ck_assert_int_ge(atomic_load(&probe_max_running), 8);
}
END_TEST

START_TEST(pool_bound_queues_rpcs) {
  cgrpc_channel_destroy(ch);
  ts_stop(&ts);
  cgrpc_server_options *so;
  ck_rc(cgrpc_server_options_create(&so));
  ck_rc(cgrpc_server_options_set_max_threads(so, 2));
  ts_start_opts(&ts, so, NULL);
  cgrpc_server_options_destroy(so);
  ch = chan(ts.target);
  int64_t took = run_sleepers(6, "150");
  ck_assert_int_le(atomic_load(&probe_max_running), 2);
  ck_assert_int_ge(took, 3 * 150 - 20);
}
END_TEST

START_TEST(handler_misuse_and_missing_status) {
  char *msg;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Probe/NoFinish", "", NULL, NULL,
                            &msg),
                   CGRPC_STATUS_UNKNOWN);
  ck_assert_str_eq(msg, "handler returned without a status");
  free(msg);
  atomic_store(&probe_misuse_ok, 0);
  char *reply;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Probe/Misuse", "", NULL, &reply,
                            &msg),
                   CGRPC_STATUS_INTERNAL); /* status OK but no reply: not unary */
  free(msg);
  free(reply);
  ck_assert_int_eq(atomic_load(&probe_misuse_ok), 8);
  /* Client-only misuse. */
  cgrpc_call *c;
  ck_assert_int_eq(cgrpc_call_start(&c, ch, "no-slash", NULL),
                   CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_call_start(&c, ch, "/a/b/c", NULL), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_call_start(NULL, ch, "/a/b", NULL), CGRPC_E_INVALID_ARG);
  ck_rc(cgrpc_call_start(&c, ch, "/cgrpc.test.Echo/Unary", NULL));
  ck_assert_int_eq(cgrpc_call_finish(c, 0, NULL, NULL), CGRPC_E_ROLE);
  ck_assert_int_eq(cgrpc_call_send_initial_metadata(c, NULL), CGRPC_E_ROLE);
  cgrpc_metadata *tmd;
  ck_rc(cgrpc_metadata_create(&tmd));
  ck_assert_int_eq(cgrpc_call_set_trailing_metadata(c, tmd), CGRPC_E_ROLE);
  ck_assert_int_eq(cgrpc_call_set_trailing_metadata(c, NULL), CGRPC_E_INVALID_ARG);
  cgrpc_metadata_destroy(tmd);
  ck_assert_int_eq(cgrpc_call_send(c, "x", 1, 0x80), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_call_send(c, NULL, 1, 0), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_call_wait(c, 0x100, 0, NULL), CGRPC_E_INVALID_ARG);
  cgrpc_call_destroy(c);
  cgrpc_stub *stub;
  ck_assert_int_eq(cgrpc_stub_create(&stub, ch, "bad/name"), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_server_add_listener(ts.srv, "127.0.0.1:0", NULL),
                   CGRPC_E_STATE);
  ck_assert_int_eq(cgrpc_server_register_method(ts.srv, "/a/b", NULL, NULL, NULL),
                   CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_server_start(ts.srv), CGRPC_E_STATE);
}
END_TEST

START_TEST(message_size_limits) {
  /* Client receive limit (4 MiB default): that call only. */
  char *msg;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Probe/Big", "5000000", NULL, NULL,
                            &msg),
                   CGRPC_STATUS_RESOURCE_EXHAUSTED);
  ck_assert_ptr_nonnull(strstr(msg, "larger than max"));
  free(msg);
  /* Server receive limit (4 MiB default). */
  size_t n = 5 << 20;
  char *big = calloc(1, n);
  int code;
  cgrpc_buffer *rep;
  char *m;
  ck_rc(cgrpc_unary(ch, "/cgrpc.test.Echo/Unary", big, n, NULL, &code, &rep, &m));
  ck_assert_int_eq(code, CGRPC_STATUS_RESOURCE_EXHAUSTED);
  cgrpc_free(m);
  free(big);
  /* Request metadata over the 64 KiB header-block limit: refused before
   * sending, that call only. */
  char *bigval = malloc(70001);
  memset(bigval, 'a', 70000);
  bigval[70000] = 0;
  cgrpc_call_options *bo = opts_md(-1, "x-big", bigval, NULL);
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "x", bo, NULL, &msg),
                   CGRPC_STATUS_RESOURCE_EXHAUSTED);
  ck_assert_ptr_nonnull(strstr(msg, "metadata"));
  free(msg);
  free(bigval);
  cgrpc_call_options_destroy(bo);
  /* The connection lives on. */
  char *reply;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "ok", NULL, &reply,
                            NULL),
                   0);
  ck_assert_str_eq(reply, "ok");
  free(reply);
  /* Client send limit: an API error before anything is sent. */
  cgrpc_channel_options *co;
  ck_rc(cgrpc_channel_options_create(&co));
  ck_rc(cgrpc_channel_options_set_max_send_message_size(co, 10));
  cgrpc_channel *small;
  ck_rc(cgrpc_channel_create(&small, ts.target, co));
  cgrpc_channel_options_destroy(co);
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, small, "/cgrpc.test.Echo/Unary", NULL));
  ck_assert_int_eq(cgrpc_call_send(c, "01234567890", 11, 0), CGRPC_E_TOO_LARGE);
  ck_rc(cgrpc_call_send(c, "0123456789", 10, CGRPC_SEND_LAST));
  cgrpc_buffer *b;
  ck_rc(cgrpc_call_recv(c, &b));
  ck_assert_int_eq((int)cgrpc_buffer_len(b), 10);
  cgrpc_buffer_free(b);
  cgrpc_call_destroy(c);
  cgrpc_channel_destroy(small);
}
END_TEST

START_TEST(slow_reader_throttles_sender) {
  atomic_store(&probe_flood_sent, 0);
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, ch, "/cgrpc.test.Probe/Flood", NULL));
  ck_rc(cgrpc_call_close_send(c));
  sleep_ms(500); /* read nothing */
  int stalled = atomic_load(&probe_flood_sent);
  /* Window (1 MiB) + queue + send bound: a few dozen 64 KiB messages,
   * not the 2000 the handler wants to send. */
  ck_assert_msg(stalled > 0 && stalled < 64, "sender got %d messages out",
                stalled);
  for (int i = 0; i < 100; i++) {
    cgrpc_buffer *b;
    ck_rc(cgrpc_call_recv(c, &b));
    ck_assert_int_eq((int)cgrpc_buffer_len(b), 65536);
    cgrpc_buffer_free(b);
  }
  ck_assert_int_gt(atomic_load(&probe_flood_sent), stalled + 30);
  cgrpc_call_cancel(c);
  cgrpc_call_destroy(c);
}
END_TEST

START_TEST(listeners_v6_unix_and_errors) {
  cgrpc_server *srv;
  ck_rc(cgrpc_server_create(&srv, NULL));
  ck_assert_int_eq(cgrpc_server_register_method(srv, "/cgrpc.test.Probe/Info",
                                                NULL, NULL, NULL),
                   CGRPC_E_INVALID_ARG);
  cgrpc_server_destroy(srv);

  /* ts listens on 127.0.0.1; add [::1] and a unix socket on a new one. */
  test_server t2;
  char path[128];
  snprintf(path, sizeof(path), "unix:/tmp/cgrpc-test-%d.sock", (int)getpid());
  ts_start_opts(&t2, NULL, "[::1]:0");
  ck_assert_int_gt(t2.port, 0);
  char target[64];
  snprintf(target, sizeof(target), "[::1]:%d", t2.port);
  cgrpc_channel *c6 = chan(target);
  char *reply;
  ck_assert_int_eq(do_unary(c6, "/cgrpc.test.Probe/Info", "", NULL, &reply, NULL),
                   0);
  ck_assert_ptr_nonnull(strstr(reply, "peer=ipv6:[::1]:"));
  free(reply);
  cgrpc_channel_destroy(c6);
  ts_stop(&t2);

  ts_start_opts(&t2, NULL, path);
  cgrpc_channel *cu = chan(path);
  ck_assert_int_eq(do_unary(cu, "/cgrpc.test.Echo/Unary", "unix", NULL, &reply,
                            NULL),
                   0);
  ck_assert_str_eq(reply, "unix");
  free(reply);
  cgrpc_channel_destroy(cu);
  ts_stop(&t2);

  ck_rc(cgrpc_server_create(&srv, NULL));
  char busy[64];
  snprintf(busy, sizeof(busy), "127.0.0.1:%d", ts.port);
  ck_assert_int_eq(cgrpc_server_add_listener(srv, busy, NULL), CGRPC_E_ADDRESS);
  ck_assert_int_eq(cgrpc_server_add_listener(srv, "host:notaport", NULL),
                   CGRPC_E_TARGET);
  ck_assert_int_eq(cgrpc_server_start(srv), CGRPC_E_STATE); /* no listener */
  cgrpc_server_destroy(srv);
}
END_TEST

static void *late_sleeper(void *arg) {
  sleeper *s = arg;
  s->code = do_unary(ch, "/cgrpc.test.Probe/Sleep", s->ms, NULL, NULL, NULL);
  return NULL;
}

START_TEST(graceful_shutdown_lets_calls_finish) {
  sleeper s = {.ms = "400", .code = -1};
  pthread_t th;
  pthread_create(&th, NULL, late_sleeper, &s);
  sleep_ms(100);
  int64_t t0 = now_ms();
  ck_rc(cgrpc_server_shutdown(ts.srv, 5000));
  int64_t took = now_ms() - t0;
  pthread_join(th, NULL);
  ck_assert_int_eq(s.code, 0); /* the in-flight call completed */
  ck_assert_int_lt(took, 3000);
  /* No new calls after shutdown. */
  char *msg;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "x", NULL, NULL, &msg),
                   CGRPC_STATUS_UNAVAILABLE);
  free(msg);
  ck_rc(cgrpc_server_shutdown(ts.srv, 0)); /* idempotent */
}
END_TEST

START_TEST(shutdown_grace_expires_cancels) {
  atomic_store(&probe_cancel_seen, 0);
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, ch, "/cgrpc.test.Probe/WaitCancel", NULL));
  cgrpc_buffer *b;
  ck_rc(cgrpc_call_recv(c, &b));
  cgrpc_buffer_free(b);
  int64_t t0 = now_ms();
  ck_rc(cgrpc_server_shutdown(ts.srv, 200));
  ck_assert_int_lt(now_ms() - t0, 2000);
  int code;
  ck_rc(cgrpc_call_status(c, &code, NULL, NULL));
  ck_assert_int_eq(code, CGRPC_STATUS_CANCELLED); /* RST_STREAM(CANCEL) */
  ck_assert_int_eq(atomic_load(&probe_cancel_seen), 1);
  cgrpc_call_destroy(c);
}
END_TEST

START_TEST(server_deadline_cancels_handler) {
  atomic_store(&probe_cancel_seen, 0);
  cgrpc_call_options *o = opts_md(300, NULL);
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, ch, "/cgrpc.test.Probe/WaitCancel", o));
  int code;
  ck_rc(cgrpc_call_status(c, &code, NULL, NULL));
  ck_assert_int_eq(code, CGRPC_STATUS_DEADLINE_EXCEEDED);
  for (int i = 0; i < 200 && !atomic_load(&probe_cancel_seen); i++) sleep_ms(10);
  ck_assert_int_eq(atomic_load(&probe_cancel_seen), 1);
  cgrpc_call_destroy(c);
  cgrpc_call_options_destroy(o);
}
END_TEST

START_TEST(max_concurrent_streams_queue) {
  cgrpc_channel_destroy(ch);
  ts_stop(&ts);
  cgrpc_server_options *so;
  ck_rc(cgrpc_server_options_create(&so));
  ck_rc(cgrpc_server_options_set_max_concurrent_streams(so, 2));
  ts_start_opts(&ts, so, NULL);
  cgrpc_server_options_destroy(so);
  ch = chan(ts.target);
  /* Warm up so the client has the server's SETTINGS before the burst. */
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "w", NULL, NULL, NULL),
                   0);
  int64_t took = run_sleepers(8, "100");
  ck_assert_int_le(atomic_load(&probe_max_running), 2);
  ck_assert_int_ge(took, 4 * 100 - 20);
}
END_TEST

static void release_count(void *ud) { atomic_fetch_add((atomic_int *)ud, 1); }

START_TEST(send_without_copy) {
  static atomic_int released;
  atomic_store(&released, 0);
  static const char payload[] = "no-copy payload";
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, ch, "/cgrpc.test.Echo/ClientStream", NULL));
  ck_rc(cgrpc_call_send_nocopy(c, payload, 7, 0, release_count, &released));
  ck_rc(cgrpc_call_send_nocopy(c, payload + 7, 8, CGRPC_SEND_LAST,
                               release_count, &released));
  cgrpc_buffer *b;
  ck_rc(cgrpc_call_recv(c, &b));
  ck_assert_int_eq((int)cgrpc_buffer_len(b), 15);
  ck_assert(memcmp(cgrpc_buffer_data(b), payload, 15) == 0);
  cgrpc_buffer_free(b);
  int code;
  ck_rc(cgrpc_call_status(c, &code, NULL, NULL));
  ck_assert_int_eq(code, 0);
  /* A send that fails still releases its buffer, exactly once. */
  ck_assert_int_eq(cgrpc_call_send_nocopy(c, payload, 3, 0, release_count,
                                          &released), CGRPC_E_CLOSED);
  ck_assert_int_eq(atomic_load(&released), 3);
  cgrpc_call_destroy(c);
  ck_assert_int_eq(atomic_load(&released), 3); /* each exactly once */
}
END_TEST

Suite *server_suite(void) {
  Suite *s = suite_create("server");
  TCase *tc = tcase_create("server");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, handler_sees_deadline_peer_metadata);
  tcase_add_test(tc, handlers_run_in_parallel);
  tcase_add_test(tc, pool_bound_queues_rpcs);
  tcase_add_test(tc, handler_misuse_and_missing_status);
  tcase_add_test(tc, message_size_limits);
  tcase_add_test(tc, slow_reader_throttles_sender);
  tcase_add_test(tc, listeners_v6_unix_and_errors);
  tcase_add_test(tc, graceful_shutdown_lets_calls_finish);
  tcase_add_test(tc, shutdown_grace_expires_cancels);
  tcase_add_test(tc, server_deadline_cancels_handler);
  tcase_add_test(tc, max_concurrent_streams_queue);
  tcase_add_test(tc, send_without_copy);
  suite_add_tcase(s, tc);
  return s;
}
