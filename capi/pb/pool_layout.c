/* Run-time protobuf-c descriptor tables for one message type: we invent
 * the C struct layout (protobuf-c only needs offsets) and the lookup
 * tables protobuf-c expects (fields sorted by number, ranges of
 * consecutive numbers, names sorted). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pb_internal.h"

/* Far below UINT_MAX: offsets are `unsigned` in protobuf-c. */
#define CG_PB_MAX_STRUCT (64u * 1024 * 1024)

static ProtobufCType pc_type_of(int proto_type) {
  switch (proto_type) {
    case 1: return PROTOBUF_C_TYPE_DOUBLE;
    case 2: return PROTOBUF_C_TYPE_FLOAT;
    case 3: return PROTOBUF_C_TYPE_INT64;
    case 4: return PROTOBUF_C_TYPE_UINT64;
    case 5: return PROTOBUF_C_TYPE_INT32;
    case 6: return PROTOBUF_C_TYPE_FIXED64;
    case 7: return PROTOBUF_C_TYPE_FIXED32;
    case 8: return PROTOBUF_C_TYPE_BOOL;
    case 9: return PROTOBUF_C_TYPE_BYTES; /* string: see pb_internal.h */
    case 11: return PROTOBUF_C_TYPE_MESSAGE;
    case 12: return PROTOBUF_C_TYPE_BYTES;
    case 13: return PROTOBUF_C_TYPE_UINT32;
    case 14: return PROTOBUF_C_TYPE_ENUM;
    case 15: return PROTOBUF_C_TYPE_SFIXED32;
    case 16: return PROTOBUF_C_TYPE_SFIXED64;
    case 17: return PROTOBUF_C_TYPE_SINT32;
    default: return PROTOBUF_C_TYPE_SINT64; /* 18; others rejected earlier */
  }
}

static unsigned elt_size_of(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 8;
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    default: return 4;
  }
}

static int is_packable(ProtobufCType t) {
  return t != PROTOBUF_C_TYPE_BYTES && t != PROTOBUF_C_TYPE_STRING &&
         t != PROTOBUF_C_TYPE_MESSAGE;
}

/* Advances *off to a multiple of a, then reserves n bytes; returns the
 * start, or UINT_MAX when the struct grows too large. */
static unsigned reserve(size_t *off, size_t a, size_t n) {
  *off = (*off + a - 1) / a * a;
  size_t at = *off;
  *off += n;
  return *off > CG_PB_MAX_STRUCT ? UINT_MAX : (unsigned)at;
}

/* qsort has no context argument: sort (key, index) pairs instead. */
typedef struct {
  uint32_t num;
  const char *name;
  unsigned idx;
} sort_ent;

static int by_num(const void *a, const void *b) {
  const sort_ent *x = a, *y = b;
  return x->num < y->num ? -1 : x->num > y->num;
}
static int by_name(const void *a, const void *b) {
  const sort_ent *x = a, *y = b;
  return strcmp(x->name, y->name);
}

