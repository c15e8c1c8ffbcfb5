/* Unit tests of the wire encodings, metadata validation and targets. */
#include <string.h>

#include "address.h"
#include "encoding.h"
#include "metadata.h"
#include "testutil.h"

static char *b64(const char *in, size_t n) {
  cg_bytes b = {0};
  ck_assert_int_eq(cg_base64_encode(&b, (const uint8_t *)in, n), 0);
  char *s = strndup((char *)(b.p ? b.p : (uint8_t *)""), b.len);
  cg_bytes_free(&b);
  return s;
}

START_TEST(base64_roundtrip) {
  const char *cases[][2] = {{"", ""}, {"f", "Zg"}, {"fo", "Zm8"},
                            {"foo", "Zm9v"}, {"foob", "Zm9vYg"}};
  for (size_t i = 0; i < 5; i++) {
    char *e = b64(cases[i][0], strlen(cases[i][0]));
    ck_assert_str_eq(e, cases[i][1]); /* unpadded on the wire */
    free(e);
  }
  const char *dec[][2] = {{"Zm9vYg==", "foob"}, {"Zm9vYg", "foob"},
                          {"Zm8=", "fo"}, {"Zg", "f"}};
  for (size_t i = 0; i < 4; i++) {
    cg_bytes b = {0};
    ck_assert_int_eq(cg_base64_decode(&b, (const uint8_t *)dec[i][0],
                                      strlen(dec[i][0])),
                     0);
    ck_assert_int_eq((int)b.len, (int)strlen(dec[i][1]));
    ck_assert(memcmp(b.p, dec[i][1], b.len) == 0);
    cg_bytes_free(&b);
  }
  cg_bytes b = {0};
  ck_assert_int_eq(cg_base64_decode(&b, (const uint8_t *)"Z", 1), -1);
  ck_assert_int_eq(cg_base64_decode(&b, (const uint8_t *)"Zm!v", 4), -1);
  cg_bytes_free(&b);
}
END_TEST

START_TEST(percent_encoding) {
  cg_bytes b = {0};
  ck_assert_int_eq(cg_percent_encode(&b, "a b%\t\xe2\x98\xba"), 0);
  ck_assert_int_eq((int)b.len, 18);
  char *s = strndup((char *)b.p, b.len);
  ck_assert_str_eq(s, "a b%25%09%E2%98%BA");
  free(s);
  cg_bytes_free(&b);
  char *d = cg_percent_decode((const uint8_t *)"a%20b%zz%4", 10);
  ck_assert_str_eq(d, "a b%zz%4"); /* bad escapes kept, never an error */
  free(d);
}
END_TEST

START_TEST(timeout_format) {
  char buf[32];
  cg_timeout_encode(buf, 1);
  ck_assert_str_eq(buf, "1n");
  cg_timeout_encode(buf, 1500000000LL);
  ck_assert_str_eq(buf, "1500000u");
  cg_timeout_encode(buf, 100000000LL * 1000000000LL);
  ck_assert(strlen(buf) <= 9);
  cg_timeout_encode(buf, 0);
  ck_assert_str_eq(buf, "0n");
  int64_t ns;
  ck_assert_int_eq(cg_timeout_decode((const uint8_t *)"15S", 3, &ns), 0);
  ck_assert(ns == 15000000000LL);
  ck_assert_int_eq(cg_timeout_decode((const uint8_t *)"99999999H", 9, &ns), 0);
  ck_assert(ns > 0);
  ck_assert_int_eq(cg_timeout_decode((const uint8_t *)"123456789S", 10, &ns), -1);
  ck_assert_int_eq(cg_timeout_decode((const uint8_t *)"1x", 2, &ns), -1);
  ck_assert_int_eq(cg_timeout_decode((const uint8_t *)"S", 1, &ns), -1);
}
END_TEST

