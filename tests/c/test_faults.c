/* Faults: no server, wait-for-ready, reconnect after a restart, a peer
 * killed mid-stream, broken peers (tests/interop/h2_fake_server.py), a
 * channel destroyed under running calls. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes.h"
#include "testutil.h"

static cgrpc_channel *fast_backoff_channel(const char *target) {
  cgrpc_channel_options *o;
  ck_rc(cgrpc_channel_options_create(&o));
  ck_rc(cgrpc_channel_options_set_backoff(o, 100, 1.6, 0.2, 1000));
  ck_rc(cgrpc_channel_options_set_connect_timeout(o, 2000));
  cgrpc_channel *ch;
  ck_rc(cgrpc_channel_create(&ch, target, o));
  cgrpc_channel_options_destroy(o);
  return ch;
}

START_TEST(no_server_is_unavailable) {
  cgrpc_channel *ch = chan("127.0.0.1:1");
  ck_assert_int_eq(cgrpc_channel_state(ch, 0), CGRPC_CHANNEL_IDLE);
  int64_t t0 = now_ms();
  char *msg;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "x", NULL, NULL, &msg),
                   CGRPC_STATUS_UNAVAILABLE);
  ck_assert_ptr_nonnull(strstr(msg, "127.0.0.1:1"));
  ck_assert_int_lt(now_ms() - t0, 2000);
  free(msg);
  ck_assert_int_eq(cgrpc_channel_state(ch, 0), CGRPC_CHANNEL_TRANSIENT_FAILURE);
  /* In TRANSIENT_FAILURE a call fails at once... */
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "x", NULL, NULL, NULL),
                   CGRPC_STATUS_UNAVAILABLE);
  /* ...and a wait-for-ready call waits for its deadline. */
  cgrpc_call_options *o = opts_md(400, NULL);
  ck_rc(cgrpc_call_options_set_wait_for_ready(o, 1));
  t0 = now_ms();
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "x", o, NULL, NULL),
                   CGRPC_STATUS_DEADLINE_EXCEEDED);
  ck_assert_int_ge(now_ms() - t0, 350);
  cgrpc_call_options_destroy(o);
  cgrpc_channel_destroy(ch);
}
END_TEST

/* Waits (3 s at most) until the channel is in state want. */
static int wait_state(cgrpc_channel *ch, cgrpc_connectivity_state want) {
  int64_t until = now_ms() + 3000;
  cgrpc_connectivity_state s = cgrpc_channel_state(ch, 0);
  while (s != want && now_ms() < until) {
    cgrpc_channel_wait_for_state_change(ch, s, 50);
    s = cgrpc_channel_state(ch, 0);
  }
  return s == want;
}

/* One connection attempt to a dead port: how long the channel then stays
 * in TRANSIENT_FAILURE (the backoff) before going IDLE. */
static int64_t failure_period(cgrpc_channel *ch) {
  ck_assert(wait_state(ch, CGRPC_CHANNEL_IDLE));
  cgrpc_channel_state(ch, 1);
  ck_assert(wait_state(ch, CGRPC_CHANNEL_TRANSIENT_FAILURE));
  int64_t t0 = now_ms();
  ck_assert(wait_state(ch, CGRPC_CHANNEL_IDLE));
  return now_ms() - t0;
}

START_TEST(reconnect_backoff_grows) {
  /* 100 ms x2 without jitter: the failure periods double. */
  cgrpc_channel_options *o;
  ck_rc(cgrpc_channel_options_create(&o));
  ck_rc(cgrpc_channel_options_set_backoff(o, 100, 2.0, 0.0, 10000));
  cgrpc_channel *ch;
  ck_rc(cgrpc_channel_create(&ch, "127.0.0.1:1", o));
  cgrpc_channel_options_destroy(o);
  int64_t d1 = failure_period(ch), d2 = failure_period(ch),
          d3 = failure_period(ch);
  ck_assert_msg(d1 >= 80 && d1 < 250 && d2 >= 170 && d3 >= 350 && d3 < 800,
                "backoff periods %lld, %lld, %lld ms", (long long)d1,
                (long long)d2, (long long)d3);
  /* reset_backoff starts again from the initial value. */
  cgrpc_channel_reset_backoff(ch);
  int64_t d4 = failure_period(ch);
  ck_assert_msg(d4 < 250, "after reset: %lld ms", (long long)d4);
  cgrpc_channel_destroy(ch);
}
END_TEST

