/* Private structures of the dynamic protobuf layer (cgrpc_pb.h).
 *
 * A message is a protobuf-c ProtobufCMessage whose descriptor we build at
 * load time, so protobuf_c_message_pack/unpack do the wire work.  Layout
 * choices (see pool_layout.c) that the rest of the code relies on:
 *  - proto "string" fields are PROTOBUF_C_TYPE_BYTES internally: exact
 *    lengths (embedded NULs survive) and no strlen; we check UTF-8.
 *  - every singular non-message field outside a oneof has a has_ word and
 *    protobuf-c label OPTIONAL, including proto3 implicit ones (we keep
 *    has_ == "non-zero" there) and proto2 required ones (we check them),
 *    because protobuf-c's merge of repeated sub-messages mishandles
 *    LABEL_NONE fields and we want our own required-field messages.
 *  - protobuf-c default_value is always NULL; unset fields read as our
 *    own default (cg_pb_field.defval).
 *  - repeated fields have a hidden capacity word after the pointer, 0 when
 *    the array is exactly n long (as unpack makes it).
 */
#ifndef CG_PB_INTERNAL_H
#define CG_PB_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "cgrpc_pb.h"
#include "tls.h" /* cg_set_last_error */

#define CG_PB_HIDDEN __attribute__((visibility("hidden")))

/* Bump allocator that owns everything a pool holds. */
typedef struct cg_pb_arena {
  struct cg_pb_block *head;
} cg_pb_arena;
CG_PB_HIDDEN void *cg_pb_arena_alloc(cg_pb_arena *a, size_t n);
/* n * size, zeroed; NULL on overflow or no memory. */
CG_PB_HIDDEN void *cg_pb_arena_calloc(cg_pb_arena *a, size_t n, size_t size);
CG_PB_HIDDEN char *cg_pb_arena_strdup(cg_pb_arena *a, const char *s);
CG_PB_HIDDEN char *cg_pb_arena_memdup(cg_pb_arena *a, const void *p, size_t n);
CG_PB_HIDDEN void cg_pb_arena_free(cg_pb_arena *a);

typedef struct cg_pb_enum {
  const char *full_name;
  int closed; /* proto2: only declared numbers are accepted by setters */
  size_t n;
  const char **names;
  int32_t *numbers;
} cg_pb_enum;

struct cgrpc_pb_field {
  const char *name;
  const char *json_name;
  uint32_t number;
  int proto_type; /* FieldDescriptorProto.Type, 1..18 */
  cgrpc_pb_kind kind;
  unsigned repeated : 1, is_map : 1, presence : 1, implicit : 1, required : 1,
      utf8 : 1, packed : 1, in_oneof : 1;
  const char *oneof; /* real oneof's name, else NULL */
  const cgrpc_pb_type *owner;
  const cgrpc_pb_type *msg_type;
  const cg_pb_enum *enum_type;
  unsigned quantifier_offset; /* has_ / case / count; 0 for messages */
  unsigned offset;
  unsigned elt_size;  /* size of one value in the slot or array */
  unsigned req_index; /* index among the owner's required fields */
  cgrpc_pb_value defval;
};

struct cgrpc_pb_type {
  ProtobufCMessageDescriptor d; /* first: descriptor pointer == type */
  const char *full_name;
  int is_map_entry;
  size_t n_fields;
  cgrpc_pb_field *fields;       /* declaration order */
  cgrpc_pb_field **by_pc_index; /* same order as d.fields */
  unsigned n_required;
};

struct cgrpc_pb_method {
  const char *name;
  const char *path;
  int client_streaming, server_streaming;
  const cgrpc_pb_type *input, *output;
};

typedef struct cg_pb_service {
  const char *full_name;
  size_t n_methods;
  cgrpc_pb_method *methods;
} cg_pb_service;

struct cgrpc_pb_pool {
  cg_pb_arena arena;
  size_t n_types;
  cgrpc_pb_type **types_by_name; /* sorted by full_name */
  size_t n_services;
  cg_pb_service *services;
  size_t n_methods;
  const cgrpc_pb_method **methods_by_path; /* sorted by path */
};

#define CG_PB_MSG(m) ((ProtobufCMessage *)(void *)(m))
#define CG_PB_CMSG(m) ((const ProtobufCMessage *)(const void *)(m))
#define CG_PB_TYPE_OF(pcm) ((const cgrpc_pb_type *)(const void *)(pcm)->descriptor)
#define CG_PB_AT(base, off) ((void *)((char *)(base) + (off)))

/* Loading helpers (pool_*.c). */
/* Parses a proto2 [default=...] text into f->defval (arena memory).
 * Returns 0 or -1 with the last error set. */
CG_PB_HIDDEN int cg_pb_parse_default(cg_pb_arena *a, cgrpc_pb_field *f,
                                     const char *text);
/* Computes slot offsets and sizeof_message for t.  Returns 0 or -1. */
CG_PB_HIDDEN int cg_pb_layout(cg_pb_arena *a, cgrpc_pb_type *t,
                              const int32_t *oneof_of_field, size_t n_oneofs);

/* Wire checks (wire_scan.c). */
/* Checks that data is well-formed for protobuf-c to unpack as desc, with
 * nesting at most CGRPC_PB_MAX_DEPTH.  pool_types: desc is a pool type
 * (then also proto3 UTF-8 is checked).  Returns 0, or
 * CGRPC_E_PARSE / CGRPC_E_NOMEM with the last error set. */
CG_PB_HIDDEN int cg_pb_wire_check(const ProtobufCMessageDescriptor *desc,
                                  int pool_types, const uint8_t *data,
                                  size_t len);
/* 1 if p[0..n) is well-formed UTF-8. */
CG_PB_HIDDEN int cg_pb_utf8_valid(const uint8_t *p, size_t n);

/* Message internals (msg.c). */
CG_PB_HIDDEN ProtobufCMessage *cg_pb_msg_new(const cgrpc_pb_type *t);
/* Makes f its oneof's case, freeing the previous member's value (a no-op
 * when f already is the case). */
CG_PB_HIDDEN void cg_pb_oneof_select(ProtobufCMessage *m, const cgrpc_pb_field *f);
/* 1 if the value in slot is not f's zero value (bitwise, so -0.0 counts):
 * a proto3 implicit field is present exactly then. */
CG_PB_HIDDEN int cg_pb_slot_nonzero(const cgrpc_pb_field *f, const void *p);
/* Room for one more element of repeated f (count not yet bumped), or NULL. */
CG_PB_HIDDEN void *cg_pb_grow(ProtobufCMessage *m, const cgrpc_pb_field *f);
/* Fills m from well-formed wire bytes (cg_pb_wire_check passed), merging
 * into what m holds.  Returns 0, CGRPC_E_NOMEM or CGRPC_E_PARSE. */
CG_PB_HIDDEN int cg_pb_decode_into(ProtobufCMessage *m, const uint8_t *p,
                                   size_t len, unsigned depth);
/* Required fields and nesting depth of a message tree; 0 or CGRPC_E_PARSE
 * naming the field. */
CG_PB_HIDDEN int cg_pb_check_tree(const ProtobufCMessage *m, unsigned depth);
/* Reads a varint of at most max bytes from p[0..avail); its length or 0. */
CG_PB_HIDDEN size_t cg_pb_varint(const uint8_t *p, size_t avail, size_t max,
                                 uint64_t *v);
/* Frees the value of a singular field slot (string/bytes/message). */
CG_PB_HIDDEN void cg_pb_slot_release(const cgrpc_pb_field *f, void *slot);

#endif
