/* Fills run-time protobuf-c structs from wire bytes.
 *
 * Why not protobuf_c_message_unpack: in protobuf-c 1.4.1 a sub-message
 * that occurs twice on the wire is merged by merge_messages(), which fails
 * the whole unpack when the sub-message has a oneof set in neither part
 * (int_range_lookup of case 0), and replaces instead of merging a oneof's
 * message member.  Decoding into the existing struct gives protobuf's
 * merge semantics directly.  Packing stays with protobuf-c.
 *
 * Input has passed cg_pb_wire_check (bounds, wire types, depth, UTF-8);
 * the bounds are still checked here so that a bug cannot read past. */
#include <stdlib.h>
#include <string.h>

#include "pb_internal.h"

static int nomem(void) {
  cg_set_last_error("out of memory");
  return CGRPC_E_NOMEM;
}

static int malformed(const cgrpc_pb_type *t) {
  cg_set_last_error("%s: malformed input", t->full_name);
  return CGRPC_E_PARSE;
}

static uint64_t le(const uint8_t *p, unsigned n) {
  uint64_t x = 0;
  for (unsigned i = n; i-- > 0;) x = (x << 8) | p[i];
  return x;
}

/* One scalar of f from its wire form (wt: 0 varint, 1 fixed64, 5 fixed32). */
static void scalar(const cgrpc_pb_field *f, uint64_t raw, void *dst) {
  uint32_t u32 = (uint32_t)raw;
  int32_t i32;
  int64_t i64;
  protobuf_c_boolean b;
  switch (f->proto_type) {
    case 17: /* sint32 */
      u32 = (u32 >> 1) ^ (0u - (u32 & 1));
      memcpy(dst, &u32, 4);
      return;
    case 18: /* sint64 */
      raw = (raw >> 1) ^ (0u - (raw & 1));
      memcpy(dst, &raw, 8);
      return;
    case 8:
      b = raw != 0;
      memcpy(dst, &b, sizeof(b));
      return;
    default: break;
  }
  if (f->elt_size == 8) {
    memcpy(&i64, &raw, 8);
    memcpy(dst, &i64, 8);
  } else {
    memcpy(&i32, &u32, 4); /* int32/enum varints: the low 32 bits */
    memcpy(dst, &i32, 4);
  }
}

static int wire_of(const cgrpc_pb_field *f) {
  switch (f->proto_type) {
    case 1: case 6: case 16: return 1;
    case 2: case 7: case 15: return 5;
    case 9: case 11: case 12: return 2;
    default: return 0;
  }
}

static int add_unknown(ProtobufCMessage *m, uint32_t num, int wt,
                       const uint8_t *v, size_t n) {
  size_t k = m->n_unknown_fields;
  if (k == 0 || (k >= 4 && (k & (k - 1)) == 0)) { /* capacity 4, 8, 16... */
    size_t cap = k == 0 ? 4 : 2 * k;
    if (cap > SIZE_MAX / sizeof(ProtobufCMessageUnknownField)) return nomem();
    void *na = realloc(m->unknown_fields, cap * sizeof(ProtobufCMessageUnknownField));
    if (na == NULL) return nomem();
    m->unknown_fields = na;
  }
  uint8_t *copy = malloc(n ? n : 1);
  if (copy == NULL) return nomem();
  memcpy(copy, v, n);
  ProtobufCMessageUnknownField *u = &m->unknown_fields[k];
  u->tag = num;
  u->wire_type = (ProtobufCWireType)wt;
  u->len = n; /* protobuf-c keeps the length prefix of LEN values */
  u->data = copy;
  m->n_unknown_fields = k + 1;
  return 0;
}

static int copy_bytes(ProtobufCBinaryData *bd, const uint8_t *p, size_t n) {
  bd->len = 0;
  bd->data = NULL;
  if (n == 0) return 0;
  if ((bd->data = malloc(n)) == NULL) return nomem();
  memcpy(bd->data, p, n);
  bd->len = n;
  return 0;
}

static int append_scalar(ProtobufCMessage *m, const cgrpc_pb_field *f, uint64_t raw) {
  void *slot = cg_pb_grow(m, f);
  if (slot == NULL) return nomem();
  scalar(f, raw, slot);
  (*(size_t *)CG_PB_AT(m, f->quantifier_offset))++;
  return 0;
}

