/* Building nghttp2 header lists whose values we format (status codes,
 * percent-encoded messages, base64 metadata). */
#ifndef CG_NVLIST_H
#define CG_NVLIST_H

#include <nghttp2/nghttp2.h>

#include "metadata.h"

typedef struct cg_nvlist {
  nghttp2_nv *nv;
  size_t n, cap;
  char **owned;
  size_t nowned;
  int err;
} cg_nvlist;

/* Adds (name, value) pointing at memory that outlives the list. */
void cg_nv_add(cg_nvlist *l, const char *name, const void *value, size_t vlen);
/* Adds a value the list copies and owns. */
void cg_nv_add_copy(cg_nvlist *l, const char *name, const void *value,
                    size_t vlen);
/* Adds user metadata (base64 for -bin keys). */
void cg_nv_add_md(cg_nvlist *l, const cgrpc_metadata *md);
/* Adds grpc-status and (if non-empty) a percent-encoded grpc-message. */
void cg_nv_add_status(cg_nvlist *l, int code, const char *msg);
void cg_nv_free(cg_nvlist *l);

#endif
