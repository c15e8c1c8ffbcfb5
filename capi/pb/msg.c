/* Message values: create, read, write, clear.  A message is a protobuf-c
 * ProtobufCMessage laid out by pool_layout.c; everything in it is malloc'd
 * the way protobuf-c's unpack allocates, so protobuf_c_message_free_unpacked
 * frees created and decoded messages alike. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pb_internal.h"

ProtobufCMessage *cg_pb_msg_new(const cgrpc_pb_type *t) {
  ProtobufCMessage *m = calloc(1, t->d.sizeof_message);
  if (m != NULL) m->descriptor = &t->d;
  return m;
}

static int nomem(void) {
  cg_set_last_error("out of memory");
  return CGRPC_E_NOMEM;
}

static int bad_field(const ProtobufCMessage *m, const cgrpc_pb_field *f,
                     const char *fn) {
  if (m == NULL || f == NULL) {
    cg_set_last_error("%s: NULL argument", fn);
    return 1;
  }
  if (f->owner != CG_PB_TYPE_OF(m)) {
    cg_set_last_error("%s: field %s.%s is not a field of %s", fn,
                      f->owner->full_name, f->name, CG_PB_TYPE_OF(m)->full_name);
    return 1;
  }
  return 0;
}

static const char *kind_name(cgrpc_pb_kind k) {
  static const char *const names[] = {"?",      "double", "float", "int64",
                                      "uint64", "int32",  "uint32", "bool",
                                      "string", "bytes",  "enum",  "message"};
  return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

void cg_pb_slot_release(const cgrpc_pb_field *f, void *slot) {
  if (f->kind == CGRPC_PB_STRING || f->kind == CGRPC_PB_BYTES) {
    ProtobufCBinaryData *bd = slot;
    free(bd->data);
    bd->data = NULL;
    bd->len = 0;
  } else if (f->kind == CGRPC_PB_MESSAGE) {
    ProtobufCMessage **pm = slot;
    protobuf_c_message_free_unpacked(*pm, NULL);
    *pm = NULL;
  }
}

static void read_slot(const cgrpc_pb_field *f, const void *p, cgrpc_pb_value *out) {
  out->kind = f->kind;
  switch (f->kind) {
    case CGRPC_PB_DOUBLE: memcpy(&out->v.d, p, 8); break;
    case CGRPC_PB_FLOAT: memcpy(&out->v.f, p, 4); break;
    case CGRPC_PB_INT64: memcpy(&out->v.i64, p, 8); break;
    case CGRPC_PB_UINT64: memcpy(&out->v.u64, p, 8); break;
    case CGRPC_PB_INT32:
    case CGRPC_PB_ENUM: memcpy(&out->v.i32, p, 4); break;
    case CGRPC_PB_UINT32: memcpy(&out->v.u32, p, 4); break;
    case CGRPC_PB_BOOL: {
      protobuf_c_boolean b;
      memcpy(&b, p, sizeof(b));
      out->v.b = b != 0;
      break;
    }
    case CGRPC_PB_STRING:
    case CGRPC_PB_BYTES: {
      const ProtobufCBinaryData *bd = p;
      out->v.s.data = bd->data ? (const char *)bd->data : "";
      out->v.s.len = bd->data ? bd->len : 0;
      break;
    }
    case CGRPC_PB_MESSAGE: {
      const ProtobufCMessage *sub;
      memcpy(&sub, p, sizeof(sub));
      out->v.msg = (const cgrpc_pb_msg *)(const void *)sub;
      break;
    }
  }
}

int cg_pb_slot_nonzero(const cgrpc_pb_field *f, const void *p) {
  if (f->kind == CGRPC_PB_STRING || f->kind == CGRPC_PB_BYTES)
    return ((const ProtobufCBinaryData *)p)->len > 0;
  /* bitwise: -0.0 is a value to write, as protobuf's C++ and upb do */
  const uint8_t *b = p;
  for (unsigned i = 0; i < f->elt_size; i++)
    if (b[i]) return 1;
  return 0;
}

static uint32_t *case_word(ProtobufCMessage *m, const cgrpc_pb_field *f) {
  return CG_PB_AT(m, f->quantifier_offset);
}

