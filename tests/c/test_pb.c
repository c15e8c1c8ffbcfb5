/* The dynamic protobuf layer (cgrpc_pb.h): pools, messages, codec, bad
 * input, and one pool shared by threads.  The descriptor sets are written
 * here byte by byte (no protoc at C-test time), which also lets us make
 * broken ones.  Oracle tests against python protobuf are in tests/pb. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cgrpc_pb.h"
#include "testutil.h"

/* ---- a tiny protobuf writer for descriptor sets ---- */

typedef struct wbuf {
  uint8_t b[4096];
  size_t n;
} wbuf;

static void w_varint(wbuf *w, uint64_t v) {
  do {
    ck_assert(w->n < sizeof(w->b));
    w->b[w->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v);
}
static void w_raw(wbuf *w, const void *p, size_t n) {
  ck_assert(w->n + n <= sizeof(w->b));
  memcpy(w->b + w->n, p, n);
  w->n += n;
}
static void w_int(wbuf *w, unsigned field, uint64_t v) {
  w_varint(w, (uint64_t)field << 3);
  w_varint(w, v);
}
static void w_bytes(wbuf *w, unsigned field, const void *p, size_t n) {
  w_varint(w, ((uint64_t)field << 3) | 2);
  w_varint(w, n);
  w_raw(w, p, n);
}
static void w_str(wbuf *w, unsigned field, const char *s) { w_bytes(w, field, s, strlen(s)); }
static void w_sub(wbuf *w, unsigned field, const wbuf *sub) { w_bytes(w, field, sub->b, sub->n); }

/* FieldDescriptorProto; type_name/def may be NULL; oneof < 0: none. */
static void w_field(wbuf *msg, const char *name, int num, int label, int type,
                    const char *type_name, const char *def, int oneof, int p3opt) {
  wbuf f = {.n = 0};
  w_str(&f, 1, name);
  w_int(&f, 3, (uint64_t)num);
  w_int(&f, 4, (uint64_t)label);
  w_int(&f, 5, (uint64_t)type);
  if (type_name) w_str(&f, 6, type_name);
  if (def) w_str(&f, 7, def);
  if (oneof >= 0) w_int(&f, 9, (uint64_t)oneof);
  if (p3opt) w_int(&f, 17, 1);
  w_sub(msg, 2, &f);
}

enum { OPT = 1, REQ = 2, REP = 3 };
enum { T_DOUBLE = 1, T_FLOAT = 2, T_INT64 = 3, T_UINT64 = 4, T_INT32 = 5,
       T_BOOL = 8, T_STRING = 9, T_GROUP = 10, T_MSG = 11, T_BYTES = 12,
       T_ENUM = 14, T_SINT32 = 17 };

/* proto3 "t.proto" (package t): enum E, message M, service S. */
static void w_t_file(wbuf *set, int with_dep) {
  wbuf file = {.n = 0}, m = {.n = 0}, e = {.n = 0}, v = {.n = 0}, entry = {.n = 0},
       opts = {.n = 0}, one = {.n = 0}, svc = {.n = 0}, meth = {.n = 0};
  w_str(&file, 1, "t.proto");
  w_str(&file, 2, "t");
  if (with_dep) w_str(&file, 3, "p2.proto");
  w_str(&e, 1, "E");
  w_str(&v, 1, "E0");
  w_int(&v, 2, 0);
  w_sub(&e, 2, &v);
  v.n = 0;
  w_str(&v, 1, "E1");
  w_int(&v, 2, 1);
  w_sub(&e, 2, &v);
  w_sub(&file, 5, &e);

  w_str(&m, 1, "M");
  w_field(&m, "i32", 1, OPT, T_INT32, NULL, NULL, -1, 0);
  w_field(&m, "i64", 2, OPT, T_INT64, NULL, NULL, -1, 0);
  w_field(&m, "u64", 3, OPT, T_UINT64, NULL, NULL, -1, 0);
  w_field(&m, "s", 4, OPT, T_STRING, NULL, NULL, -1, 0);
  w_field(&m, "b", 5, OPT, T_BYTES, NULL, NULL, -1, 0);
  w_field(&m, "ri", 6, REP, T_INT32, NULL, NULL, -1, 0);
  w_field(&m, "child", 7, OPT, T_MSG, ".t.M", NULL, -1, 0);
  w_field(&m, "kids", 8, REP, T_MSG, "M", NULL, -1, 0); /* relative name */
  w_field(&m, "m", 9, REP, T_MSG, ".t.M.MEntry", NULL, -1, 0);
  w_field(&m, "os", 10, OPT, T_STRING, NULL, NULL, 0, 0);
  w_field(&m, "om", 11, OPT, T_MSG, ".t.M", NULL, 0, 0);
  w_field(&m, "oi", 12, OPT, T_INT32, NULL, NULL, 1, 1);
  w_field(&m, "e", 13, OPT, T_ENUM, ".t.E", NULL, -1, 0);
  w_field(&m, "d", 14, OPT, T_DOUBLE, NULL, NULL, -1, 0);
  w_field(&m, "bo", 15, OPT, T_BOOL, NULL, NULL, -1, 0);
  w_field(&m, "user_id", 16, OPT, T_SINT32, NULL, NULL, -1, 0);
  w_str(&entry, 1, "MEntry");
  w_field(&entry, "key", 1, OPT, T_STRING, NULL, NULL, -1, 0);
  w_field(&entry, "value", 2, OPT, T_INT32, NULL, NULL, -1, 0);
  w_int(&opts, 7, 1);
  w_sub(&entry, 7, &opts);
  w_sub(&m, 3, &entry);
  w_str(&one, 1, "o");
  w_sub(&m, 8, &one);
  one.n = 0;
  w_str(&one, 1, "_oi");
  w_sub(&m, 8, &one);
  w_sub(&file, 4, &m);

  w_str(&svc, 1, "S");
  w_str(&meth, 1, "Call");
  w_str(&meth, 2, ".t.M");
  w_str(&meth, 3, ".t.M");
  w_sub(&svc, 2, &meth);
  meth.n = 0;
  w_str(&meth, 1, "Watch");
  w_str(&meth, 2, ".t.M");
  w_str(&meth, 3, ".t.M");
  w_int(&meth, 6, 1);
  w_sub(&svc, 2, &meth);
  w_sub(&file, 6, &svc);
  w_str(&file, 12, "proto3");
  w_sub(set, 1, &file);
}

/* proto2 "p2.proto" (package p2): closed enum L, message R. */
static void w_p2_file(wbuf *set, int group) {
  wbuf file = {.n = 0}, r = {.n = 0}, e = {.n = 0}, v = {.n = 0};
  w_str(&file, 1, "p2.proto");
  w_str(&file, 2, "p2");
  w_str(&e, 1, "L");
  w_str(&v, 1, "A");
  w_int(&v, 2, 1);
  w_sub(&e, 2, &v);
  v.n = 0;
  w_str(&v, 1, "B");
  w_int(&v, 2, 2);
  w_sub(&e, 2, &v);
  w_sub(&file, 5, &e);
  w_str(&r, 1, "R");
  w_field(&r, "id", 1, REQ, T_INT32, NULL, NULL, -1, 0);
  w_field(&r, "dflt", 2, OPT, T_INT32, NULL, "-5", -1, 0);
  w_field(&r, "l", 3, OPT, T_ENUM, ".p2.L", NULL, -1, 0);
  w_field(&r, "ds", 4, OPT, T_STRING, NULL, "hi", -1, 0);
  w_field(&r, "db", 5, OPT, T_BYTES, NULL, "a\\001\\x7f", -1, 0);
  w_field(&r, "df", 6, OPT, T_FLOAT, NULL, "-inf", -1, 0);
  w_field(&r, "dbool", 7, OPT, T_BOOL, NULL, "true", -1, 0);
  w_field(&r, "l2", 8, OPT, T_ENUM, ".p2.L", "B", -1, 0);
  w_field(&r, "sub", 9, OPT, T_MSG, ".p2.R", NULL, -1, 0);
  if (group) w_field(&r, "grp", 10, OPT, T_GROUP, ".p2.R", NULL, -1, 0);
  w_sub(&file, 4, &r);
  w_sub(set, 1, &file);
}

static cgrpc_pb_pool *load_ok(void) {
  wbuf set = {.n = 0};
  w_p2_file(&set, 0);
  w_t_file(&set, 1);
  cgrpc_pb_pool *p = NULL;
  ck_assert_msg(cgrpc_pb_pool_load(&p, set.b, set.n) == CGRPC_OK, "%s", cgrpc_last_error());
  return p;
}

static const cgrpc_pb_field *fld(const cgrpc_pb_type *t, const char *name) {
  const cgrpc_pb_field *f = cgrpc_pb_type_find_field(t, name);
  ck_assert_msg(f != NULL, "no field %s", name);
  return f;
}

static cgrpc_pb_value ival(int64_t x) {
  cgrpc_pb_value v = {.kind = CGRPC_PB_INT64};
  v.v.i64 = x;
  return v;
}
static cgrpc_pb_value sval(const char *s, size_t n) {
  cgrpc_pb_value v = {.kind = CGRPC_PB_STRING};
  v.v.s.data = s;
  v.v.s.len = n;
  return v;
}

START_TEST(pb_pool_queries) {
  cgrpc_pb_pool *p = load_ok();
  ck_assert_uint_eq(cgrpc_pb_pool_service_count(p), 1);
  ck_assert_str_eq(cgrpc_pb_pool_service_name(p, 0), "t.S");
  ck_assert_ptr_null(cgrpc_pb_pool_service_name(p, 1));
  ck_assert_uint_eq(cgrpc_pb_pool_method_count(p, 0), 2);
  const cgrpc_pb_method *w = cgrpc_pb_pool_method(p, 0, 1);
  ck_assert_str_eq(cgrpc_pb_method_name(w), "Watch");
  ck_assert_str_eq(cgrpc_pb_method_path(w), "/t.S/Watch");
  ck_assert_int_eq(cgrpc_pb_method_server_streaming(w), 1);
  ck_assert_int_eq(cgrpc_pb_method_client_streaming(w), 0);
  ck_assert_ptr_eq(cgrpc_pb_pool_find_method(p, "/t.S/Watch"), w);
  ck_assert_ptr_null(cgrpc_pb_pool_find_method(p, "/t.S/Nope"));
  ck_assert_ptr_null(cgrpc_pb_pool_method(p, 0, 2));
  const cgrpc_pb_type *m = cgrpc_pb_pool_find_type(p, ".t.M");
  ck_assert_ptr_nonnull(m);
  ck_assert_ptr_eq(cgrpc_pb_method_input(w), m);
  ck_assert_ptr_eq(cgrpc_pb_pool_find_type(p, "t.M"), m);
  ck_assert_ptr_null(cgrpc_pb_pool_find_type(p, "t.Missing"));
  ck_assert_str_eq(cgrpc_pb_type_name(m), "t.M");
  ck_assert_uint_eq(cgrpc_pb_type_field_count(m), 16);
  ck_assert_str_eq(cgrpc_pb_field_name(cgrpc_pb_type_field(m, 0)), "i32");
  ck_assert_ptr_null(cgrpc_pb_type_field(m, 16));
  ck_assert_str_eq(cgrpc_pb_field_json_name(fld(m, "user_id")), "userId");
  ck_assert_ptr_null(cgrpc_pb_type_find_field(m, "userId"));
  ck_assert_ptr_eq(cgrpc_pb_type_find_field_any(m, "userId"), fld(m, "user_id"));
  ck_assert_ptr_eq(cgrpc_pb_type_find_field_any(m, "user_id"), fld(m, "user_id"));
  ck_assert_ptr_null(cgrpc_pb_type_find_field_any(m, "nope"));
  ck_assert_int_eq(cgrpc_pb_field_kind(fld(m, "user_id")), CGRPC_PB_INT32);
  ck_assert_int_eq(cgrpc_pb_field_kind(fld(m, "u64")), CGRPC_PB_UINT64);
  const cgrpc_pb_field *mf = fld(m, "m");
  ck_assert(cgrpc_pb_field_is_map(mf) && cgrpc_pb_field_is_repeated(mf));
  ck_assert(cgrpc_pb_type_is_map_entry(cgrpc_pb_field_message_type(mf)));
  ck_assert(!cgrpc_pb_field_is_map(fld(m, "kids")));
  ck_assert_ptr_eq(cgrpc_pb_field_message_type(fld(m, "kids")), m);
  ck_assert_str_eq(cgrpc_pb_field_oneof(fld(m, "om")), "o");
  ck_assert_ptr_null(cgrpc_pb_field_oneof(fld(m, "oi"))); /* synthetic */
  ck_assert_int_eq(cgrpc_pb_field_has_presence(fld(m, "oi")), 1);
  ck_assert_int_eq(cgrpc_pb_field_has_presence(fld(m, "i32")), 0);
  ck_assert_int_eq(cgrpc_pb_field_has_presence(fld(m, "child")), 1);
  ck_assert_int_eq(cgrpc_pb_field_has_presence(fld(m, "ri")), 0);
  const cgrpc_pb_field *e = fld(m, "e");
  ck_assert_str_eq(cgrpc_pb_field_enum_type(e), "t.E");
  ck_assert_str_eq(cgrpc_pb_enum_name(e, 1), "E1");
  ck_assert_ptr_null(cgrpc_pb_enum_name(e, 7));
  int32_t n = -1;
  ck_assert_int_eq(cgrpc_pb_enum_value(e, "E1", &n), CGRPC_OK);
  ck_assert_int_eq(n, 1);
  ck_assert_int_eq(cgrpc_pb_enum_value(e, "E9", &n), CGRPC_E_NOT_FOUND);
  ck_assert_int_eq(cgrpc_pb_enum_value(fld(m, "i32"), "E1", &n), CGRPC_E_INVALID_ARG);
  cgrpc_pb_pool_destroy(p);
  cgrpc_pb_pool_destroy(NULL);
}
END_TEST

START_TEST(pb_roundtrip_values) {
  cgrpc_pb_pool *p = load_ok();
  const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(p, "t.M");
  cgrpc_pb_msg *m, *sub;
  ck_assert_int_eq(cgrpc_pb_msg_create(&m, t), CGRPC_OK);
  cgrpc_pb_value v = ival(INT32_MIN);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "i32"), &v), CGRPC_OK);
  v = ival(INT64_MIN);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "i64"), &v), CGRPC_OK);
  v.kind = CGRPC_PB_UINT64;
  v.v.u64 = UINT64_MAX;
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "u64"), &v), CGRPC_OK);
  v = sval("a\0b\xc3\xa9", 5); /* embedded NUL survives */
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "s"), &v), CGRPC_OK);
  v.kind = CGRPC_PB_BYTES;
  v.v.s.data = "\xff\x00";
  v.v.s.len = 2;
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "b"), &v), CGRPC_OK);
  for (int i = -2; i < 300; i++) {
    v = ival(i);
    ck_assert_int_eq(cgrpc_pb_msg_append(m, fld(t, "ri"), &v), CGRPC_OK);
  }
  ck_assert_int_eq(cgrpc_pb_msg_mutable(m, fld(t, "child"), &sub), CGRPC_OK);
  v = ival(7);
  ck_assert_int_eq(cgrpc_pb_msg_set(sub, fld(t, "i32"), &v), CGRPC_OK);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(cgrpc_pb_msg_add_message(m, fld(t, "kids"), &sub), CGRPC_OK);
    v = ival(i);
    ck_assert_int_eq(cgrpc_pb_msg_set(sub, fld(t, "i64"), &v), CGRPC_OK);
  }
  const cgrpc_pb_type *et = cgrpc_pb_field_message_type(fld(t, "m"));
  ck_assert_int_eq(cgrpc_pb_msg_add_message(m, fld(t, "m"), &sub), CGRPC_OK);
  v = sval("k", 1);
  ck_assert_int_eq(cgrpc_pb_msg_set(sub, fld(et, "key"), &v), CGRPC_OK);
  v = ival(42);
  ck_assert_int_eq(cgrpc_pb_msg_set(sub, fld(et, "value"), &v), CGRPC_OK);
  v.kind = CGRPC_PB_DOUBLE;
  v.v.d = -0.0;
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "d"), &v), CGRPC_OK);
  ck_assert_int_eq(cgrpc_pb_msg_has(m, fld(t, "d")), 1); /* -0.0 is not zero */
  v.kind = CGRPC_PB_ENUM;
  v.v.i32 = 99; /* open enum: any number */
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "e"), &v), CGRPC_OK);
  v = ival(0);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "oi"), &v), CGRPC_OK);

  uint8_t *buf;
  size_t len;
  ck_assert_int_eq(cgrpc_pb_msg_encode(m, &buf, &len), CGRPC_OK);
  cgrpc_pb_msg *d;
  ck_assert_msg(cgrpc_pb_msg_decode(&d, t, buf, len) == CGRPC_OK, "%s", cgrpc_last_error());
  cgrpc_pb_value g;
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "i32"), 0, &g), CGRPC_OK);
  ck_assert_int_eq(g.kind, CGRPC_PB_INT32);
  ck_assert_int_eq(g.v.i32, INT32_MIN);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "i64"), 0, &g), CGRPC_OK);
  ck_assert(g.v.i64 == INT64_MIN);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "u64"), 0, &g), CGRPC_OK);
  ck_assert(g.v.u64 == UINT64_MAX);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "s"), 0, &g), CGRPC_OK);
  ck_assert(g.v.s.len == 5 && memcmp(g.v.s.data, "a\0b\xc3\xa9", 5) == 0);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "b"), 0, &g), CGRPC_OK);
  ck_assert(g.kind == CGRPC_PB_BYTES && g.v.s.len == 2 && memcmp(g.v.s.data, "\xff\x00", 2) == 0);
  ck_assert_uint_eq(cgrpc_pb_msg_count(d, fld(t, "ri")), 302);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "ri"), 0, &g), CGRPC_OK);
  ck_assert_int_eq(g.v.i32, -2);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "ri"), 301, &g), CGRPC_OK);
  ck_assert_int_eq(g.v.i32, 299);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "ri"), 302, &g), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "child"), 0, &g), CGRPC_OK);
  ck_assert_ptr_nonnull(g.v.msg);
  cgrpc_pb_value g2;
  ck_assert_int_eq(cgrpc_pb_msg_get(g.v.msg, fld(t, "i32"), 0, &g2), CGRPC_OK);
  ck_assert_int_eq(g2.v.i32, 7);
  ck_assert_uint_eq(cgrpc_pb_msg_count(d, fld(t, "kids")), 3);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "kids"), 2, &g), CGRPC_OK);
  ck_assert_int_eq(cgrpc_pb_msg_get(g.v.msg, fld(t, "i64"), 0, &g2), CGRPC_OK);
  ck_assert(g2.v.i64 == 2);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "m"), 0, &g), CGRPC_OK);
  ck_assert_ptr_eq(cgrpc_pb_msg_type(g.v.msg), et);
  ck_assert_int_eq(cgrpc_pb_msg_get(g.v.msg, fld(et, "value"), 0, &g2), CGRPC_OK);
  ck_assert_int_eq(g2.v.i32, 42);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "d"), 0, &g), CGRPC_OK);
  ck_assert(g.v.d == 0.0 && signbit(g.v.d));
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "e"), 0, &g), CGRPC_OK);
  ck_assert_int_eq(g.v.i32, 99);
  ck_assert_int_eq(cgrpc_pb_msg_has(d, fld(t, "oi")), 1); /* optional 0 */
  ck_assert_int_eq(cgrpc_pb_msg_has(d, fld(t, "bo")), 0);
  ck_assert_int_eq(cgrpc_pb_msg_get(d, fld(t, "om"), 0, &g), CGRPC_OK);
  ck_assert_ptr_null(g.v.msg);
  cgrpc_free(buf);
  cgrpc_pb_msg_destroy(d);
  cgrpc_pb_msg_destroy(m);
  cgrpc_pb_msg_destroy(NULL);
  cgrpc_pb_pool_destroy(p);
}
END_TEST

