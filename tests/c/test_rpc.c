/* The four call kinds, metadata, statuses and deadlines: every test runs
 * against the cgrpc server and against a grpcio (C-core) server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define E "/cgrpc.test.Echo/"

static backend be;
static cgrpc_channel *ch;

static void setup_be(int which) {
  be_start(&be, which);
  ch = chan(be.target);
}
static void teardown_be(void) {
  cgrpc_channel_destroy(ch);
  ch = NULL;
  be_stop(&be);
}

static char *recv_str(cgrpc_call *c, int *rc) {
  cgrpc_buffer *b = NULL;
  *rc = cgrpc_call_recv(c, &b);
  if (*rc != CGRPC_OK) return NULL;
  char *s = strndup((const char *)cgrpc_buffer_data(b), cgrpc_buffer_len(b));
  cgrpc_buffer_free(b);
  return s;
}

static void expect_status(cgrpc_call *c, int want, const char *want_msg) {
  int code;
  const char *msg;
  ck_rc(cgrpc_call_status(c, &code, &msg, NULL));
  ck_assert_msg(code == want, "[%s] status %d (%s), want %d", be.name, code, msg,
                want);
  if (want_msg) ck_assert_str_eq(msg, want_msg);
}

START_TEST(unary_echo) {
  setup_be(_i);
  char *reply, *msg;
  ck_assert_int_eq(do_unary(ch, E "Unary", "hello", NULL, &reply, &msg), 0);
  ck_assert_str_eq(reply, "hello");
  free(reply);
  free(msg);
  /* Empty and large (1 MiB) messages. */
  int code;
  cgrpc_buffer *rep;
  ck_rc(cgrpc_unary(ch, E "Unary", "", 0, NULL, &code, &rep, NULL));
  ck_assert_int_eq(code, 0);
  ck_assert_int_eq((int)cgrpc_buffer_len(rep), 0);
  cgrpc_buffer_free(rep);
  size_t big = 1 << 20;
  char *p = malloc(big);
  for (size_t i = 0; i < big; i++) p[i] = (char)(i * 31 + 7);
  ck_rc(cgrpc_unary(ch, E "Unary", p, big, NULL, &code, &rep, NULL));
  ck_assert_int_eq(code, 0);
  ck_assert_int_eq((int)cgrpc_buffer_len(rep), (int)big);
  ck_assert(memcmp(cgrpc_buffer_data(rep), p, big) == 0);
  cgrpc_buffer_free(rep);
  free(p);
  teardown_be();
}
END_TEST

START_TEST(server_streaming) {
  setup_be(_i);
  cgrpc_call_options *o = opts_md(-1, "x-count", "5", NULL);
  cgrpc_stub *stub;
  ck_rc(cgrpc_stub_create(&stub, ch, "cgrpc.test.Echo"));
  ck_assert_str_eq(cgrpc_stub_service(stub), "cgrpc.test.Echo");
  cgrpc_call *c;
  int code;
  cgrpc_buffer *one;
  ck_rc(cgrpc_stub_unary(stub, "Unary", "via stub", 8, NULL, &code, &one, NULL));
  ck_assert_int_eq(code, 0);
  ck_assert_int_eq((int)cgrpc_buffer_len(one), 8);
  cgrpc_buffer_free(one);
  ck_rc(cgrpc_stub_call_start(&c, stub, "ServerStream", o));
  ck_assert_str_eq(cgrpc_call_method(c), E "ServerStream");
  ck_rc(cgrpc_call_send(c, "s", 1, CGRPC_SEND_LAST));
  for (int i = 0; i < 5; i++) {
    int rc;
    char *m = recv_str(c, &rc);
    ck_assert_int_eq(rc, CGRPC_OK);
    char want[16];
    snprintf(want, sizeof(want), "s#%d", i);
    ck_assert_str_eq(m, want);
    free(m);
  }
  int rc;
  ck_assert_ptr_null(recv_str(c, &rc));
  ck_assert_int_eq(rc, CGRPC_DONE);
  expect_status(c, 0, NULL);
  cgrpc_call_destroy(c);
  cgrpc_stub_destroy(stub);
  cgrpc_call_options_destroy(o);
  teardown_be();
}
END_TEST

