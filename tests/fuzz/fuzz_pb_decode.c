/* libFuzzer: decode arbitrary bytes as a type of the test schema
 * (tests/pb/proto, set in $CGRPC_PB_FUZZ_SET).  The first byte picks the
 * type.  When decode succeeds: read every field, encode, decode the
 * encoding and check that encoding it again gives the same bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrpc_pb.h"

static cgrpc_pb_pool *pool;
static const char *const type_names[] = {
    "pbtest.All", "pbtest.Scalars", "pbtest.legacy.Req", "pbtest.legacy.Defaults",
    "google.protobuf.Timestamp", "pbtest.All.MI32PointEntry"};
#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))
static const cgrpc_pb_type *types[N_TYPES];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *path = getenv("CGRPC_PB_FUZZ_SET");
  FILE *f = fopen(path ? path : "build/pb/set.pb", "rb");
  if (f == NULL) {
    fprintf(stderr, "fuzz_pb_decode: set CGRPC_PB_FUZZ_SET (make build/pb/set.pb)\n");
    abort();
  }
  static unsigned char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  if (cgrpc_pb_pool_load(&pool, buf, n) != CGRPC_OK) abort();
  for (size_t i = 0; i < N_TYPES; i++)
    if ((types[i] = cgrpc_pb_pool_find_type(pool, type_names[i])) == NULL) abort();
  return 0;
}

/* Touches every value (ASan checks the reads); depth-limited by decode. */
static void walk(const cgrpc_pb_msg *m) {
  const cgrpc_pb_type *t = cgrpc_pb_msg_type(m);
  for (size_t i = 0; i < cgrpc_pb_type_field_count(t); i++) {
    const cgrpc_pb_field *f = cgrpc_pb_type_field(t, i);
    size_t n = cgrpc_pb_field_is_repeated(f) ? cgrpc_pb_msg_count(m, f) : 1;
    (void)cgrpc_pb_msg_has(m, f);
    for (size_t k = 0; k < n; k++) {
      cgrpc_pb_value v;
      if (cgrpc_pb_msg_get(m, f, k, &v) != CGRPC_OK) abort();
      if (v.kind != cgrpc_pb_field_kind(f)) abort();
      if (v.kind == CGRPC_PB_MESSAGE && v.v.msg != NULL) walk(v.v.msg);
      if (v.kind == CGRPC_PB_STRING || v.kind == CGRPC_PB_BYTES) {
        volatile char sink = 0;
        for (size_t j = 0; j < v.v.s.len; j++) sink ^= v.v.s.data[j];
        (void)sink;
      }
      if (v.kind == CGRPC_PB_ENUM) (void)cgrpc_pb_enum_name(f, v.v.i32);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const cgrpc_pb_type *t = types[data[0] % N_TYPES];
  cgrpc_pb_msg *m = NULL;
  int rc = cgrpc_pb_msg_decode(&m, t, data + 1, size - 1);
  if (rc != CGRPC_OK) {
    if (rc != CGRPC_E_PARSE || m != NULL) abort();
    return 0;
  }
  walk(m);
  uint8_t *e1, *e2;
  size_t l1, l2;
  if (cgrpc_pb_msg_encode(m, &e1, &l1) != CGRPC_OK) abort();
  cgrpc_pb_msg *m2 = NULL;
  if (cgrpc_pb_msg_decode(&m2, t, e1, l1) != CGRPC_OK) abort();
  if (cgrpc_pb_msg_encode(m2, &e2, &l2) != CGRPC_OK) abort();
  if (l1 != l2 || memcmp(e1, e2, l1) != 0) abort();
  cgrpc_free(e1);
  cgrpc_free(e2);
  cgrpc_pb_msg_destroy(m2);
  cgrpc_pb_msg_destroy(m);
  return 0;
}