START_TEST(pb_oneof_and_clear) {
  cgrpc_pb_pool *p = load_ok();
  const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(p, "t.M");
  cgrpc_pb_msg *m, *sub;
  ck_assert_int_eq(cgrpc_pb_msg_create(&m, t), CGRPC_OK);
  const cgrpc_pb_field *os = fld(t, "os"), *om = fld(t, "om");
  cgrpc_pb_value v = sval("hello", 5);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, os, &v), CGRPC_OK);
  ck_assert(cgrpc_pb_msg_has(m, os) && !cgrpc_pb_msg_has(m, om));
  ck_assert_int_eq(cgrpc_pb_msg_mutable(m, om, &sub), CGRPC_OK); /* frees "hello" */
  ck_assert(!cgrpc_pb_msg_has(m, os) && cgrpc_pb_msg_has(m, om));
  cgrpc_pb_value g;
  ck_assert_int_eq(cgrpc_pb_msg_get(m, os, 0, &g), CGRPC_OK);
  ck_assert_uint_eq(g.v.s.len, 0); /* not the case: default */
  ck_assert_int_eq(cgrpc_pb_msg_clear(m, os), CGRPC_OK); /* not chosen: no-op */
  ck_assert(cgrpc_pb_msg_has(m, om));
  v = sval("again", 5);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, os, &v), CGRPC_OK); /* frees the message */
  ck_assert_int_eq(cgrpc_pb_msg_clear(m, os), CGRPC_OK);
  ck_assert(!cgrpc_pb_msg_has(m, os) && !cgrpc_pb_msg_has(m, om));
  v = ival(5);
  ck_assert_int_eq(cgrpc_pb_msg_append(m, fld(t, "ri"), &v), CGRPC_OK);
  ck_assert_int_eq(cgrpc_pb_msg_clear(m, fld(t, "ri")), CGRPC_OK);
  ck_assert_uint_eq(cgrpc_pb_msg_count(m, fld(t, "ri")), 0);
  ck_assert_int_eq(cgrpc_pb_msg_mutable(m, fld(t, "child"), &sub), CGRPC_OK);
  ck_assert_int_eq(cgrpc_pb_msg_clear(m, fld(t, "child")), CGRPC_OK);
  ck_assert(!cgrpc_pb_msg_has(m, fld(t, "child")));
  uint8_t *buf;
  size_t len;
  ck_assert_int_eq(cgrpc_pb_msg_encode(m, &buf, &len), CGRPC_OK);
  ck_assert_uint_eq(len, 0);
  ck_assert_ptr_nonnull(buf);
  cgrpc_free(buf);
  cgrpc_pb_msg_destroy(m);
  cgrpc_pb_pool_destroy(p);
}
END_TEST

