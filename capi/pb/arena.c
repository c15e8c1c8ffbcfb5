/* The pool's bump allocator: one free() per block at destroy time keeps
 * the loader's many error paths leak-free. */
#include <stdlib.h>
#include <string.h>

#include "pb_internal.h"

struct cg_pb_block {
  struct cg_pb_block *next;
  size_t used, cap;
  _Alignas(max_align_t) unsigned char mem[];
};

#define CG_PB_BLOCK 16384

void *cg_pb_arena_alloc(cg_pb_arena *a, size_t n) {
  const size_t align = _Alignof(max_align_t);
  if (n > SIZE_MAX / 2) return NULL;
  n = (n + align - 1) & ~(align - 1);
  if (n == 0) n = align;
  struct cg_pb_block *b = a->head;
  if (b == NULL || b->cap - b->used < n) {
    size_t cap = n > CG_PB_BLOCK ? n : CG_PB_BLOCK;
    b = malloc(sizeof(*b) + cap);
    if (b == NULL) return NULL;
    b->cap = cap;
    b->used = 0;
    b->next = a->head;
    a->head = b;
  }
  void *p = b->mem + b->used;
  b->used += n;
  return p;
}

void *cg_pb_arena_calloc(cg_pb_arena *a, size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / 2 / size) return NULL;
  void *p = cg_pb_arena_alloc(a, n * size);
  if (p != NULL) memset(p, 0, n * size);
  return p;
}

char *cg_pb_arena_memdup(cg_pb_arena *a, const void *p, size_t n) {
  if (n == SIZE_MAX) return NULL;
  char *d = cg_pb_arena_alloc(a, n + 1);
  if (d == NULL) return NULL;
  if (n) memcpy(d, p, n);
  d[n] = 0;
  return d;
}

char *cg_pb_arena_strdup(cg_pb_arena *a, const char *s) {
  return cg_pb_arena_memdup(a, s, strlen(s));
}

void cg_pb_arena_free(cg_pb_arena *a) {
  struct cg_pb_block *b = a->head;
  while (b != NULL) {
    struct cg_pb_block *next = b->next;
    free(b);
    b = next;
  }
  a->head = NULL;
}
