/*
 * cgrpc_pb.h - protobuf messages described at run time.
 *
 * Load a FileDescriptorSet (protoc --include_imports -o set.pb x.proto),
 * list its services and methods, and build, read, encode and decode
 * messages of its types without generated code.  This is what the Lua and
 * Python bindings use for dict/table messages; C programs with generated
 * code use cgrpc_protobuf_c.h instead.
 *
 * The core (cgrpc.h) stays bytes-in, bytes-out: encode a message here and
 * send the bytes with cgrpc_call_send; decode what cgrpc_call_recv gives.
 * No protobuf runtime type appears in this header.
 *
 * Ownership: a pool owns every type, field and method handle it returns;
 * they are valid until cgrpc_pb_pool_destroy.  A message created or
 * decoded here is owned by the caller (cgrpc_pb_msg_destroy) and owns its
 * sub-messages; a sub-message handle is borrowed from its root.  Borrowed
 * sub-messages and string/bytes pointers read from a message stay valid
 * until that field is set, cleared or appended to, another member of its
 * oneof is set, or the root is destroyed.
 *
 * Threads: a loaded pool is immutable and may be used from any number of
 * threads at once (destroy it once, when no thread uses it or a message of
 * its types).  A message is not synchronised: one thread at a time, or
 * many threads reading and none writing.
 *
 * Errors: functions return CGRPC_OK or a negative CGRPC_E_* code from
 * cgrpc.h; on CGRPC_E_PARSE and CGRPC_E_TYPE, cgrpc_last_error() names the
 * field path (e.g. "helloworld.HelloRequest.name: expected string") or the
 * offset of malformed input.
 *
 * Scope: proto2 and proto3 files (not editions).  Proto2 groups are not
 * supported: a set declaring a group field fails to load (CGRPC_E_PARSE,
 * "groups are not supported"), and group wire types in input fail to
 * decode.  Extensions are not modelled: they decode as unknown fields and
 * are written back, as is a known field that arrives with the wrong wire
 * type (as protobuf's parsers do).  Differences from protobuf's own
 * parsers, all on unusual input: an undeclared number of a
 * closed (proto2) enum stays in the field (protobuf moves it to the
 * unknown fields); length prefixes longer than 5 bytes are rejected.
 */
#ifndef CGRPC_PB_H
#define CGRPC_PB_H

#include "cgrpc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A loaded descriptor set. */
typedef struct cgrpc_pb_pool cgrpc_pb_pool;
/* A message type of a pool. */
typedef struct cgrpc_pb_type cgrpc_pb_type;
/* A field of a message type. */
typedef struct cgrpc_pb_field cgrpc_pb_field;
/* A method of a service in a pool. */
typedef struct cgrpc_pb_method cgrpc_pb_method;
/* A message value (root or borrowed sub-message). */
typedef struct cgrpc_pb_msg cgrpc_pb_msg;

/* Limits applied to untrusted input. */
/* Deepest message nesting decode accepts (deeper: CGRPC_E_PARSE). */
#define CGRPC_PB_MAX_DEPTH 100

/* ---- pools ---- */

/* Loads a serialized google.protobuf.FileDescriptorSet (copied; the
 * caller keeps data).  Every file's dependencies must be in the set
 * (--include_imports), in any order.  Returns CGRPC_OK with *out set,
 * CGRPC_E_PARSE (malformed set, unresolved type name, duplicate name,
 * missing dependency; cgrpc_last_error() says which), CGRPC_E_NOMEM,
 * CGRPC_E_INVALID_ARG. */
CGRPC_API int cgrpc_pb_pool_load(cgrpc_pb_pool **out, const void *data,
                                 size_t len);
/* Frees the pool and every handle it gave out.  NULL is a no-op. */
CGRPC_API void cgrpc_pb_pool_destroy(cgrpc_pb_pool *pool);

/* Message type by full name ("pkg.Outer.Inner", leading '.' allowed), or
 * NULL. */
CGRPC_API const cgrpc_pb_type *cgrpc_pb_pool_find_type(
    const cgrpc_pb_pool *pool, const char *full_name);

