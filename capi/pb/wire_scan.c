/* A bounded, non-recursive walk over wire bytes, run before protobuf-c's
 * unpack.  protobuf-c 1.4.1 recurses without a depth limit, trusts
 * length prefixes in 32-bit arithmetic and gives no error text, so we
 * check here everything it could trip on (and name the field and offset):
 * tags, varint and length bounds, wire types of known fields, packed
 * payloads, groups, nesting depth, and for pool types also proto3 UTF-8.
 * (Required fields are checked on the decoded tree: occurrences merge.) */
#include <stdlib.h>
#include <string.h>

#include "pb_internal.h"

int cg_pb_utf8_valid(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (n - i - 1 < need) return 0;
    for (size_t k = 1; k <= need; k++) {
      uint8_t cc = p[i + k];
      if ((cc & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (cc & 0x3F);
    }
    /* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
    if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
    i += need + 1;
  }
  return 1;
}

/* Reads a varint of at most max bytes from p[0..avail).  Returns its
 * length, or 0 when it does not end in time. */
size_t cg_pb_varint(const uint8_t *p, size_t avail, size_t max, uint64_t *v) {
  uint64_t x = 0;
  size_t lim = avail < max ? avail : max;
  for (size_t i = 0; i < lim; i++) {
    x |= (uint64_t)(p[i] & 0x7F) << (7 * i);
    if ((p[i] & 0x80) == 0) {
      *v = x;
      return i + 1;
    }
  }
  return 0;
}

static int expected_wire_type(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 1;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT: return 5;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE: return 2;
    default: return 0;
  }
}

typedef struct frame {
  const ProtobufCMessageDescriptor *d;
  size_t end;
} frame;

static int fail_at(const ProtobufCMessageDescriptor *d,
                   const ProtobufCFieldDescriptor *fd, const char *what,
                   size_t off) {
  if (fd != NULL)
    cg_set_last_error("%s.%s: %s at offset %zu", d->name, fd->name, what, off);
  else
    cg_set_last_error("%s: %s at offset %zu", d->name, what, off);
  return CGRPC_E_PARSE;
}

/* A packed payload must hold whole elements the way protobuf-c reads them. */
static int check_packed(const ProtobufCFieldDescriptor *fd, const uint8_t *p,
                        size_t n) {
  switch (expected_wire_type(fd->type)) {
    case 1: return n % 8 == 0;
    case 5: return n % 4 == 0;
    default: break;
  }
  size_t i = 0;
  while (i < n) {
    uint64_t v;
    size_t k = cg_pb_varint(p + i, n - i, 10, &v);
    if (k == 0) return 0;
    i += k;
  }
  return 1;
}

static int walk(const uint8_t *data, int pool_types,
                const ProtobufCMessageDescriptor *root, size_t len) {
  frame stack[CGRPC_PB_MAX_DEPTH + 1];
  size_t depth = 0, pos = 0;
  stack[0].d = root;
  stack[0].end = len;
  for (;;) {
    frame *fr = &stack[depth];
    const ProtobufCMessageDescriptor *d = fr->d;
    if (pos == fr->end) {
      if (depth == 0) return 0;
      depth--;
      continue;
    }
    size_t at = pos;
    uint64_t key;
    /* protobuf-c reads at most 5 tag bytes */
    size_t k = cg_pb_varint(data + pos, fr->end - pos, 5, &key);
    if (k == 0) return fail_at(d, NULL, "truncated or overlong tag", at);
    uint64_t num = key >> 3;
    int wt = (int)(key & 7);
    if (num == 0 || num > 536870911)
      return fail_at(d, NULL, "invalid field number", at);
    pos += k;
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(d, (unsigned)num);
    size_t vstart = pos, vlen = 0; /* payload of a LEN value */
    uint64_t v;
    switch (wt) {
      case 0:
        k = cg_pb_varint(data + pos, fr->end - pos, 10, &v);
        if (k == 0) return fail_at(d, fd, "truncated varint", pos);
        pos += k;
        break;
      case 1:
        if (fr->end - pos < 8) return fail_at(d, fd, "truncated fixed64", pos);
        pos += 8;
        break;
      case 5:
        if (fr->end - pos < 4) return fail_at(d, fd, "truncated fixed32", pos);
        pos += 4;
        break;
      case 2:
        /* protobuf-c reads at most 5 length bytes, in 32-bit arithmetic */
        k = cg_pb_varint(data + pos, fr->end - pos, 5, &v);
        if (k == 0) return fail_at(d, fd, "bad length prefix", pos);
        if (v > fr->end - pos - k)
          return fail_at(d, fd, "length past the end of the buffer", pos);
        vstart = pos + k;
        vlen = (size_t)v;
        pos = vstart + vlen;
        break;
      case 3:
      case 4:
        return fail_at(d, fd, "groups are not supported", at);
      default:
        return fail_at(d, fd, "invalid wire type", at);
    }
    if (fd == NULL) continue; /* unknown field: protobuf-c keeps the bytes */

    int want = expected_wire_type(fd->type);
    int packed_ok = fd->label == PROTOBUF_C_LABEL_REPEATED && want != 2;
    if (wt == 2 && packed_ok) {
      if (!check_packed(fd, data + vstart, vlen))
        return fail_at(d, fd, "malformed packed field", vstart);
    } else if (wt != want) {
      continue; /* kept as an unknown field, as protobuf's parsers do */
    }
    if (pool_types) {
      const cgrpc_pb_type *t = (const cgrpc_pb_type *)d;
      const cgrpc_pb_field *f = t->by_pc_index[fd - d->fields];
      if (f->utf8 && !cg_pb_utf8_valid(data + vstart, vlen))
        return fail_at(d, fd, "invalid UTF-8", vstart);
    }
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
      if (depth + 1 > CGRPC_PB_MAX_DEPTH)
        return fail_at(d, fd, "nesting deeper than CGRPC_PB_MAX_DEPTH", at);
      depth++;
      stack[depth].d = fd->descriptor;
      stack[depth].end = vstart + vlen;
      pos = vstart;
    }
  }
}

int cg_pb_wire_check(const ProtobufCMessageDescriptor *desc, int pool_types,
                     const uint8_t *data, size_t len) {
  return walk(data, pool_types, desc, len);
}