START_TEST(client_streaming) {
  setup_be(_i);
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, ch, E "ClientStream", NULL));
  const char *parts[] = {"a", "bb", "", "ccc"};
  for (int i = 0; i < 4; i++)
    ck_rc(cgrpc_call_send(c, parts[i], strlen(parts[i]), 0));
  ck_rc(cgrpc_call_close_send(c));
  ck_rc(cgrpc_call_close_send(c)); /* idempotent */
  ck_assert_int_eq(cgrpc_call_send(c, "x", 1, 0), CGRPC_E_STATE);
  int rc;
  char *m = recv_str(c, &rc);
  ck_assert_str_eq(m, "abbccc");
  free(m);
  expect_status(c, 0, NULL);
  cgrpc_call_destroy(c);
  teardown_be();
}
END_TEST

START_TEST(bidi_ping_pong) {
  setup_be(_i);
  cgrpc_call *c;
  cgrpc_call_options *o = opts_md(5000, NULL);
  ck_rc(cgrpc_call_start(&c, ch, E "Bidi", o));
  for (int i = 0; i < 20; i++) {
    char msg[16];
    snprintf(msg, sizeof(msg), "ping%d", i);
    ck_rc(cgrpc_call_send(c, msg, strlen(msg), 0));
    int rc;
    char *m = recv_str(c, &rc);
    ck_assert_int_eq(rc, CGRPC_OK);
    ck_assert_str_eq(m, msg);
    free(m);
  }
  ck_rc(cgrpc_call_close_send(c));
  int rc;
  ck_assert_ptr_null(recv_str(c, &rc));
  ck_assert_int_eq(rc, CGRPC_DONE);
  expect_status(c, 0, NULL);
  cgrpc_call_destroy(c);
  cgrpc_call_options_destroy(o);
  teardown_be();
}
END_TEST

START_TEST(metadata_both_ways) {
  setup_be(_i);
  const char bin[] = {0, 1, (char)0xfe, (char)0xff};
  cgrpc_call_options *o;
  ck_rc(cgrpc_call_options_create(&o));
  ck_rc(cgrpc_call_options_add_metadata(o, "x-echo-initial", "hi there", 8));
  ck_rc(cgrpc_call_options_add_metadata(o, "x-echo-trailing-bin", bin, 4));
  const char *methods[] = {E "Unary", E "ServerStream", E "ClientStream",
                           E "Bidi"};
  for (int k = 0; k < 4; k++) {
    cgrpc_call *c;
    ck_rc(cgrpc_call_start(&c, ch, methods[k], o));
    ck_rc(cgrpc_call_send(c, "m", 1, CGRPC_SEND_LAST));
    const cgrpc_metadata *im;
    ck_rc(cgrpc_call_initial_metadata(c, &im));
    size_t len;
    const uint8_t *v = cgrpc_metadata_get(im, "x-echo-initial", &len);
    ck_assert_msg(v != NULL, "[%s] %s: no initial metadata", be.name,
                  methods[k]);
    ck_assert_int_eq((int)len, 8);
    ck_assert(memcmp(v, "hi there", 8) == 0);
    cgrpc_buffer *b;
    while (cgrpc_call_recv(c, &b) == CGRPC_OK) cgrpc_buffer_free(b);
    int code;
    const cgrpc_metadata *tr;
    ck_rc(cgrpc_call_status(c, &code, NULL, &tr));
    ck_assert_int_eq(code, 0);
    v = cgrpc_metadata_get(tr, "x-echo-trailing-bin", &len);
    ck_assert_msg(v != NULL, "[%s] %s: no trailer", be.name, methods[k]);
    ck_assert_int_eq((int)len, 4);
    ck_assert(memcmp(v, bin, 4) == 0);
    /* Reserved headers never reach the user. */
    ck_assert_ptr_null(cgrpc_metadata_get(tr, "grpc-status", NULL));
    ck_assert_ptr_null(cgrpc_metadata_get(im, "content-type", NULL));
    cgrpc_call_destroy(c);
  }
  cgrpc_call_options_destroy(o);
  teardown_be();
}
END_TEST