/* Services, in set order.  Names are full ("helloworld.Greeter"). */
CGRPC_API size_t cgrpc_pb_pool_service_count(const cgrpc_pb_pool *pool);
/* NULL if i is out of range. */
CGRPC_API const char *cgrpc_pb_pool_service_name(const cgrpc_pb_pool *pool,
                                                 size_t i);
CGRPC_API size_t cgrpc_pb_pool_method_count(const cgrpc_pb_pool *pool,
                                            size_t service);
/* NULL if an index is out of range. */
CGRPC_API const cgrpc_pb_method *cgrpc_pb_pool_method(
    const cgrpc_pb_pool *pool, size_t service, size_t i);
/* Method by path "/pkg.Service/Method" (the gRPC :path) or NULL. */
CGRPC_API const cgrpc_pb_method *cgrpc_pb_pool_find_method(
    const cgrpc_pb_pool *pool, const char *path);

/* "SayHello". */
CGRPC_API const char *cgrpc_pb_method_name(const cgrpc_pb_method *m);
/* "/helloworld.Greeter/SayHello". */
CGRPC_API const char *cgrpc_pb_method_path(const cgrpc_pb_method *m);
/* 1 if the client sends a stream, else 0. */
CGRPC_API int cgrpc_pb_method_client_streaming(const cgrpc_pb_method *m);
/* 1 if the server sends a stream, else 0. */
CGRPC_API int cgrpc_pb_method_server_streaming(const cgrpc_pb_method *m);
CGRPC_API const cgrpc_pb_type *cgrpc_pb_method_input(
    const cgrpc_pb_method *m);
CGRPC_API const cgrpc_pb_type *cgrpc_pb_method_output(
    const cgrpc_pb_method *m);

/* ---- types and fields ---- */

/* Full name without a leading dot ("helloworld.HelloRequest"). */
CGRPC_API const char *cgrpc_pb_type_name(const cgrpc_pb_type *t);
/* 1 if the type is a synthesized map entry (fields "key" = 1, "value" =
 * 2). */
CGRPC_API int cgrpc_pb_type_is_map_entry(const cgrpc_pb_type *t);
/* Fields in declaration order. */
CGRPC_API size_t cgrpc_pb_type_field_count(const cgrpc_pb_type *t);
/* NULL if i is out of range. */
CGRPC_API const cgrpc_pb_field *cgrpc_pb_type_field(const cgrpc_pb_type *t,
                                                    size_t i);
/* By proto name ("user_id"), or NULL. */
CGRPC_API const cgrpc_pb_field *cgrpc_pb_type_find_field(
    const cgrpc_pb_type *t, const char *name);
/* By proto name, or failing that by JSON name ("userId"), as protobuf's
 * JSON parsers accept both; NULL if neither matches. */
CGRPC_API const cgrpc_pb_field *cgrpc_pb_type_find_field_any(
    const cgrpc_pb_type *t, const char *name);

/* Value kinds.  Every 32-bit integer type (int32, sint32, sfixed32) is
 * INT32, every unsigned one UINT32, and likewise for 64 bits. */
typedef enum cgrpc_pb_kind {
  CGRPC_PB_DOUBLE = 1,
  CGRPC_PB_FLOAT = 2,
  CGRPC_PB_INT64 = 3,
  CGRPC_PB_UINT64 = 4,
  CGRPC_PB_INT32 = 5,
  CGRPC_PB_UINT32 = 6,
  CGRPC_PB_BOOL = 7,
  CGRPC_PB_STRING = 8,
  CGRPC_PB_BYTES = 9,
  CGRPC_PB_ENUM = 10,
  CGRPC_PB_MESSAGE = 11
} cgrpc_pb_kind;