START_TEST(pb_type_errors) {
  cgrpc_pb_pool *p = load_ok();
  const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(p, "t.M");
  const cgrpc_pb_type *r = cgrpc_pb_pool_find_type(p, "p2.R");
  cgrpc_pb_msg *m, *mr;
  ck_assert_int_eq(cgrpc_pb_msg_create(&m, t), CGRPC_OK);
  ck_assert_int_eq(cgrpc_pb_msg_create(&mr, r), CGRPC_OK);
  cgrpc_pb_value v = ival((int64_t)INT32_MAX + 1);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "i32"), &v), CGRPC_E_TYPE);
  ck_assert_ptr_nonnull(strstr(cgrpc_last_error(), "t.M.i32"));
  v = ival(-1);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "u64"), &v), CGRPC_E_TYPE);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "bo"), &v), CGRPC_E_TYPE);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "s"), &v), CGRPC_E_TYPE);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "child"), &v), CGRPC_E_TYPE);
  v = sval("\xc3\x28", 2);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "s"), &v), CGRPC_E_TYPE);
  ck_assert_ptr_nonnull(strstr(cgrpc_last_error(), "UTF-8"));
  ck_assert_int_eq(cgrpc_pb_msg_set(mr, fld(r, "ds"), &v), CGRPC_OK); /* proto2 */
  v.kind = CGRPC_PB_ENUM;
  v.v.i32 = 3;
  ck_assert_int_eq(cgrpc_pb_msg_set(mr, fld(r, "l"), &v), CGRPC_E_TYPE); /* closed */
  ck_assert_ptr_nonnull(strstr(cgrpc_last_error(), "p2.R.l"));
  v.v.i32 = 2;
  ck_assert_int_eq(cgrpc_pb_msg_set(mr, fld(r, "l"), &v), CGRPC_OK);
  v = ival(1);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(t, "ri"), &v), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_pb_msg_append(m, fld(t, "i32"), &v), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(r, "id"), &v), CGRPC_E_INVALID_ARG);
  cgrpc_pb_value g;
  ck_assert_int_eq(cgrpc_pb_msg_get(m, fld(t, "i32"), 1, &g), CGRPC_E_INVALID_ARG);
  cgrpc_pb_msg *sub;
  ck_assert_int_eq(cgrpc_pb_msg_mutable(m, fld(t, "kids"), &sub), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_pb_msg_add_message(m, fld(t, "child"), &sub), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_pb_msg_create(NULL, t), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_pb_msg_decode(&sub, NULL, "", 0), CGRPC_E_INVALID_ARG);
  cgrpc_pb_msg_destroy(m);
  cgrpc_pb_msg_destroy(mr);
  cgrpc_pb_pool_destroy(p);
}
END_TEST

