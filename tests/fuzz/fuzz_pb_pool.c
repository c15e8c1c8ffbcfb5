/* libFuzzer: load arbitrary bytes as a FileDescriptorSet.  When it loads,
 * walk every service, method, type and field, and build, encode and
 * decode a message of every type with each field set (exercises the
 * run-time layout of fuzzed descriptors). */
#include <stdlib.h>
#include <string.h>

#include "cgrpc_pb.h"
#include "pb_internal.h" /* every type of the pool, not only reachable ones */

static void fill(cgrpc_pb_msg *m) {
  const cgrpc_pb_type *t = cgrpc_pb_msg_type(m);
  for (size_t i = 0; i < cgrpc_pb_type_field_count(t); i++) {
    const cgrpc_pb_field *f = cgrpc_pb_type_field(t, i);
    (void)cgrpc_pb_field_name(f), (void)cgrpc_pb_field_json_name(f);
    (void)cgrpc_pb_field_oneof(f), (void)cgrpc_pb_field_enum_type(f);
    (void)cgrpc_pb_field_has_presence(f), (void)cgrpc_pb_field_is_map(f);
    if (cgrpc_pb_type_find_field(t, cgrpc_pb_field_name(f)) != f) abort();
    cgrpc_pb_value v;
    memset(&v, 0, sizeof(v));
    v.kind = cgrpc_pb_field_kind(f);
    if (v.kind == CGRPC_PB_STRING || v.kind == CGRPC_PB_BYTES) {
      v.v.s.data = "x";
      v.v.s.len = 1;
    } else if (v.kind == CGRPC_PB_ENUM) {
      if (cgrpc_pb_enum_value(f, cgrpc_pb_enum_name(f, 0) ? cgrpc_pb_enum_name(f, 0) : "",
                              &v.v.i32) != CGRPC_OK)
        v.v.i32 = 0;
      const char *en = cgrpc_pb_field_enum_type(f);
      (void)en;
    } else if (v.kind == CGRPC_PB_BOOL) {
      v.v.b = 1;
    } else if (v.kind != CGRPC_PB_MESSAGE) {
      v.kind = CGRPC_PB_INT32;
      v.v.i32 = 1;
    }
    cgrpc_pb_msg *sub;
    if (cgrpc_pb_field_kind(f) == CGRPC_PB_MESSAGE) {
      if (cgrpc_pb_field_is_repeated(f))
        (void)cgrpc_pb_msg_add_message(m, f, &sub);
      else
        (void)cgrpc_pb_msg_mutable(m, f, &sub);
    } else if (cgrpc_pb_field_is_repeated(f)) {
      (void)cgrpc_pb_msg_append(m, f, &v);
      (void)cgrpc_pb_msg_append(m, f, &v);
    } else {
      (void)cgrpc_pb_msg_set(m, f, &v);
    }
    cgrpc_pb_value out;
    if (cgrpc_pb_msg_get(m, f, 0, &out) != CGRPC_OK && !cgrpc_pb_field_is_repeated(f)) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cgrpc_pb_pool *pool = NULL;
  if (cgrpc_pb_pool_load(&pool, data, size) != CGRPC_OK) {
    if (pool != NULL) abort();
    return 0;
  }
  for (size_t s = 0; s < cgrpc_pb_pool_service_count(pool); s++) {
    if (cgrpc_pb_pool_service_name(pool, s) == NULL) abort();
    for (size_t k = 0; k < cgrpc_pb_pool_method_count(pool, s); k++) {
      const cgrpc_pb_method *m = cgrpc_pb_pool_method(pool, s, k);
      if (cgrpc_pb_pool_find_method(pool, cgrpc_pb_method_path(m)) != m) abort();
      if (!cgrpc_pb_method_input(m) || !cgrpc_pb_method_output(m) || !cgrpc_pb_method_name(m))
        abort();
    }
  }
  for (size_t i = 0; i < pool->n_types; i++) {
    const cgrpc_pb_type *t = pool->types_by_name[i];
    if (cgrpc_pb_pool_find_type(pool, cgrpc_pb_type_name(t)) != t) abort();
    cgrpc_pb_msg *m;
    if (cgrpc_pb_msg_create(&m, t) != CGRPC_OK) abort();
    fill(m);
    uint8_t *buf;
    size_t len;
    int rc = cgrpc_pb_msg_encode(m, &buf, &len);
    if (rc == CGRPC_OK) {
      cgrpc_pb_msg *back;
      /* required fields are set by fill; nesting is 1 */
      if (cgrpc_pb_msg_decode(&back, t, buf, len) != CGRPC_OK) abort();
      uint8_t *buf2;
      size_t len2;
      if (cgrpc_pb_msg_encode(back, &buf2, &len2) != CGRPC_OK) abort();
      if (len2 != len || memcmp(buf, buf2, len) != 0) abort();
      cgrpc_free(buf2);
      cgrpc_pb_msg_destroy(back);
      cgrpc_free(buf);
    } else if (rc != CGRPC_E_PARSE) {
      abort();
    }
    cgrpc_pb_msg_destroy(m);
  }
  cgrpc_pb_pool_destroy(pool);
  return 0;
}
