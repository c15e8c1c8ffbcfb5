/* Metadata lists and their validation. */
#ifndef CG_METADATA_H
#define CG_METADATA_H

#include "internal.h"

typedef struct cg_md_entry {
  char *key;
  uint8_t *val; /* NUL-terminated; decoded bytes for -bin keys */
  size_t len;
} cg_md_entry;

struct cgrpc_metadata {
  cg_md_entry *e;
  size_t n, cap;
};

/* Key syntax: lower-case [0-9a-z_.-], non-empty. */
int cg_md_key_valid(const char *key, size_t len);
/* True for keys that end in "-bin". */
int cg_md_key_is_bin(const char *key, size_t len);
/* A value allowed for a non-binary key: printable ASCII. */
int cg_md_value_valid(const uint8_t *v, size_t len);
/* Headers gRPC reserves for itself (never user metadata). */
int cg_md_key_reserved(const char *key, size_t len);

/* Appends without validation (caller checked or the peer sent it). */
int cg_md_append(cgrpc_metadata *md, const char *key, size_t klen,
                 const void *val, size_t vlen);
/* Appends all entries of src. */
int cg_md_append_all(cgrpc_metadata *md, const cgrpc_metadata *src);
void cg_md_clear(cgrpc_metadata *md);
/* Validates a user-supplied entry as cgrpc_metadata_add does. */
int cg_md_check_user(const char *key, const void *value, size_t len);

/* Adds a received header (name, value) to md as user metadata: skips
 * reserved and pseudo headers, decodes -bin values (comma-separated
 * base64 parts, padded or not).  Returns 0, or CGRPC_E_NOMEM. */
int cg_md_add_received(cgrpc_metadata *md, const uint8_t *name, size_t nlen,
                       const uint8_t *value, size_t vlen);

#endif