START_TEST(status_and_message) {
  setup_be(_i);
  const char *text =
      "\t\ntest with whitespace\r\nand Unicode BMP \xe2\x98\xba and non-BMP "
      "\xf0\x9f\x98\x88\t\n";
  cgrpc_call_options *o;
  ck_rc(cgrpc_call_options_create(&o));
  ck_rc(cgrpc_call_options_add_metadata(o, "x-echo-status", "7", 1));
  ck_rc(cgrpc_call_options_add_metadata(o, "x-echo-message-bin", text,
                                        strlen(text)));
  for (int k = 0; k < 2; k++) {
    cgrpc_call *c;
    ck_rc(cgrpc_call_start(&c, ch, k ? E "ServerStream" : E "Unary", o));
    ck_rc(cgrpc_call_send(c, "x", 1, CGRPC_SEND_LAST));
    int rc;
    ck_assert_ptr_null(recv_str(c, &rc));
    ck_assert_int_eq(rc, CGRPC_DONE);
    expect_status(c, CGRPC_STATUS_PERMISSION_DENIED, text);
    cgrpc_call_destroy(c);
  }
  cgrpc_call_options_destroy(o);
  /* Every code travels. */
  for (int code = 1; code <= 16; code++) {
    char num[16];
    snprintf(num, sizeof(num), "%d", code);
    o = opts_md(-1, "x-echo-status", num, NULL);
    char *msg;
    ck_assert_int_eq(do_unary(ch, E "Unary", "x", o, NULL, &msg), code);
    free(msg);
    cgrpc_call_options_destroy(o);
  }
  teardown_be();
}
END_TEST

START_TEST(unimplemented) {
  setup_be(_i);
  char *msg;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Echo/Nope", "x", NULL, NULL, &msg),
                   CGRPC_STATUS_UNIMPLEMENTED);
  free(msg);
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Nope/Unary", "x", NULL, NULL, &msg),
                   CGRPC_STATUS_UNIMPLEMENTED);
  free(msg);
  teardown_be();
}
END_TEST

START_TEST(deadline_exceeded) {
  setup_be(_i);
  cgrpc_call_options *o = opts_md(300, "x-sleep-ms", "3000", NULL);
  int64_t t0 = now_ms();
  char *msg;
  ck_assert_int_eq(do_unary(ch, E "Unary", "x", o, NULL, &msg),
                   CGRPC_STATUS_DEADLINE_EXCEEDED);
  int64_t took = now_ms() - t0;
  ck_assert_msg(took >= 250 && took < 2000, "deadline took %lld ms",
                (long long)took);
  free(msg);
  cgrpc_call_options_destroy(o);
  /* A generous deadline does not fire. */
  o = opts_md(5000, "x-sleep-ms", "50", NULL);
  ck_assert_int_eq(do_unary(ch, E "Unary", "x", o, NULL, &msg), 0);
  free(msg);
  cgrpc_call_options_destroy(o);
  teardown_be();
}
END_TEST

START_TEST(cancel_server_stream) {
  setup_be(_i);
  cgrpc_call_options *o = opts_md(10000, "x-count", "100000", NULL);
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, ch, E "ServerStream", o));
  ck_rc(cgrpc_call_send(c, "c", 1, CGRPC_SEND_LAST));
  int rc;
  char *m = recv_str(c, &rc);
  ck_assert_str_eq(m, "c#0");
  free(m);
  cgrpc_call_cancel(c);
  cgrpc_call_cancel(c); /* idempotent */
  expect_status(c, CGRPC_STATUS_CANCELLED, NULL);
  ck_assert(cgrpc_call_is_cancelled(c));
  ck_assert_int_eq(cgrpc_call_send(c, "x", 1, 0), CGRPC_E_CLOSED);
  cgrpc_call_destroy(c);
  cgrpc_call_options_destroy(o);
  /* The channel still works after a cancel. */
  char *reply;
  ck_assert_int_eq(do_unary(ch, E "Unary", "after", NULL, &reply, NULL), 0);
  ck_assert_str_eq(reply, "after");
  free(reply);
  teardown_be();
}
END_TEST

