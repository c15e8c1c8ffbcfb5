/* Wire format in and out: our bounded check and filler (decode.c) in,
 * protobuf-c's pack out. */
#include <stdlib.h>
#include <string.h>

#include "pb_internal.h"

int cgrpc_pb_msg_decode(cgrpc_pb_msg **out, const cgrpc_pb_type *t,
                        const void *data, size_t len) {
  if (out == NULL || t == NULL || (data == NULL && len > 0)) {
    cg_set_last_error("cgrpc_pb_msg_decode: NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  *out = NULL;
  if (len > INT32_MAX) { /* protobuf-c sizes members in 32 bits */
    cg_set_last_error("%s: message of %zu bytes is too large", t->full_name, len);
    return CGRPC_E_PARSE;
  }
  static const uint8_t empty[1];
  const uint8_t *bytes = len ? data : empty;
  int rc = cg_pb_wire_check(&t->d, 1, bytes, len);
  if (rc != 0) return rc;
  ProtobufCMessage *m = cg_pb_msg_new(t);
  if (m == NULL) {
    cg_set_last_error("out of memory");
    return CGRPC_E_NOMEM;
  }
  rc = cg_pb_decode_into(m, bytes, len, 0);
#ifdef CG_PB_FUZZING
  if (rc == CGRPC_E_PARSE) abort(); /* the wire check must catch it all */
#endif
  if (rc == 0) rc = cg_pb_check_tree(m, 0); /* required, after merging */
  if (rc != 0) {
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
  }
  *out = (cgrpc_pb_msg *)(void *)m;
  return CGRPC_OK;
}

/* Required fields and depth of a message we are about to pack (users can
 * build trees deeper than decode accepts). */
int cg_pb_check_tree(const ProtobufCMessage *m, unsigned depth) {
  const cgrpc_pb_type *t = CG_PB_TYPE_OF(m);
  if (depth > CGRPC_PB_MAX_DEPTH) {
    cg_set_last_error("%s: nesting deeper than CGRPC_PB_MAX_DEPTH", t->full_name);
    return CGRPC_E_PARSE;
  }
  for (size_t i = 0; i < t->n_fields; i++) {
    const cgrpc_pb_field *f = &t->fields[i];
    const void *slot = (const char *)m + f->offset;
    if (f->required) {
      int set = f->kind == CGRPC_PB_MESSAGE
                    ? *(void *const *)slot != NULL
                    : *(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset);
      if (!set) {
        cg_set_last_error("%s.%s: required field not set", t->full_name, f->name);
        return CGRPC_E_PARSE;
      }
    }
    if (f->kind != CGRPC_PB_MESSAGE) continue;
    if (f->repeated) {
      size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
      ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)slot;
      for (size_t k = 0; k < n; k++) {
        int rc = cg_pb_check_tree(arr[k], depth + 1);
        if (rc != 0) return rc;
      }
    } else {
      if (f->in_oneof &&
          *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->number)
        continue;
      const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
      if (sub != NULL) {
        int rc = cg_pb_check_tree(sub, depth + 1);
        if (rc != 0) return rc;
      }
    }
  }
  return 0;
}

int cgrpc_pb_msg_encode(const cgrpc_pb_msg *msg, uint8_t **data, size_t *len) {
  if (msg == NULL || data == NULL || len == NULL) {
    cg_set_last_error("cgrpc_pb_msg_encode: NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  *data = NULL;
  *len = 0;
  const ProtobufCMessage *m = CG_PB_CMSG(msg);
  int rc = cg_pb_check_tree(m, 0);
  if (rc != 0) return rc;
  size_t n = protobuf_c_message_get_packed_size(m);
  if (n > INT32_MAX) {
    cg_set_last_error("%s: encoded message would be %zu bytes (over 2 GiB)",
                      CG_PB_TYPE_OF(m)->full_name, n);
    return CGRPC_E_TOO_LARGE;
  }
  uint8_t *buf = malloc(n ? n : 1);
  if (buf == NULL) {
    cg_set_last_error("out of memory");
    return CGRPC_E_NOMEM;
  }
  size_t w = protobuf_c_message_pack(m, buf);
  if (w != n) { /* cannot happen: same walk twice */
    free(buf);
    cg_set_last_error("%s: internal size mismatch", CG_PB_TYPE_OF(m)->full_name);
    return CGRPC_E_PARSE;
  }
  *data = buf;
  *len = n;
  return CGRPC_OK;
}