CGRPC_API const char *cgrpc_pb_field_name(const cgrpc_pb_field *f);
/* JSON name ("userId"). */
CGRPC_API const char *cgrpc_pb_field_json_name(const cgrpc_pb_field *f);
CGRPC_API uint32_t cgrpc_pb_field_number(const cgrpc_pb_field *f);
CGRPC_API cgrpc_pb_kind cgrpc_pb_field_kind(const cgrpc_pb_field *f);
/* 1 for repeated fields, including maps. */
CGRPC_API int cgrpc_pb_field_is_repeated(const cgrpc_pb_field *f);
/* 1 for map fields: repeated MESSAGE fields whose type is a map entry. */
CGRPC_API int cgrpc_pb_field_is_map(const cgrpc_pb_field *f);
/* 1 if the field tracks presence (messages, oneof members, proto2
 * optional/required, proto3 optional); 0 for proto3 implicit scalars and
 * repeated fields. */
CGRPC_API int cgrpc_pb_field_has_presence(const cgrpc_pb_field *f);
/* Name of the field's (real, not synthetic) oneof, or NULL. */
CGRPC_API const char *cgrpc_pb_field_oneof(const cgrpc_pb_field *f);
/* MESSAGE fields: the message type; else NULL. */
CGRPC_API const cgrpc_pb_type *cgrpc_pb_field_message_type(
    const cgrpc_pb_field *f);
/* ENUM fields: the enum's full name; else NULL. */
CGRPC_API const char *cgrpc_pb_field_enum_type(const cgrpc_pb_field *f);
/* ENUM fields: the name of value, or NULL for a number the enum does not
 * declare (open enums keep such numbers). */
CGRPC_API const char *cgrpc_pb_enum_name(const cgrpc_pb_field *f,
                                         int32_t value);
/* ENUM fields: the number of the value called name.  Returns CGRPC_OK,
 * CGRPC_E_NOT_FOUND, CGRPC_E_INVALID_ARG (not an enum field). */
CGRPC_API int cgrpc_pb_enum_value(const cgrpc_pb_field *f, const char *name,
                                  int32_t *value);

/* ---- values ---- */

/* One field value.  kind selects the member.  STRING and BYTES point at
 * len bytes (not NUL-terminated); in values read from a message they are
 * borrowed from it, in values given to a setter they are copied.  ENUM
 * values are in i32.  MESSAGE values read from a message are borrowed
 * sub-messages; setters do not take MESSAGE values (use
 * cgrpc_pb_msg_mutable / cgrpc_pb_msg_add_message). */
typedef struct cgrpc_pb_value {
  cgrpc_pb_kind kind;
  union {
    double d;
    float f;
    int64_t i64;
    uint64_t u64;
    int32_t i32;
    uint32_t u32;
    int b;
    struct {
      const char *data;
      size_t len;
    } s;
    const cgrpc_pb_msg *msg;
  } v;
} cgrpc_pb_value;

/* ---- messages ---- */

/* A new empty message of type t.  Returns CGRPC_OK, CGRPC_E_NOMEM,
 * CGRPC_E_INVALID_ARG. */
CGRPC_API int cgrpc_pb_msg_create(cgrpc_pb_msg **out, const cgrpc_pb_type *t);
/* Parses len bytes of wire format as type t (data is not kept).  Unknown
 * fields are kept and written back by encode.  A sub-message that occurs
 * more than once is merged, as protobuf does (required fields may come
 * from different occurrences).  Returns CGRPC_OK,
 * CGRPC_E_PARSE (malformed, truncated, invalid UTF-8 in a proto3 string,
 * nesting beyond CGRPC_PB_MAX_DEPTH, a proto2 required field missing),
 * CGRPC_E_NOMEM, CGRPC_E_INVALID_ARG. */
CGRPC_API int cgrpc_pb_msg_decode(cgrpc_pb_msg **out, const cgrpc_pb_type *t,
                                  const void *data, size_t len);
/* Serializes msg: known fields in number order, then unknown fields.
 * *data (free with cgrpc_free; non-NULL even when *len is 0) and *len.
 * Returns CGRPC_OK, CGRPC_E_NOMEM, CGRPC_E_INVALID_ARG, CGRPC_E_PARSE (a
 * proto2 required field unset, or sub-messages nested beyond
 * CGRPC_PB_MAX_DEPTH), CGRPC_E_TOO_LARGE (over 2 GiB). */
CGRPC_API int cgrpc_pb_msg_encode(const cgrpc_pb_msg *msg, uint8_t **data,
                                  size_t *len);