START_TEST(reconnect_after_server_restart) {
  test_server ts;
  ts_start(&ts);
  char addr[64];
  snprintf(addr, sizeof(addr), "127.0.0.1:%d", ts.port);
  cgrpc_channel *ch = fast_backoff_channel(ts.target);
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "1", NULL, NULL, NULL),
                   0);
  ck_assert_int_eq(cgrpc_channel_state(ch, 0), CGRPC_CHANNEL_READY);
  ts_stop(&ts);
  /* The connection is gone: the channel goes IDLE, then a call fails. */
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "2", NULL, NULL, NULL),
                   CGRPC_STATUS_UNAVAILABLE);
  ts_start_opts(&ts, NULL, addr);
  cgrpc_channel_reset_backoff(ch);
  cgrpc_call_options *o = opts_md(5000, NULL);
  ck_rc(cgrpc_call_options_set_wait_for_ready(o, 1));
  char *reply = NULL;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Unary", "3", o, &reply, NULL),
                   0);
  ck_assert_str_eq(reply, "3");
  free(reply);
  ck_assert_int_eq(cgrpc_channel_state(ch, 0), CGRPC_CHANNEL_READY);
  cgrpc_call_options_destroy(o);
  cgrpc_channel_destroy(ch);
  ts_stop(&ts);
}
END_TEST

START_TEST(state_watch) {
  test_server ts;
  ts_start(&ts);
  cgrpc_channel *ch = chan(ts.target);
  cgrpc_connectivity_state s = cgrpc_channel_state(ch, 1);
  for (int i = 0; i < 50 && s != CGRPC_CHANNEL_READY; i++) {
    cgrpc_channel_wait_for_state_change(ch, s, 100);
    s = cgrpc_channel_state(ch, 0);
  }
  ck_assert_int_eq(s, CGRPC_CHANNEL_READY);
  ck_assert_int_eq(cgrpc_channel_wait_for_state_change(ch, s, 50),
                   CGRPC_E_TIMEOUT);
  cgrpc_channel_destroy(ch);
  ts_stop(&ts);
}
END_TEST

typedef struct waiter {
  pthread_t th;
  cgrpc_call *c;
  int rc, code;
} waiter;

static void *wait_end(void *arg) {
  waiter *w = arg;
  cgrpc_buffer *b = NULL;
  do {
    cgrpc_buffer_free(b);
    b = NULL;
    w->rc = cgrpc_call_recv(w->c, &b);
  } while (w->rc == CGRPC_OK);
  cgrpc_call_status(w->c, &w->code, NULL, NULL);
  return NULL;
}