/* A local failure (an unparsable reply, say) ends the call with the
 * caller's status, resets the stream, and leaves the channel usable. */
START_TEST(abort_with_status) {
  setup_be(_i);
  cgrpc_call_options *o = opts_md(10000, "x-count", "100000", NULL);
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, ch, E "ServerStream", o));
  ck_rc(cgrpc_call_send(c, "a", 1, CGRPC_SEND_LAST));
  int rc;
  char *m = recv_str(c, &rc);
  ck_assert_str_eq(m, "a#0");
  free(m);
  ck_assert_int_eq(cgrpc_call_abort(c, 0, "x"), CGRPC_E_INVALID_ARG);
  ck_rc(cgrpc_call_abort(c, CGRPC_STATUS_INTERNAL, "bad reply"));
  ck_assert_int_eq(cgrpc_call_abort(c, CGRPC_STATUS_UNKNOWN, "late"),
                   CGRPC_E_STATE);
  expect_status(c, CGRPC_STATUS_INTERNAL, "bad reply");
  ck_assert_int_eq(cgrpc_call_send(c, "x", 1, 0), CGRPC_E_CLOSED);
  /* Whatever was queued may still be read; then the end is reported. */
  cgrpc_buffer *b = NULL;
  for (int i = 0; i < 200000; i++) {
    rc = cgrpc_call_recv(c, &b);
    if (rc != CGRPC_OK) break;
    cgrpc_buffer_free(b);
  }
  ck_assert_int_eq(rc, CGRPC_DONE);
  cgrpc_call_destroy(c);
  cgrpc_call_options_destroy(o);
  /* The peer's OK came with messages still queued and one fails locally:
   * abort replaces the OK, and the message lent earlier stays valid. */
  o = opts_md(10000, "x-count", "3", NULL);
  ck_rc(cgrpc_call_start(&c, ch, E "ServerStream", o));
  ck_rc(cgrpc_call_send(c, "b", 1, CGRPC_SEND_LAST));
  int code;
  const char *lent;
  ck_rc(cgrpc_call_status(c, &code, &lent, NULL));
  ck_assert_int_eq(code, CGRPC_STATUS_OK);
  ck_rc(cgrpc_call_abort(c, CGRPC_STATUS_INTERNAL, "bad message"));
  ck_assert_int_eq(strlen(lent), 0); /* read after the replacement (ASan) */
  expect_status(c, CGRPC_STATUS_INTERNAL, "bad message");
  ck_assert_int_eq(cgrpc_call_abort(c, CGRPC_STATUS_UNKNOWN, "x"), CGRPC_E_STATE);
  cgrpc_call_destroy(c);
  cgrpc_call_options_destroy(o);
  char *reply;
  ck_assert_int_eq(do_unary(ch, E "Unary", "after", NULL, &reply, NULL), 0);
  ck_assert_str_eq(reply, "after");
  free(reply);
  teardown_be();
}
END_TEST

Suite *rpc_suite(void) {
  Suite *s = suite_create("rpc");
  TCase *tc = tcase_create("kinds");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, unary_echo, 0, NBACKENDS);
  tcase_add_loop_test(tc, server_streaming, 0, NBACKENDS);
  tcase_add_loop_test(tc, client_streaming, 0, NBACKENDS);
  tcase_add_loop_test(tc, bidi_ping_pong, 0, NBACKENDS);
  tcase_add_loop_test(tc, metadata_both_ways, 0, NBACKENDS);
  tcase_add_loop_test(tc, status_and_message, 0, NBACKENDS);
  tcase_add_loop_test(tc, unimplemented, 0, NBACKENDS);
  tcase_add_loop_test(tc, deadline_exceeded, 0, NBACKENDS);
  tcase_add_loop_test(tc, cancel_server_stream, 0, NBACKENDS);
  tcase_add_loop_test(tc, abort_with_status, 0, NBACKENDS);
  suite_add_tcase(s, tc);
  return s;
}