/* Frees a root message and its sub-messages.  Not for borrowed
 * sub-messages (that would be a double free).  NULL is a no-op. */
CGRPC_API void cgrpc_pb_msg_destroy(cgrpc_pb_msg *msg);
CGRPC_API const cgrpc_pb_type *cgrpc_pb_msg_type(const cgrpc_pb_msg *msg);

/* Whether a field would be written on the wire: repeated: count > 0;
 * presence fields: set (for a oneof member: the oneof's chosen case);
 * implicit proto3 scalars: not the zero value. */
CGRPC_API int cgrpc_pb_msg_has(const cgrpc_pb_msg *msg,
                               const cgrpc_pb_field *f);
/* Repeated and map fields: the number of elements (map: entries). */
CGRPC_API size_t cgrpc_pb_msg_count(const cgrpc_pb_msg *msg,
                                    const cgrpc_pb_field *f);
/* Reads a field.  Singular fields: index must be 0; an unset field reads
 * as its default (proto2 [default=...], else zero; an unset MESSAGE reads
 * as v.msg == NULL).  Repeated fields: element index; map fields: entry
 * index, a MESSAGE value whose type is the map entry.  Returns CGRPC_OK,
 * CGRPC_E_INVALID_ARG (index out of range, field not of msg's type). */
CGRPC_API int cgrpc_pb_msg_get(const cgrpc_pb_msg *msg,
                               const cgrpc_pb_field *f, size_t index,
                               cgrpc_pb_value *out);

/* Sets a singular scalar, string, bytes or enum field (marks it present;
 * a oneof member becomes the oneof's case, clearing the previous one).
 * The value's kind must be the field's, except that integer kinds convert
 * when the number fits (else CGRPC_E_TYPE naming the field): INT32, UINT32,
 * INT64, UINT64, ENUM, and DOUBLE/FLOAT values that are whole numbers, into
 * any integer or enum field; any integer or DOUBLE into a FLOAT or DOUBLE
 * field (rounded; a finite value beyond float's range is CGRPC_E_TYPE).
 * STRING and BYTES values are interchangeable.  BOOL takes BOOL only.
 * Strings of proto3 files must be UTF-8.  ENUM accepts any int32 in open (proto3)
 * enums, declared values only in closed (proto2) ones.  Returns CGRPC_OK,
 * CGRPC_E_TYPE, CGRPC_E_NOMEM, CGRPC_E_INVALID_ARG (repeated field). */
CGRPC_API int cgrpc_pb_msg_set(cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                               const cgrpc_pb_value *v);
/* Appends to a repeated non-message field.  Same rules as set. */
CGRPC_API int cgrpc_pb_msg_append(cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                                  const cgrpc_pb_value *v);
/* Singular MESSAGE field: *sub is the sub-message, created empty (and
 * marked present; a oneof member becomes its case) if unset.  Borrowed
 * from msg.  Returns CGRPC_OK, CGRPC_E_NOMEM, CGRPC_E_INVALID_ARG (not a
 * singular message field of msg's type). */
CGRPC_API int cgrpc_pb_msg_mutable(cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                                   cgrpc_pb_msg **sub);
/* Repeated MESSAGE or map field: appends an empty element (map: an entry,
 * whose "key" and "value" fields the caller sets) and sets *sub to it.
 * Entries with equal keys are all written; the receiver keeps the last.
 * Returns CGRPC_OK, CGRPC_E_NOMEM, CGRPC_E_INVALID_ARG (not a repeated
 * message or map field of msg's type). */
CGRPC_API int cgrpc_pb_msg_add_message(cgrpc_pb_msg *msg,
                                       const cgrpc_pb_field *f,
                                       cgrpc_pb_msg **sub);
/* Clears a field (unset, empty, or oneof case cleared), freeing what it
 * held.  Returns CGRPC_OK, CGRPC_E_INVALID_ARG (not a field of msg's
 * type). */
CGRPC_API int cgrpc_pb_msg_clear(cgrpc_pb_msg *msg, const cgrpc_pb_field *f);

#ifdef __cplusplus
}
#endif

#endif /* CGRPC_PB_H */