int cg_pb_layout(cg_pb_arena *a, cgrpc_pb_type *t,
                 const int32_t *oneof_of_field, size_t n_oneofs) {
  size_t n = t->n_fields;
  size_t off = sizeof(ProtobufCMessage);
  int too_big = 0;

  for (size_t i = 0; i < n; i++) {
    cgrpc_pb_field *f = &t->fields[i];
    ProtobufCType pt = pc_type_of(f->proto_type);
    f->elt_size = elt_size_of(pt);
    f->in_oneof = oneof_of_field[i] >= 0;
    if (f->in_oneof) continue;
    if (f->repeated) {
      /* count, pointer, then our capacity word (protobuf-c ignores it) */
      unsigned q = reserve(&off, sizeof(size_t), sizeof(size_t));
      unsigned o = reserve(&off, sizeof(void *), sizeof(void *));
      unsigned c = reserve(&off, sizeof(size_t), sizeof(size_t));
      too_big |= q == UINT_MAX || o == UINT_MAX || c == UINT_MAX;
      f->quantifier_offset = q;
      f->offset = o;
    } else if (pt == PROTOBUF_C_TYPE_MESSAGE) {
      unsigned o = reserve(&off, sizeof(void *), sizeof(void *));
      too_big |= o == UINT_MAX;
      f->quantifier_offset = 0;
      f->offset = o;
    } else {
      unsigned q = reserve(&off, sizeof(protobuf_c_boolean),
                           sizeof(protobuf_c_boolean));
      unsigned o = reserve(&off, f->elt_size > 8 ? 8 : f->elt_size,
                           f->elt_size);
      too_big |= q == UINT_MAX || o == UINT_MAX;
      f->quantifier_offset = q;
      f->offset = o;
    }
  }
  for (size_t k = 0; k < n_oneofs; k++) {
    /* One uint32 case word and a union slot big enough for any member. */
    unsigned c = reserve(&off, sizeof(uint32_t), sizeof(uint32_t));
    unsigned u = reserve(&off, 8, sizeof(ProtobufCBinaryData));
    too_big |= c == UINT_MAX || u == UINT_MAX;
    for (size_t i = 0; i < n; i++) {
      if (oneof_of_field[i] != (int32_t)k) continue;
      t->fields[i].quantifier_offset = c;
      t->fields[i].offset = u;
    }
  }
  if (too_big) {
    cg_set_last_error("%s: message type too large", t->full_name);
    return -1;
  }
  off = (off + 7) / 8 * 8;

  ProtobufCFieldDescriptor *pcf = cg_pb_arena_calloc(a, n ? n : 1, sizeof(*pcf));
  unsigned *by_name_idx = cg_pb_arena_calloc(a, n ? n : 1, sizeof(unsigned));
  ProtobufCIntRange *ranges = cg_pb_arena_calloc(a, n + 1, sizeof(*ranges));
  t->by_pc_index = cg_pb_arena_calloc(a, n ? n : 1, sizeof(cgrpc_pb_field *));
  sort_ent *ents = malloc((n ? n : 1) * sizeof(sort_ent));
  if (!pcf || !by_name_idx || !ranges || !t->by_pc_index || !ents) {
    free(ents);
    cg_set_last_error("out of memory");
    return CGRPC_E_NOMEM;
  }
  for (size_t i = 0; i < n; i++)
    ents[i] = (sort_ent){t->fields[i].number, t->fields[i].name, (unsigned)i};
  qsort(ents, n, sizeof(sort_ent), by_num);
  unsigned n_ranges = 0;
  for (size_t j = 0; j < n; j++) {
    cgrpc_pb_field *f = &t->fields[ents[j].idx];
    if (j > 0 && ents[j].num == ents[j - 1].num) {
      cg_set_last_error("%s: field number %u used twice", t->full_name,
                        (unsigned)f->number);
      free(ents);
      return -1;
    }
    if (j == 0 || ents[j].num != ents[j - 1].num + 1) {
      ranges[n_ranges].start_value = (int)f->number;
      ranges[n_ranges].orig_index = (int)j;
      n_ranges++;
    }
    ProtobufCType pt = pc_type_of(f->proto_type);
    ProtobufCFieldDescriptor *d = &pcf[j];
    d->name = f->name;
    d->id = f->number;
    d->label = f->repeated ? PROTOBUF_C_LABEL_REPEATED : PROTOBUF_C_LABEL_OPTIONAL;
    d->type = pt;
    d->quantifier_offset = f->quantifier_offset;
    d->offset = f->offset;
    d->descriptor = f->msg_type != NULL ? (const void *)&f->msg_type->d : NULL;
    d->default_value = NULL;
    d->flags = (f->packed && is_packable(pt) ? PROTOBUF_C_FIELD_FLAG_PACKED : 0) |
               (f->in_oneof ? PROTOBUF_C_FIELD_FLAG_ONEOF : 0);
    t->by_pc_index[j] = f;
  }
  ranges[n_ranges].start_value = 0; /* sentinel: total field count */
  ranges[n_ranges].orig_index = (int)n;

  for (size_t j = 0; j < n; j++) ents[j] = (sort_ent){0, pcf[j].name, (unsigned)j};
  qsort(ents, n, sizeof(sort_ent), by_name);
  for (size_t j = 0; j < n; j++) {
    if (j > 0 && strcmp(ents[j].name, ents[j - 1].name) == 0) {
      cg_set_last_error("%s: field name \"%s\" used twice", t->full_name,
                        ents[j].name);
      free(ents);
      return -1;
    }
    by_name_idx[j] = ents[j].idx;
  }
  free(ents);

  t->d.magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC;
  t->d.name = t->full_name;
  t->d.c_name = t->full_name;
  t->d.sizeof_message = off;
  t->d.n_fields = (unsigned)n;
  t->d.fields = pcf;
  t->d.fields_sorted_by_name = by_name_idx;
  t->d.n_field_ranges = n_ranges;
  t->d.field_ranges = ranges;
  t->d.message_init = NULL; /* unpack falls back to a zeroing init */
  return 0;
}
