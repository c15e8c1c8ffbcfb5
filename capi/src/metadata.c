/* Metadata lists: the public cgrpc_metadata_* functions and validation. */
#include "metadata.h"

#include "encoding.h"

int cg_md_key_valid(const char *key, size_t len) {
  if (len == 0) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = key[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-' || c == '.'))
      return 0;
  }
  return 1;
}

int cg_md_key_is_bin(const char *key, size_t len) {
  return len >= 4 && memcmp(key + len - 4, "-bin", 4) == 0;
}

int cg_md_value_valid(const uint8_t *v, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (v[i] < 0x20 || v[i] > 0x7e) return 0;
  return 1;
}

int cg_md_key_reserved(const char *key, size_t len) {
  static const char *const reserved[] = {"content-type", "te", "user-agent",
                                         "host", "connection"};
  if (len >= 5 && memcmp(key, "grpc-", 5) == 0) return 1;
  if (len > 0 && key[0] == ':') return 1;
  for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
    if (strlen(reserved[i]) == len && memcmp(reserved[i], key, len) == 0)
      return 1;
  return 0;
}

int cg_md_check_user(const char *key, const void *value, size_t len) {
  if (!key || (!value && len > 0)) return CGRPC_E_INVALID_ARG;
  size_t klen = strlen(key);
  if (!cg_md_key_valid(key, klen) || cg_md_key_reserved(key, klen))
    return CGRPC_E_METADATA;
  if (!cg_md_key_is_bin(key, klen) && !cg_md_value_valid(value, len))
    return CGRPC_E_METADATA;
  return CGRPC_OK;
}

int cg_md_append(cgrpc_metadata *md, const char *key, size_t klen,
                 const void *val, size_t vlen) {
  if (md->n == md->cap) {
    size_t cap = md->cap ? md->cap * 2 : 4;
    cg_md_entry *e = realloc(md->e, cap * sizeof(*e));
    if (!e) return CGRPC_E_NOMEM;
    md->e = e;
    md->cap = cap;
  }
  char *k = cg_strndup(key, klen);
  uint8_t *v = malloc(vlen + 1);
  if (!k || !v) {
    free(k);
    free(v);
    return CGRPC_E_NOMEM;
  }
  if (vlen) memcpy(v, val, vlen);
  v[vlen] = 0;
  md->e[md->n].key = k;
  md->e[md->n].val = v;
  md->e[md->n].len = vlen;
  md->n++;
  return CGRPC_OK;
}

int cg_md_append_all(cgrpc_metadata *md, const cgrpc_metadata *src) {
  if (!src) return CGRPC_OK;
  for (size_t i = 0; i < src->n; i++) {
    int rc = cg_md_append(md, src->e[i].key, strlen(src->e[i].key),
                          src->e[i].val, src->e[i].len);
    if (rc) return rc;
  }
  return CGRPC_OK;
}

void cg_md_clear(cgrpc_metadata *md) {
  for (size_t i = 0; i < md->n; i++) {
    free(md->e[i].key);
    free(md->e[i].val);
  }
  free(md->e);
  md->e = NULL;
  md->n = md->cap = 0;
}

int cg_md_add_received(cgrpc_metadata *md, const uint8_t *name, size_t nlen,
                       const uint8_t *value, size_t vlen) {
  const char *k = (const char *)name;
  /* grpc-status-details-bin is reserved but is how rich errors travel. */
  if (cg_md_key_reserved(k, nlen) &&
      !(nlen == 23 && memcmp(k, "grpc-status-details-bin", 23) == 0))
    return CGRPC_OK;
  if (!cg_md_key_is_bin(k, nlen)) return cg_md_append(md, k, nlen, value, vlen);
  /* Duplicate -bin keys may have been joined with ','. */
  size_t start = 0;
  for (size_t i = 0; i <= vlen; i++) {
    if (i < vlen && value[i] != ',') continue;
    cg_bytes dec = {0};
    int bad = cg_base64_decode(&dec, value + start, i - start);
    int rc = CGRPC_OK;
    if (bad == 0)
      rc = cg_md_append(md, k, nlen, dec.p ? dec.p : (const uint8_t *)"",
                        dec.len);
    /* A malformed base64 value is dropped: HTTP-legal but unusable. */
    cg_bytes_free(&dec);
    if (rc) return rc;
    start = i + 1;
  }
  return CGRPC_OK;
}

/* ---- public API ---- */

int cgrpc_metadata_create(cgrpc_metadata **out) {
  if (!out) return CGRPC_E_INVALID_ARG;
  *out = calloc(1, sizeof(**out));
  return *out ? CGRPC_OK : CGRPC_E_NOMEM;
}

void cgrpc_metadata_destroy(cgrpc_metadata *md) {
  if (!md) return;
  cg_md_clear(md);
  free(md);
}

int cgrpc_metadata_add(cgrpc_metadata *md, const char *key, const void *value,
                       size_t len) {
  if (!md) return CGRPC_E_INVALID_ARG;
  int rc = cg_md_check_user(key, value, len);
  if (rc) return rc;
  return cg_md_append(md, key, strlen(key), value, len);
}

size_t cgrpc_metadata_count(const cgrpc_metadata *md) { return md ? md->n : 0; }

const char *cgrpc_metadata_key(const cgrpc_metadata *md, size_t i) {
  return md && i < md->n ? md->e[i].key : NULL;
}

const uint8_t *cgrpc_metadata_value(const cgrpc_metadata *md, size_t i,
                                    size_t *len) {
  if (!md || i >= md->n) return NULL;
  if (len) *len = md->e[i].len;
  return md->e[i].val;
}

const uint8_t *cgrpc_metadata_get(const cgrpc_metadata *md, const char *key,
                                  size_t *len) {
  if (!md || !key) return NULL;
  for (size_t i = 0; i < md->n; i++)
    if (strcmp(md->e[i].key, key) == 0) return cgrpc_metadata_value(md, i, len);
  return NULL;
}