START_TEST(metadata_validation) {
  cgrpc_metadata *md;
  ck_rc(cgrpc_metadata_create(&md));
  ck_rc(cgrpc_metadata_add(md, "x-ok", "value", 5));
  ck_rc(cgrpc_metadata_add(md, "x-raw-bin", "\0\1\xff", 3));
  ck_assert_int_eq(cgrpc_metadata_add(md, "X-Upper", "v", 1), CGRPC_E_METADATA);
  ck_assert_int_eq(cgrpc_metadata_add(md, "grpc-timeout", "1S", 2),
                   CGRPC_E_METADATA);
  ck_assert_int_eq(cgrpc_metadata_add(md, ":path", "/x", 2), CGRPC_E_METADATA);
  ck_assert_int_eq(cgrpc_metadata_add(md, "x-bad", "a\nb", 3), CGRPC_E_METADATA);
  ck_assert_int_eq(cgrpc_metadata_add(md, "", "v", 1), CGRPC_E_METADATA);
  ck_assert_int_eq(cgrpc_metadata_add(md, NULL, "v", 1), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_metadata_add(NULL, "k", "v", 1), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq((int)cgrpc_metadata_count(md), 2);
  size_t len;
  const uint8_t *v = cgrpc_metadata_get(md, "x-raw-bin", &len);
  ck_assert_int_eq((int)len, 3);
  ck_assert_int_eq(v[2], 0xff);
  ck_assert_ptr_null(cgrpc_metadata_get(md, "absent", &len));
  ck_assert_ptr_null(cgrpc_metadata_key(md, 7));
  cgrpc_metadata_destroy(md);
  cgrpc_metadata_destroy(NULL);

  /* Received: reserved headers dropped, -bin decoded, joined values split. */
  cgrpc_metadata r = {0};
  ck_rc(cg_md_add_received(&r, (const uint8_t *)"grpc-status", 11,
                           (const uint8_t *)"0", 1));
  ck_rc(cg_md_add_received(&r, (const uint8_t *)"x-b-bin", 7,
                           (const uint8_t *)"AAE,/w==", 8));
  ck_assert_int_eq((int)r.n, 2);
  ck_assert_int_eq((int)r.e[0].len, 2);
  ck_assert_int_eq(r.e[1].val[0], 0xff);
  cg_md_clear(&r);
}
END_TEST

START_TEST(target_parsing) {
  cg_target t;
  ck_rc(cg_target_parse(&t, "127.0.0.1:50051"));
  ck_assert_str_eq(t.host, "127.0.0.1");
  ck_assert_str_eq(t.port, "50051");
  ck_assert(t.numeric);
  cg_target_free(&t);
  ck_rc(cg_target_parse(&t, "dns:///localhost:80"));
  ck_assert_str_eq(t.host, "localhost");
  ck_assert(!t.numeric);
  ck_assert_str_eq(t.authority, "localhost:80");
  cg_target_free(&t);
  ck_rc(cg_target_parse(&t, "[::1]:9"));
  ck_assert_str_eq(t.host, "::1");
  ck_assert_str_eq(t.authority, "[::1]:9");
  cg_target_free(&t);
  ck_rc(cg_target_parse(&t, "example.com"));
  ck_assert_str_eq(t.port, "443");
  cg_target_free(&t);
  ck_rc(cg_target_parse(&t, "unix:///tmp/x.sock"));
  ck_assert_str_eq(t.unix_path, "/tmp/x.sock");
  cg_target_free(&t);
  const char *bad[] = {"", "host:99999", "host:abc", "::1:80", "[::1", "a b:1",
                       ":80"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_int_eq(cg_target_parse(&t, bad[i]), CGRPC_E_TARGET);
  cgrpc_channel *ch;
  ck_assert_int_eq(cgrpc_channel_create(&ch, "host:99999", NULL), CGRPC_E_TARGET);
  ck_assert_ptr_null(ch);
}
END_TEST

START_TEST(api_basics) {
  ck_assert_str_eq(cgrpc_version(), CGRPC_VERSION);
  ck_assert_int_eq(cgrpc_version_number(), CGRPC_VERSION_NUMBER);
  ck_assert_str_eq(cgrpc_status_name(4), "DEADLINE_EXCEEDED");
  ck_assert_str_eq(cgrpc_status_name(17), "UNKNOWN_CODE");
  for (int rc = -14; rc <= 1; rc++)
    ck_assert(strcmp(cgrpc_strerror(rc), "unknown error code") != 0);
  ck_assert_str_eq(cgrpc_strerror(-999), "unknown error code");
  cgrpc_channel_options *o;
  ck_rc(cgrpc_channel_options_create(&o));
  ck_assert_int_eq(cgrpc_channel_options_set_backoff(o, 0, 1.6, 0.2, 10),
                   CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_channel_options_set_backoff(o, 100, 0.5, 0.2, 1000),
                   CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_channel_options_set_user_agent(o, "bad\n"),
                   CGRPC_E_METADATA);
  ck_assert_int_eq(cgrpc_channel_options_add_metadata(o, "Bad", "v", 1),
                   CGRPC_E_METADATA);
  ck_assert_int_eq(cgrpc_channel_options_set_connect_timeout(o, 0),
                   CGRPC_E_INVALID_ARG);
  cgrpc_channel_options_destroy(o);
  cgrpc_channel_destroy(NULL);
  cgrpc_call_destroy(NULL);
  cgrpc_buffer_free(NULL);
  cgrpc_stub_destroy(NULL);
  cgrpc_server_destroy(NULL);
}
END_TEST

Suite *codec_suite(void) {
  Suite *s = suite_create("codec");
  TCase *tc = tcase_create("units");
  tcase_add_test(tc, base64_roundtrip);
  tcase_add_test(tc, percent_encoding);
  tcase_add_test(tc, timeout_format);
  tcase_add_test(tc, metadata_validation);
  tcase_add_test(tc, target_parsing);
  tcase_add_test(tc, api_basics);
  suite_add_tcase(s, tc);
  return s;
}