static int packed(ProtobufCMessage *m, const cgrpc_pb_field *f,
                  const uint8_t *p, size_t n) {
  int wt = wire_of(f);
  size_t i = 0;
  while (i < n) {
    uint64_t raw;
    if (wt == 0) {
      size_t k = cg_pb_varint(p + i, n - i, 10, &raw);
      if (k == 0) return malformed(f->owner);
      i += k;
    } else {
      unsigned w = wt == 1 ? 8 : 4;
      if (n - i < w) return malformed(f->owner);
      raw = le(p + i, w);
      i += w;
    }
    int rc = append_scalar(m, f, raw);
    if (rc != 0) return rc;
  }
  return 0;
}

int cg_pb_decode_into(ProtobufCMessage *m, const uint8_t *p, size_t len,
                      unsigned depth) {
  const cgrpc_pb_type *t = CG_PB_TYPE_OF(m);
  if (depth > CGRPC_PB_MAX_DEPTH) return malformed(t);
  size_t pos = 0;
  while (pos < len) {
    uint64_t key, raw = 0;
    size_t k = cg_pb_varint(p + pos, len - pos, 5, &key);
    if (k == 0) return malformed(t);
    pos += k;
    uint32_t num = (uint32_t)(key >> 3);
    int wt = (int)(key & 7);
    const uint8_t *val = p + pos; /* value as stored for unknown fields */
    size_t vlen, plen = 0;
    const uint8_t *payload = NULL;
    switch (wt) {
      case 0:
        if ((vlen = cg_pb_varint(val, len - pos, 10, &raw)) == 0) return malformed(t);
        break;
      case 1:
      case 5:
        vlen = wt == 1 ? 8 : 4;
        if (len - pos < vlen) return malformed(t);
        raw = le(val, (unsigned)vlen);
        break;
      case 2: {
        uint64_t l;
        size_t h = cg_pb_varint(val, len - pos, 5, &l);
        if (h == 0 || l > len - pos - h) return malformed(t);
        payload = val + h;
        plen = (size_t)l;
        vlen = h + plen;
        break;
      }
      default: return malformed(t);
    }
    pos += vlen;
    const ProtobufCFieldDescriptor *fd =
        num > 0 && num <= 536870911 ? protobuf_c_message_descriptor_get_field(&t->d, num) : NULL;
    int rc;
    if (fd == NULL) {
      if ((rc = add_unknown(m, num, wt, val, vlen)) != 0) return rc;
      continue;
    }
    const cgrpc_pb_field *f = t->by_pc_index[fd - t->d.fields];
    int want = wire_of(f);
    if (f->repeated && want != 2 && wt == 2) {
      rc = packed(m, f, payload, plen);
    } else if (wt != want) {
      /* protobuf's parsers keep a known field of the wrong wire type as
       * an unknown field rather than failing the message */
      rc = add_unknown(m, num, wt, val, vlen);
    } else if (f->repeated) {
      void *slot = cg_pb_grow(m, f);
      if (slot == NULL) return nomem();
      if (f->kind == CGRPC_PB_MESSAGE) {
        ProtobufCMessage *sub = cg_pb_msg_new(f->msg_type);
        if (sub == NULL) return nomem();
        memcpy(slot, &sub, sizeof(sub));
        (*(size_t *)CG_PB_AT(m, f->quantifier_offset))++;
        rc = cg_pb_decode_into(sub, payload, plen, depth + 1);
      } else if (want == 2) {
        rc = copy_bytes(slot, payload, plen);
        if (rc == 0) (*(size_t *)CG_PB_AT(m, f->quantifier_offset))++;
      } else {
        scalar(f, raw, slot);
        (*(size_t *)CG_PB_AT(m, f->quantifier_offset))++;
        rc = 0;
      }
    } else {
      void *slot = CG_PB_AT(m, f->offset);
      if (f->in_oneof) cg_pb_oneof_select(m, f);
      if (f->kind == CGRPC_PB_MESSAGE) {
        ProtobufCMessage **pm = slot;
        /* a second occurrence merges into the first */
        if (*pm == NULL && (*pm = cg_pb_msg_new(f->msg_type)) == NULL) return nomem();
        rc = cg_pb_decode_into(*pm, payload, plen, depth + 1);
      } else {
        cg_pb_slot_release(f, slot);
        if (want == 2)
          rc = copy_bytes(slot, payload, plen);
        else
          scalar(f, raw, slot), rc = 0;
        /* an implicit (proto3) field that arrived as zero stays absent, so
         * that encode writes exactly what cgrpc_pb_msg_has reports */
        if (!f->in_oneof)
          *(protobuf_c_boolean *)CG_PB_AT(m, f->quantifier_offset) =
              f->implicit ? cg_pb_slot_nonzero(f, slot) : 1;
      }
    }
    if (rc != 0) return rc;
  }
  return 0;
}