START_TEST(pb_proto2_defaults_required) {
  cgrpc_pb_pool *p = load_ok();
  const cgrpc_pb_type *r = cgrpc_pb_pool_find_type(p, "p2.R");
  cgrpc_pb_msg *m;
  ck_assert_int_eq(cgrpc_pb_msg_create(&m, r), CGRPC_OK);
  cgrpc_pb_value g;
  ck_assert_int_eq(cgrpc_pb_msg_get(m, fld(r, "dflt"), 0, &g), CGRPC_OK);
  ck_assert_int_eq(g.v.i32, -5);
  ck_assert_int_eq(cgrpc_pb_msg_get(m, fld(r, "l"), 0, &g), CGRPC_OK);
  ck_assert_int_eq(g.v.i32, 1); /* first value of the enum */
  ck_assert_int_eq(cgrpc_pb_msg_get(m, fld(r, "l2"), 0, &g), CGRPC_OK);
  ck_assert_int_eq(g.v.i32, 2);
  ck_assert_int_eq(cgrpc_pb_msg_get(m, fld(r, "ds"), 0, &g), CGRPC_OK);
  ck_assert(g.v.s.len == 2 && memcmp(g.v.s.data, "hi", 2) == 0);
  ck_assert_int_eq(cgrpc_pb_msg_get(m, fld(r, "db"), 0, &g), CGRPC_OK);
  ck_assert(g.v.s.len == 3 && memcmp(g.v.s.data, "a\001\x7f", 3) == 0);
  ck_assert_int_eq(cgrpc_pb_msg_get(m, fld(r, "df"), 0, &g), CGRPC_OK);
  ck_assert(isinf(g.v.f) && g.v.f < 0);
  ck_assert_int_eq(cgrpc_pb_msg_get(m, fld(r, "dbool"), 0, &g), CGRPC_OK);
  ck_assert_int_eq(g.v.b, 1);
  ck_assert_int_eq(cgrpc_pb_msg_has(m, fld(r, "dflt")), 0);
  uint8_t *buf;
  size_t len;
  ck_assert_int_eq(cgrpc_pb_msg_encode(m, &buf, &len), CGRPC_E_PARSE);
  ck_assert_ptr_nonnull(strstr(cgrpc_last_error(), "p2.R.id"));
  cgrpc_pb_value v = ival(3);
  ck_assert_int_eq(cgrpc_pb_msg_set(m, fld(r, "id"), &v), CGRPC_OK);
  cgrpc_pb_msg *sub;
  ck_assert_int_eq(cgrpc_pb_msg_mutable(m, fld(r, "sub"), &sub), CGRPC_OK);
  ck_assert_int_eq(cgrpc_pb_msg_encode(m, &buf, &len), CGRPC_E_PARSE); /* sub.id */
  ck_assert_int_eq(cgrpc_pb_msg_set(sub, fld(r, "id"), &v), CGRPC_OK);
  ck_assert_int_eq(cgrpc_pb_msg_encode(m, &buf, &len), CGRPC_OK);
  cgrpc_pb_msg *d;
  ck_assert_int_eq(cgrpc_pb_msg_decode(&d, r, buf, len), CGRPC_OK);
  cgrpc_pb_msg_destroy(d);
  /* sub without its required id */
  static const uint8_t missing[] = {0x08, 0x01, 0x4a, 0x00};
  ck_assert_int_eq(cgrpc_pb_msg_decode(&d, r, missing, sizeof(missing)), CGRPC_E_PARSE);
  ck_assert_ptr_null(d);
  ck_assert_ptr_nonnull(strstr(cgrpc_last_error(), "p2.R.id"));
  cgrpc_free(buf);
  cgrpc_pb_msg_destroy(m);
  cgrpc_pb_pool_destroy(p);
}
END_TEST