START_TEST(peer_killed_mid_stream_wakes_everyone) {
  test_proc p;
  const char *args[] = {"--host", "127.0.0.1", "--port", "0", NULL};
  ck_assert_msg(tp_start_python(&p, interop_path("echo_grpcio_server.py"),
                                args) == 0,
                "cannot start the grpcio server (CGRPC_TEST_PYTHON?)");
  cgrpc_channel *ch = chan(p.target);
  waiter w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (waiter){.rc = 99, .code = -1};
    ck_rc(cgrpc_call_start(&w[i].c, ch, "/cgrpc.test.Echo/Bidi", NULL));
    ck_rc(cgrpc_call_send(w[i].c, "a", 1, 0));
    cgrpc_buffer *b;
    ck_rc(cgrpc_call_recv(w[i].c, &b)); /* the stream is live */
    cgrpc_buffer_free(b);
    pthread_create(&w[i].th, NULL, wait_end, &w[i]);
  }
  kill(p.pid, SIGKILL);
  int64_t t0 = now_ms();
  for (int i = 0; i < 4; i++) {
    pthread_join(w[i].th, NULL);
    ck_assert_int_eq(w[i].rc, CGRPC_DONE);
    ck_assert_int_eq(w[i].code, CGRPC_STATUS_UNAVAILABLE);
    ck_assert_int_eq(cgrpc_call_send(w[i].c, "b", 1, 0), CGRPC_E_CLOSED);
    cgrpc_call_destroy(w[i].c);
  }
  ck_assert_int_lt(now_ms() - t0, 3000);
  tp_stop(&p);
  cgrpc_channel_destroy(ch);
}
END_TEST

START_TEST(channel_destroy_under_running_calls) {
  test_server ts;
  ts_start(&ts);
  cgrpc_channel *ch = chan(ts.target);
  cgrpc_stub *stub;
  ck_rc(cgrpc_stub_create(&stub, ch, "cgrpc.test.Probe"));
  waiter w = {.rc = 99};
  ck_rc(cgrpc_call_start(&w.c, ch, "/cgrpc.test.Probe/WaitCancel", NULL));
  cgrpc_buffer *b;
  ck_rc(cgrpc_call_recv(w.c, &b));
  cgrpc_buffer_free(b);
  pthread_create(&w.th, NULL, wait_end, &w);
  sleep_ms(50);
  cgrpc_channel_destroy(ch);
  pthread_join(w.th, NULL);
  ck_assert_int_eq(w.code, CGRPC_STATUS_CANCELLED);
  /* Handles made from the channel fail cleanly afterwards. */
  ck_assert_int_eq(cgrpc_call_send(w.c, "x", 1, 0), CGRPC_E_CLOSED);
  cgrpc_call *c2;
  ck_assert_int_eq(cgrpc_stub_call_start(&c2, stub, "Info", NULL),
                   CGRPC_E_CLOSED);
  cgrpc_call_destroy(w.c);
  cgrpc_stub_destroy(stub);
  ts_stop(&ts);
}
END_TEST

/* Each broken-peer mode of h2_fake_server.py and the status it must give. */
static const struct {
  const char *mode;
  const char *extra;
  int code;
  const char *msg_part;
} fake_modes[] = {
    {"ok", NULL, CGRPC_STATUS_OK, ""},
    {"bad-flag", NULL, CGRPC_STATUS_INTERNAL, "flags"},
    {"compressed-no-encoding", NULL, CGRPC_STATUS_INTERNAL, "compress"},
    {"truncated", NULL, CGRPC_STATUS_INTERNAL, "middle of a message"},
    {"huge", NULL, CGRPC_STATUS_RESOURCE_EXHAUSTED, "larger than max"},
    {"no-trailers", NULL, CGRPC_STATUS_INTERNAL, ""},
    {"http-503", NULL, CGRPC_STATUS_UNAVAILABLE, "503"},
    {"html", NULL, CGRPC_STATUS_UNKNOWN, "content-type"},
    {"trailers-only", NULL, CGRPC_STATUS_PERMISSION_DENIED, "denied here"},
    {"bad-status", NULL, CGRPC_STATUS_UNKNOWN, ""},
    {"rst", "7", CGRPC_STATUS_UNAVAILABLE, "REFUSED"},
    {"rst", "8", CGRPC_STATUS_CANCELLED, ""},
    {"rst", "11", CGRPC_STATUS_RESOURCE_EXHAUSTED, ""},
    {"garbage", NULL, CGRPC_STATUS_UNAVAILABLE, ""},
    {"goaway", NULL, CGRPC_STATUS_UNAVAILABLE, ""},
    {"hang", NULL, CGRPC_STATUS_DEADLINE_EXCEEDED, ""},
    {"kill-mid-stream", NULL, CGRPC_STATUS_UNAVAILABLE, ""},
    {"big-headers", NULL, CGRPC_STATUS_RESOURCE_EXHAUSTED, "metadata larger"},
};