int cgrpc_pb_msg_create(cgrpc_pb_msg **out, const cgrpc_pb_type *t) {
  if (out == NULL || t == NULL) {
    cg_set_last_error("cgrpc_pb_msg_create: NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  ProtobufCMessage *m = cg_pb_msg_new(t);
  if (m == NULL) return nomem();
  *out = (cgrpc_pb_msg *)(void *)m;
  return CGRPC_OK;
}

void cgrpc_pb_msg_destroy(cgrpc_pb_msg *msg) {
  if (msg != NULL) protobuf_c_message_free_unpacked(CG_PB_MSG(msg), NULL);
}

const cgrpc_pb_type *cgrpc_pb_msg_type(const cgrpc_pb_msg *msg) {
  return msg ? CG_PB_TYPE_OF(CG_PB_CMSG(msg)) : NULL;
}

int cgrpc_pb_msg_has(const cgrpc_pb_msg *msg, const cgrpc_pb_field *f) {
  ProtobufCMessage *m = CG_PB_MSG(msg);
  if (bad_field(m, f, "cgrpc_pb_msg_has")) return 0;
  if (f->repeated) return *(size_t *)CG_PB_AT(m, f->quantifier_offset) > 0;
  if (f->in_oneof) return *case_word(m, f) == f->number;
  void *slot = CG_PB_AT(m, f->offset);
  if (f->kind == CGRPC_PB_MESSAGE) return *(void **)slot != NULL;
  if (f->implicit) return cg_pb_slot_nonzero(f, slot);
  return *(protobuf_c_boolean *)CG_PB_AT(m, f->quantifier_offset) != 0;
}

size_t cgrpc_pb_msg_count(const cgrpc_pb_msg *msg, const cgrpc_pb_field *f) {
  ProtobufCMessage *m = CG_PB_MSG(msg);
  if (bad_field(m, f, "cgrpc_pb_msg_count")) return 0;
  if (f->repeated) return *(size_t *)CG_PB_AT(m, f->quantifier_offset);
  return (size_t)cgrpc_pb_msg_has(msg, f);
}

int cgrpc_pb_msg_get(const cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                     size_t index, cgrpc_pb_value *out) {
  ProtobufCMessage *m = CG_PB_MSG(msg);
  if (out == NULL || bad_field(m, f, "cgrpc_pb_msg_get")) {
    if (out == NULL) cg_set_last_error("cgrpc_pb_msg_get: NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  if (f->repeated) {
    size_t n = *(size_t *)CG_PB_AT(m, f->quantifier_offset);
    if (index >= n) {
      cg_set_last_error("%s.%s: index %zu out of range (%zu elements)",
                        f->owner->full_name, f->name, index, n);
      return CGRPC_E_INVALID_ARG;
    }
    const char *arr = *(char **)CG_PB_AT(m, f->offset);
    read_slot(f, arr + index * f->elt_size, out);
    return CGRPC_OK;
  }
  if (index != 0) {
    cg_set_last_error("%s.%s: index must be 0 for a singular field",
                      f->owner->full_name, f->name);
    return CGRPC_E_INVALID_ARG;
  }
  void *slot = CG_PB_AT(m, f->offset);
  int set;
  if (f->in_oneof)
    set = *case_word(m, f) == f->number;
  else if (f->kind == CGRPC_PB_MESSAGE || f->implicit)
    set = 1; /* the slot itself holds the right value (NULL / zero) */
  else
    set = *(protobuf_c_boolean *)CG_PB_AT(m, f->quantifier_offset) != 0;
  if (set) {
    read_slot(f, slot, out);
  } else {
    *out = f->defval;
    if (f->kind == CGRPC_PB_MESSAGE) out->v.msg = NULL;
  }
  return CGRPC_OK;
}

/* ---- writing ---- */

/* A value converted to the field's representation. */
typedef struct conv {
  union {
    double d;
    float f;
    int64_t i64;
    uint64_t u64;
    int32_t i32;
    uint32_t u32;
    protobuf_c_boolean b;
  } n;
  const uint8_t *bytes;
  size_t len;
} conv;

static int type_error(const cgrpc_pb_field *f, const char *what) {
  cg_set_last_error("%s.%s: %s", f->owner->full_name, f->name, what);
  return CGRPC_E_TYPE;
}

/* Reads an integer-like value as sign + magnitude.  Returns 0 if v is not
 * an integer (integral doubles in range count). */
static int as_integer(const cgrpc_pb_value *v, int *neg, int64_t *s, uint64_t *u) {
  *neg = 0;
  switch (v->kind) {
    case CGRPC_PB_INT32:
    case CGRPC_PB_ENUM: *s = v->v.i32; break;
    case CGRPC_PB_INT64: *s = v->v.i64; break;
    case CGRPC_PB_UINT32: *u = v->v.u32; return 1;
    case CGRPC_PB_UINT64: *u = v->v.u64; return 1;
    case CGRPC_PB_DOUBLE:
    case CGRPC_PB_FLOAT: {
      double d = v->kind == CGRPC_PB_DOUBLE ? v->v.d : v->v.f;
      if (!(d == trunc(d))) return 0; /* also NaN, inf */
      if (d >= -9223372036854775808.0 && d < 0) {
        *s = (int64_t)d;
        break;
      }
      if (d >= 0 && d < 18446744073709551616.0) {
        *u = (uint64_t)d;
        return 1;
      }
      return 0;
    }
    default: return 0;
  }
  if (*s < 0) {
    *neg = 1;
  } else {
    *u = (uint64_t)*s;
  }
  return 1;
}

static int enum_declared(const cg_pb_enum *e, int32_t x) {
  for (size_t i = 0; i < e->n; i++)
    if (e->numbers[i] == x) return 1;
  return 0;
}

static int convert(const cgrpc_pb_field *f, const cgrpc_pb_value *v, conv *c) {
  char buf[96];
  memset(c, 0, sizeof(*c));
  if (f->kind == CGRPC_PB_MESSAGE)
    return type_error(f, "message field: use cgrpc_pb_msg_mutable or cgrpc_pb_msg_add_message");
  if (f->kind == CGRPC_PB_STRING || f->kind == CGRPC_PB_BYTES) {
    if (v->kind != CGRPC_PB_STRING && v->kind != CGRPC_PB_BYTES) {
      snprintf(buf, sizeof(buf), "expected %s, got %s", kind_name(f->kind),
               kind_name(v->kind));
      return type_error(f, buf);
    }
    if (v->v.s.data == NULL && v->v.s.len > 0) return type_error(f, "NULL data");
    if (f->utf8 && !cg_pb_utf8_valid((const uint8_t *)v->v.s.data, v->v.s.len))
      return type_error(f, "invalid UTF-8 in a proto3 string");
    c->bytes = (const uint8_t *)v->v.s.data;
    c->len = v->v.s.len;
    return 0;
  }
  if (f->kind == CGRPC_PB_BOOL) {
    if (v->kind != CGRPC_PB_BOOL) {
      snprintf(buf, sizeof(buf), "expected bool, got %s", kind_name(v->kind));
      return type_error(f, buf);
    }
    c->n.b = v->v.b != 0;
    return 0;
  }
  if (f->kind == CGRPC_PB_DOUBLE || f->kind == CGRPC_PB_FLOAT) {
    double d;
    int neg;
    int64_t s = 0;
    uint64_t u = 0;
    if (v->kind == CGRPC_PB_DOUBLE)
      d = v->v.d;
    else if (v->kind == CGRPC_PB_FLOAT)
      d = v->v.f;
    else if (v->kind != CGRPC_PB_BOOL && v->kind != CGRPC_PB_STRING &&
             v->kind != CGRPC_PB_BYTES && v->kind != CGRPC_PB_MESSAGE &&
             as_integer(v, &neg, &s, &u))
      d = neg ? (double)s : (double)u;
    else {
      snprintf(buf, sizeof(buf), "expected %s, got %s", kind_name(f->kind),
               kind_name(v->kind));
      return type_error(f, buf);
    }
    if (f->kind == CGRPC_PB_DOUBLE) {
      c->n.d = d;
    } else {
      if (isfinite(d) && (d > FLT_MAX || d < -FLT_MAX))
        return type_error(f, "value out of range for float");
      c->n.f = (float)d;
    }
    return 0;
  }
  /* integers and enums */
  int neg;
  int64_t s = 0;
  uint64_t u = 0;
  if (!as_integer(v, &neg, &s, &u)) {
    snprintf(buf, sizeof(buf), "expected %s, got %s%s", kind_name(f->kind),
             kind_name(v->kind),
             v->kind == CGRPC_PB_DOUBLE || v->kind == CGRPC_PB_FLOAT
                 ? " that is not an integer" : "");
    return type_error(f, buf);
  }
  int fits;
  switch (f->kind) {
    case CGRPC_PB_INT32:
    case CGRPC_PB_ENUM:
      fits = neg ? s >= INT32_MIN : u <= INT32_MAX;
      c->n.i32 = neg ? (int32_t)s : (int32_t)u;
      break;
    case CGRPC_PB_UINT32:
      fits = !neg && u <= UINT32_MAX;
      c->n.u32 = (uint32_t)u;
      break;
    case CGRPC_PB_INT64:
      fits = neg || u <= INT64_MAX;
      c->n.i64 = neg ? s : (int64_t)u;
      break;
    default: /* UINT64 */
      fits = !neg;
      c->n.u64 = u;
      break;
  }
  if (!fits) {
    if (neg)
      snprintf(buf, sizeof(buf), "value %lld out of range for %s", (long long)s,
               kind_name(f->kind));
    else
      snprintf(buf, sizeof(buf), "value %llu out of range for %s",
               (unsigned long long)u, kind_name(f->kind));
    return type_error(f, buf);
  }
  if (f->kind == CGRPC_PB_ENUM && f->enum_type->closed &&
      !enum_declared(f->enum_type, c->n.i32)) {
    snprintf(buf, sizeof(buf), "%d is not a value of closed enum %s",
             (int)c->n.i32, f->enum_type->full_name);
    return type_error(f, buf);
  }
  return 0;
}

/* Writes c into a slot (or array element); string/bytes are copied. */
static int store(const cgrpc_pb_field *f, void *p, const conv *c) {
  if (f->kind == CGRPC_PB_STRING || f->kind == CGRPC_PB_BYTES) {
    ProtobufCBinaryData bd = {0, NULL};
    if (c->len > 0) {
      bd.data = malloc(c->len);
      if (bd.data == NULL) return nomem();
      memcpy(bd.data, c->bytes, c->len);
      bd.len = c->len;
    }
    memcpy(p, &bd, sizeof(bd));
    return 0;
  }
  memcpy(p, &c->n, f->elt_size);
  return 0;
}

/* Makes f the oneof's case, freeing the previous member's value. */
void cg_pb_oneof_select(ProtobufCMessage *m, const cgrpc_pb_field *f) {
  uint32_t *cw = case_word(m, f);
  if (*cw == f->number) return;
  if (*cw != 0) {
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const ProtobufCFieldDescriptor *old = protobuf_c_message_descriptor_get_field(d, *cw);
    if (old != NULL)
      cg_pb_slot_release(CG_PB_TYPE_OF(m)->by_pc_index[old - d->fields],
                         CG_PB_AT(m, f->offset));
  }
  memset(CG_PB_AT(m, f->offset), 0, sizeof(ProtobufCBinaryData));
  *cw = f->number;
}

int cgrpc_pb_msg_set(cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                     const cgrpc_pb_value *v) {
  ProtobufCMessage *m = CG_PB_MSG(msg);
  if (v == NULL || bad_field(m, f, "cgrpc_pb_msg_set")) {
    if (v == NULL) cg_set_last_error("cgrpc_pb_msg_set: NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  if (f->repeated) {
    cg_set_last_error("%s.%s: repeated field: use cgrpc_pb_msg_append",
                      f->owner->full_name, f->name);
    return CGRPC_E_INVALID_ARG;
  }
  conv c;
  int rc = convert(f, v, &c);
  if (rc != 0) return rc;
  void *slot = CG_PB_AT(m, f->offset);
  /* Copy first so that a failed allocation leaves the message unchanged. */
  uint8_t tmp[sizeof(ProtobufCBinaryData)];
  if ((rc = store(f, tmp, &c)) != 0) return rc;
  if (f->in_oneof)
    cg_pb_oneof_select(m, f);
  cg_pb_slot_release(f, slot);
  memcpy(slot, tmp, f->elt_size);
  if (!f->in_oneof) {
    protobuf_c_boolean *has = CG_PB_AT(m, f->quantifier_offset);
    *has = f->implicit ? cg_pb_slot_nonzero(f, slot) : 1;
  }
  return CGRPC_OK;
}

/* Room for one more element; returns its address or NULL. */
void *cg_pb_grow(ProtobufCMessage *m, const cgrpc_pb_field *f) {
  size_t *n = CG_PB_AT(m, f->quantifier_offset);
  char **arr = CG_PB_AT(m, f->offset);
  size_t *cap = CG_PB_AT(m, f->offset + sizeof(void *));
  if (*n >= *cap) { /* cap 0 with n > 0: an exact array from unpack */
    size_t nc = *n < 4 ? 8 : *n * 2;
    if (nc > SIZE_MAX / f->elt_size / 2 || nc < *n) return NULL;
    char *na = realloc(*arr, nc * f->elt_size);
    if (na == NULL) return NULL;
    *arr = na;
    *cap = nc;
  }
  return *arr + *n * f->elt_size;
}

int cgrpc_pb_msg_append(cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                        const cgrpc_pb_value *v) {
  ProtobufCMessage *m = CG_PB_MSG(msg);
  if (v == NULL || bad_field(m, f, "cgrpc_pb_msg_append")) {
    if (v == NULL) cg_set_last_error("cgrpc_pb_msg_append: NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  if (!f->repeated) {
    cg_set_last_error("%s.%s: not a repeated field", f->owner->full_name, f->name);
    return CGRPC_E_INVALID_ARG;
  }
  conv c;
  int rc = convert(f, v, &c);
  if (rc != 0) return rc;
  void *slot = cg_pb_grow(m, f);
  if (slot == NULL) return nomem();
  if ((rc = store(f, slot, &c)) != 0) return rc;
  (*(size_t *)CG_PB_AT(m, f->quantifier_offset))++;
  return CGRPC_OK;
}

int cgrpc_pb_msg_mutable(cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                         cgrpc_pb_msg **sub) {
  ProtobufCMessage *m = CG_PB_MSG(msg);
  if (sub == NULL || bad_field(m, f, "cgrpc_pb_msg_mutable")) {
    if (sub == NULL) cg_set_last_error("cgrpc_pb_msg_mutable: NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  if (f->repeated || f->kind != CGRPC_PB_MESSAGE) {
    cg_set_last_error("%s.%s: not a singular message field", f->owner->full_name,
                      f->name);
    return CGRPC_E_INVALID_ARG;
  }
  ProtobufCMessage **slot = CG_PB_AT(m, f->offset);
  if (f->in_oneof && *case_word(m, f) != f->number) {
    ProtobufCMessage *nm = cg_pb_msg_new(f->msg_type);
    if (nm == NULL) return nomem();
    cg_pb_oneof_select(m, f);
    *slot = nm;
  } else if (*slot == NULL) {
    if ((*slot = cg_pb_msg_new(f->msg_type)) == NULL) return nomem();
  }
  *sub = (cgrpc_pb_msg *)(void *)*slot;
  return CGRPC_OK;
}

int cgrpc_pb_msg_add_message(cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                             cgrpc_pb_msg **sub) {
  ProtobufCMessage *m = CG_PB_MSG(msg);
  if (sub == NULL || bad_field(m, f, "cgrpc_pb_msg_add_message")) {
    if (sub == NULL) cg_set_last_error("cgrpc_pb_msg_add_message: NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  if (!f->repeated || f->kind != CGRPC_PB_MESSAGE) {
    cg_set_last_error("%s.%s: not a repeated message or map field",
                      f->owner->full_name, f->name);
    return CGRPC_E_INVALID_ARG;
  }
  ProtobufCMessage *nm = cg_pb_msg_new(f->msg_type);
  if (nm == NULL) return nomem();
  ProtobufCMessage **slot = cg_pb_grow(m, f);
  if (slot == NULL) {
    free(nm);
    return nomem();
  }
  *slot = nm;
  (*(size_t *)CG_PB_AT(m, f->quantifier_offset))++;
  *sub = (cgrpc_pb_msg *)(void *)nm;
  return CGRPC_OK;
}

int cgrpc_pb_msg_clear(cgrpc_pb_msg *msg, const cgrpc_pb_field *f) {
  ProtobufCMessage *m = CG_PB_MSG(msg);
  if (bad_field(m, f, "cgrpc_pb_msg_clear")) return CGRPC_E_INVALID_ARG;
  if (f->repeated) {
    size_t *n = CG_PB_AT(m, f->quantifier_offset);
    char **arr = CG_PB_AT(m, f->offset);
    for (size_t i = 0; i < *n; i++) cg_pb_slot_release(f, *arr + i * f->elt_size);
    free(*arr);
    *arr = NULL;
    *n = 0;
    *(size_t *)CG_PB_AT(m, f->offset + sizeof(void *)) = 0;
    return CGRPC_OK;
  }
  void *slot = CG_PB_AT(m, f->offset);
  if (f->in_oneof) {
    uint32_t *cw = case_word(m, f);
    if (*cw != f->number) return CGRPC_OK; /* another member is chosen */
    cg_pb_slot_release(f, slot);
    memset(slot, 0, sizeof(ProtobufCBinaryData));
    *cw = 0;
    return CGRPC_OK;
  }
  cg_pb_slot_release(f, slot);
  memset(slot, 0, f->elt_size);
  if (f->kind != CGRPC_PB_MESSAGE)
    *(protobuf_c_boolean *)CG_PB_AT(m, f->quantifier_offset) = 0;
  return CGRPC_OK;
}
