/* nghttp2 header lists with owned values (see nvlist.h). */
#include "nvlist.h"

#include <stdio.h>

#include "encoding.h"

static void push(cg_nvlist *l, const char *name, const void *value,
                 size_t vlen) {
  if (l->err) return;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    nghttp2_nv *nv = realloc(l->nv, cap * sizeof(*nv));
    if (!nv) {
      l->err = 1;
      return;
    }
    l->nv = nv;
    l->cap = cap;
  }
  nghttp2_nv x = {(uint8_t *)name, (uint8_t *)(value ? value : ""),
                  strlen(name), vlen, NGHTTP2_NV_FLAG_NONE};
  l->nv[l->n++] = x;
}

static char *own(cg_nvlist *l, char *p) {
  if (!p) {
    l->err = 1;
    return NULL;
  }
  char **o = realloc(l->owned, (l->nowned + 1) * sizeof(*o));
  if (!o) {
    free(p);
    l->err = 1;
    return NULL;
  }
  l->owned = o;
  l->owned[l->nowned++] = p;
  return p;
}

void cg_nv_add(cg_nvlist *l, const char *name, const void *value,
               size_t vlen) {
  push(l, name, value, vlen);
}

void cg_nv_add_copy(cg_nvlist *l, const char *name, const void *value,
                    size_t vlen) {
  char *p = own(l, cg_strndup(value, vlen));
  if (p) push(l, name, p, vlen);
}

void cg_nv_add_md(cg_nvlist *l, const cgrpc_metadata *md) {
  for (size_t i = 0; md && i < md->n; i++) {
    const cg_md_entry *e = &md->e[i];
    size_t kl = strlen(e->key);
    if (!cg_md_key_is_bin(e->key, kl)) {
      push(l, e->key, e->val, e->len);
      continue;
    }
    cg_bytes b = {0};
    if (cg_base64_encode(&b, e->val, e->len) != 0) {
      l->err = 1;
      return;
    }
    char *p = own(l, cg_strndup((char *)(b.p ? b.p : (uint8_t *)""), b.len));
    size_t len = b.len;
    cg_bytes_free(&b);
    if (p) push(l, e->key, p, len);
  }
}

void cg_nv_add_status(cg_nvlist *l, int code, const char *msg) {
  char num[16];
  int n = snprintf(num, sizeof(num), "%d", code);
  cg_nv_add_copy(l, "grpc-status", num, (size_t)n);
  if (msg && *msg) {
    cg_bytes b = {0};
    if (cg_percent_encode(&b, msg) != 0) {
      l->err = 1;
      return;
    }
    char *p = own(l, cg_strndup((char *)b.p, b.len));
    size_t len = b.len;
    cg_bytes_free(&b);
    if (p) push(l, "grpc-message", p, len);
  }
}

void cg_nv_free(cg_nvlist *l) {
  for (size_t i = 0; i < l->nowned; i++) free(l->owned[i]);
  free(l->owned);
  free(l->nv);
  memset(l, 0, sizeof(*l));
}