START_TEST(broken_peers_give_clear_statuses) {
  test_proc p;
  const char *args[] = {"--mode", fake_modes[_i].mode, "--host", "127.0.0.1",
                        "--port", "0", fake_modes[_i].extra ? "--rst-code" : NULL,
                        fake_modes[_i].extra, NULL};
  ck_assert_msg(tp_start_python(&p, interop_path("h2_fake_server.py"), args) == 0,
                "cannot start h2_fake_server.py --mode %s", fake_modes[_i].mode);
  cgrpc_channel *ch = chan(p.target);
  cgrpc_call_options *o = opts_md(3000, NULL);
  if (strcmp(fake_modes[_i].mode, "hang") == 0)
    ck_rc(cgrpc_call_options_set_timeout(o, 300));
  int code;
  cgrpc_buffer *rep;
  char *msg;
  ck_rc(cgrpc_unary(ch, "/cgrpc.test.Echo/Unary", "ping", 4, o, &code, &rep,
                    &msg));
  ck_assert_msg(code == fake_modes[_i].code && strstr(msg, fake_modes[_i].msg_part),
                "mode %s: status %d '%s', want %d '%s'", fake_modes[_i].mode,
                code, msg, fake_modes[_i].code, fake_modes[_i].msg_part);
  if (code == 0) {
    ck_assert_int_eq((int)cgrpc_buffer_len(rep), 4);
  }
  cgrpc_buffer_free(rep);
  cgrpc_free(msg);
  cgrpc_call_options_destroy(o);
  cgrpc_channel_destroy(ch);
  tp_stop(&p);
}
END_TEST

START_TEST(trailers_only_keeps_trailers) {
  test_proc p;
  const char *args[] = {"--mode", "trailers-only", "--host", "127.0.0.1",
                        "--port", "0", NULL};
  ck_assert(tp_start_python(&p, interop_path("h2_fake_server.py"), args) == 0);
  cgrpc_channel *ch = chan(p.target);
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, ch, "/x.Y/Z", NULL));
  ck_rc(cgrpc_call_send(c, "q", 1, CGRPC_SEND_LAST));
  const cgrpc_metadata *im, *tr;
  ck_rc(cgrpc_call_initial_metadata(c, &im));
  ck_assert_int_eq((int)cgrpc_metadata_count(im), 0);
  int code;
  const char *msg;
  ck_rc(cgrpc_call_status(c, &code, &msg, &tr));
  ck_assert_int_eq(code, CGRPC_STATUS_PERMISSION_DENIED);
  ck_assert_str_eq(msg, "denied here");
  size_t len;
  const uint8_t *v = cgrpc_metadata_get(tr, "x-why", &len);
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq((int)len, 7);
  cgrpc_call_destroy(c);
  cgrpc_channel_destroy(ch);
  tp_stop(&p);
}
END_TEST

Suite *faults_suite(void) {
  Suite *s = suite_create("faults");
  TCase *tc = tcase_create("faults");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, no_server_is_unavailable);
  tcase_add_test(tc, reconnect_after_server_restart);
  tcase_add_test(tc, reconnect_backoff_grows);
  tcase_add_test(tc, state_watch);
  tcase_add_test(tc, peer_killed_mid_stream_wakes_everyone);
  tcase_add_test(tc, channel_destroy_under_running_calls);
  tcase_add_loop_test(tc, broken_peers_give_clear_statuses, 0,
                      (int)(sizeof(fake_modes) / sizeof(fake_modes[0])));
  tcase_add_test(tc, trailers_only_keeps_trailers);
  suite_add_tcase(s, tc);
  return s;
}