static int decode_err(const cgrpc_pb_type *t, const void *data, size_t len,
                      const char *needle) {
  cgrpc_pb_msg *m = (cgrpc_pb_msg *)1;
  int rc = cgrpc_pb_msg_decode(&m, t, data, len);
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(cgrpc_last_error(), needle) != NULL, "'%s' lacks '%s'",
                cgrpc_last_error(), needle);
  return rc;
}

START_TEST(pb_bad_input) {
  cgrpc_pb_pool *p = load_ok();
  const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(p, "t.M");
  static const uint8_t trunc_varint[] = {0x08, 0xff, 0xff};
  ck_assert_int_eq(decode_err(t, trunc_varint, 3, "t.M.i32: truncated varint at offset 1"), CGRPC_E_PARSE);
  static const uint8_t long_len[] = {0x22, 0x05, 'a'};
  ck_assert_int_eq(decode_err(t, long_len, 3, "t.M.s: length past the end"), CGRPC_E_PARSE);
  static const uint8_t huge_len[] = {0x22, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'};
  ck_assert_int_eq(decode_err(t, huge_len, sizeof(huge_len), "offset 1"), CGRPC_E_PARSE);
  static const uint8_t bad_utf8[] = {0x22, 0x01, 0x80};
  ck_assert_int_eq(decode_err(t, bad_utf8, 3, "t.M.s: invalid UTF-8 at offset 2"), CGRPC_E_PARSE);
  static const uint8_t group[] = {0x0b, 0x0c};
  ck_assert_int_eq(decode_err(t, group, 2, "groups are not supported"), CGRPC_E_PARSE);
  /* a known field of the wrong wire type is kept as unknown and written
   * back; the field itself stays unset */
  static const uint8_t wrong_wt[] = {0x0d, 1, 2, 3, 4};
  cgrpc_pb_msg *wm = NULL;
  ck_rc(cgrpc_pb_msg_decode(&wm, t, wrong_wt, sizeof(wrong_wt)));
  ck_assert(!cgrpc_pb_msg_has(wm, cgrpc_pb_type_find_field(t, "i32")));
  uint8_t *wout;
  size_t wlen;
  ck_rc(cgrpc_pb_msg_encode(wm, &wout, &wlen));
  ck_assert_uint_eq(wlen, sizeof(wrong_wt));
  ck_assert(memcmp(wout, wrong_wt, wlen) == 0);
  cgrpc_free(wout);
  cgrpc_pb_msg_destroy(wm);
  /* proto3 implicit fields sent as zero/empty are absent, and encode
   * writes nothing for them (as protobuf does) */
  static const uint8_t zeros[] = {0x08, 0x00, 0x22, 0x00};
  ck_rc(cgrpc_pb_msg_decode(&wm, t, zeros, sizeof(zeros)));
  ck_assert(!cgrpc_pb_msg_has(wm, cgrpc_pb_type_find_field(t, "i32")));
  ck_assert(!cgrpc_pb_msg_has(wm, cgrpc_pb_type_find_field(t, "s")));
  ck_rc(cgrpc_pb_msg_encode(wm, &wout, &wlen));
  ck_assert_uint_eq(wlen, 0);
  cgrpc_free(wout);
  cgrpc_pb_msg_destroy(wm);
  static const uint8_t trunc_tag[] = {0x80};
  ck_assert_int_eq(decode_err(t, trunc_tag, 1, "tag at offset 0"), CGRPC_E_PARSE);
  /* nesting: child.child... exactly CGRPC_PB_MAX_DEPTH levels pass */
  for (int depth = CGRPC_PB_MAX_DEPTH; depth <= CGRPC_PB_MAX_DEPTH + 1; depth++) {
    uint8_t buf[1024];
    size_t n = 0, inner = 0;
    /* built from the inside out: each level is tag 0x3a + 1-2 byte length */
    uint8_t tmp[1024];
    for (int i = 0; i < depth; i++) {
      size_t k = 0;
      tmp[k++] = 0x3a;
      if (inner < 128) {
        tmp[k++] = (uint8_t)inner;
      } else {
        tmp[k++] = (uint8_t)(0x80 | (inner & 0x7f));
        tmp[k++] = (uint8_t)(inner >> 7);
      }
      memmove(buf + k, buf, inner);
      memcpy(buf, tmp, k);
      inner += k;
    }
    n = inner;
    cgrpc_pb_msg *m = NULL;
    int rc = cgrpc_pb_msg_decode(&m, t, buf, n);
    if (depth == CGRPC_PB_MAX_DEPTH) {
      ck_assert_msg(rc == CGRPC_OK, "%s", cgrpc_last_error());
      uint8_t *out;
      size_t olen;
      ck_assert_int_eq(cgrpc_pb_msg_encode(m, &out, &olen), CGRPC_OK);
      ck_assert(olen == n && memcmp(out, buf, n) == 0);
      /* one level more, built by hand, cannot be encoded either */
      cgrpc_pb_msg *cur = m, *sub;
      for (int i = 0; i <= depth; i++) {
        ck_assert_int_eq(cgrpc_pb_msg_mutable(cur, fld(t, "child"), &sub), CGRPC_OK);
        cur = sub;
      }
      cgrpc_free(out);
      ck_assert_int_eq(cgrpc_pb_msg_encode(m, &out, &olen), CGRPC_E_PARSE);
      cgrpc_pb_msg_destroy(m);
    } else {
      ck_assert_int_eq(rc, CGRPC_E_PARSE);
      ck_assert_ptr_nonnull(strstr(cgrpc_last_error(), "t.M.child: nesting"));
    }
  }
  cgrpc_pb_pool_destroy(p);
}
END_TEST

START_TEST(pb_unknown_and_merge) {
  cgrpc_pb_pool *p = load_ok();
  const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(p, "t.M");
  /* unknown 100 (varint), 101 (LEN); child twice: merged, oneof in neither */
  static const uint8_t in[] = {0xa0, 0x06, 0x05, 0xaa, 0x06, 0x02, 'h', 'i',
                               0x3a, 0x02, 0x08, 0x07, 0x3a, 0x02, 0x10, 0x09};
  cgrpc_pb_msg *m;
  ck_assert_msg(cgrpc_pb_msg_decode(&m, t, in, sizeof(in)) == CGRPC_OK, "%s", cgrpc_last_error());
  cgrpc_pb_value g, g2;
  ck_assert_int_eq(cgrpc_pb_msg_get(m, fld(t, "child"), 0, &g), CGRPC_OK);
  ck_assert_int_eq(cgrpc_pb_msg_get(g.v.msg, fld(t, "i32"), 0, &g2), CGRPC_OK);
  ck_assert_int_eq(g2.v.i32, 7);
  ck_assert_int_eq(cgrpc_pb_msg_get(g.v.msg, fld(t, "i64"), 0, &g2), CGRPC_OK);
  ck_assert(g2.v.i64 == 9);
  uint8_t *out;
  size_t len;
  ck_assert_int_eq(cgrpc_pb_msg_encode(m, &out, &len), CGRPC_OK);
  static const uint8_t want[] = {0x3a, 0x04, 0x08, 0x07, 0x10, 0x09,
                                 0xa0, 0x06, 0x05, 0xaa, 0x06, 0x02, 'h', 'i'};
  ck_assert_uint_eq(len, sizeof(want));
  ck_assert(memcmp(out, want, len) == 0);
  cgrpc_free(out);
  cgrpc_pb_msg_destroy(m);
  cgrpc_pb_pool_destroy(p);
}
END_TEST

static void bad_set(const wbuf *set, const char *needle) {
  cgrpc_pb_pool *p = (cgrpc_pb_pool *)1;
  ck_assert_int_eq(cgrpc_pb_pool_load(&p, set->b, set->n), CGRPC_E_PARSE);
  ck_assert_ptr_null(p);
  ck_assert_msg(strstr(cgrpc_last_error(), needle) != NULL, "'%s' lacks '%s'",
                cgrpc_last_error(), needle);
}

START_TEST(pb_bad_sets) {
  wbuf set = {.n = 0};
  w_t_file(&set, 1); /* depends on p2.proto, which is missing */
  bad_set(&set, "dependency p2.proto");
  set.n = 0;
  w_p2_file(&set, 0);
  w_p2_file(&set, 0);
  bad_set(&set, "p2.proto: file appears twice");
  set.n = 0;
  w_t_file(&set, 0); /* t.M.e refers to .t.E: fine; now break a type name */
  wbuf f = {.n = 0}, m = {.n = 0};
  w_str(&f, 1, "u.proto");
  w_str(&m, 1, "U");
  w_field(&m, "x", 1, OPT, T_MSG, ".t.Nope", NULL, -1, 0);
  w_sub(&f, 4, &m);
  w_sub(&set, 1, &f);
  bad_set(&set, "U.x: unresolved type name");
  set.n = 0;
  w_p2_file(&set, 1);
  bad_set(&set, "p2.R.grp: groups are not supported");
  set.n = 0;
  f.n = 0;
  m.n = 0;
  w_str(&f, 1, "d.proto");
  w_str(&m, 1, "D");
  w_field(&m, "a", 1, OPT, T_INT32, NULL, NULL, -1, 0);
  w_field(&m, "b", 1, OPT, T_INT32, NULL, NULL, -1, 0);
  w_sub(&f, 4, &m);
  w_sub(&set, 1, &f);
  bad_set(&set, "D: field number 1 used twice");
  set.n = 0;
  f.n = 0;
  m.n = 0;
  w_str(&f, 1, "d.proto");
  w_str(&m, 1, "D");
  w_field(&m, "a", 1, OPT, T_INT32, NULL, "12x", -1, 0);
  w_sub(&f, 4, &m);
  w_sub(&set, 1, &f);
  bad_set(&set, "D.a: invalid default value");
  set.n = 0;
  f.n = 0;
  m.n = 0;
  w_str(&f, 1, "pk.proto");
  w_str(&f, 2, ".lead.dot"); /* found by fuzz_pb_pool: names must round-trip */
  w_str(&m, 1, "P");
  w_sub(&f, 4, &m);
  w_sub(&set, 1, &f);
  bad_set(&set, "invalid package name");
  static const uint8_t garbage[] = {0x0a, 0x10, 0x0a};
  cgrpc_pb_pool *p;
  ck_assert_int_eq(cgrpc_pb_pool_load(&p, garbage, sizeof(garbage)), CGRPC_E_PARSE);
  ck_assert_ptr_nonnull(strstr(cgrpc_last_error(), "offset"));
  ck_assert_int_eq(cgrpc_pb_pool_load(NULL, garbage, 1), CGRPC_E_INVALID_ARG);
  ck_assert_int_eq(cgrpc_pb_pool_load(&p, "", 0), CGRPC_OK); /* empty set */
  ck_assert_uint_eq(cgrpc_pb_pool_service_count(p), 0);
  cgrpc_pb_pool_destroy(p);
}
END_TEST

/* One pool, several threads decoding and encoding at once (for TSan). */
typedef struct shared {
  const cgrpc_pb_type *t;
  const uint8_t *bytes;
  size_t len;
  int iters, ok;
} shared;

static void *pb_worker(void *arg) {
  shared *s = arg;
  for (int i = 0; i < s->iters; i++) {
    cgrpc_pb_msg *m;
    if (cgrpc_pb_msg_decode(&m, s->t, s->bytes, s->len) != CGRPC_OK) return NULL;
    const cgrpc_pb_field *f = cgrpc_pb_type_find_field(s->t, "i64");
    cgrpc_pb_value v = {.kind = CGRPC_PB_INT64};
    v.v.i64 = i;
    cgrpc_pb_msg_set(m, f, &v);
    uint8_t *out;
    size_t len;
    if (cgrpc_pb_msg_encode(m, &out, &len) != CGRPC_OK) return NULL;
    cgrpc_pb_msg *back;
    int rc = cgrpc_pb_msg_decode(&back, s->t, out, len);
    cgrpc_free(out);
    cgrpc_pb_msg_destroy(m);
    if (rc != CGRPC_OK) return NULL;
    cgrpc_pb_value g;
    rc = cgrpc_pb_msg_get(back, f, 0, &g);
    cgrpc_pb_msg_destroy(back);
    if (rc != CGRPC_OK || g.v.i64 != i) return NULL;
  }
  return s;
}

START_TEST(pb_threads_share_pool) {
  cgrpc_pb_pool *p = load_ok();
  const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(p, "t.M");
  static const uint8_t in[] = {0x08, 0x05, 0x22, 0x02, 'h', 'i', 0x32, 0x03, 1, 2, 3,
                               0x3a, 0x02, 0x08, 0x07, 0x52, 0x01, 'x', 0x4a, 0x05,
                               0x0a, 0x01, 'k', 0x10, 0x01};
  enum { NT = 4 };
  pthread_t th[NT];
  shared s = {t, in, sizeof(in), 2000 / test_scale(), 0};
  for (int i = 0; i < NT; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, pb_worker, &s), 0);
  int good = 0;
  for (int i = 0; i < NT; i++) {
    void *r;
    pthread_join(th[i], &r);
    good += r != NULL;
  }
  ck_assert_int_eq(good, NT);
  cgrpc_pb_pool_destroy(p);
}
END_TEST

Suite *pb_suite(void) {
  Suite *s = suite_create("pb");
  TCase *tc = tcase_create("pb");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, pb_pool_queries);
  tcase_add_test(tc, pb_roundtrip_values);
  tcase_add_test(tc, pb_oneof_and_clear);
  tcase_add_test(tc, pb_type_errors);
  tcase_add_test(tc, pb_proto2_defaults_required);
  tcase_add_test(tc, pb_bad_input);
  tcase_add_test(tc, pb_unknown_and_merge);
  tcase_add_test(tc, pb_bad_sets);
  tcase_add_test(tc, pb_threads_share_pool);
  suite_add_tcase(s, tc);
  return s;
}
