/* pb_tool: drives the public cgrpc_pb.h API for the oracle tests
 * (tests/pb/test_pb_oracle.py).
 *
 *   pb_tool list SET               services, methods, types, fields
 *   pb_tool dump SET TYPE          decode stdin, print a canonical dump
 *   pb_tool build SET TYPE         build from a description on stdin,
 *                                  write the encoded bytes to stdout
 *   pb_tool reencode SET TYPE      decode stdin, encode it again
 *
 * Dump lines (the Python side prints the same from python protobuf):
 *   path = VALUE [unset]     singular ("[unset]" for presence fields)
 *   path = <msg> / <none>    singular message, set / unset
 *   path[#] = N, path[i] = VALUE
 *   path{#} = N, path{KEY} = VALUE   maps: last entry per key, keys sorted
 * VALUE: i:N u:N (integers), e:N (enum), b:true/false, f:0xBITS (float),
 * d:0xBITS (double; NaN prints as nan), s:HEX (string), y:HEX (bytes).
 *
 * Description lines: PATH = VALUE (set), PATH += VALUE (append),
 * PATH += {} (add a message / map entry), PATH = {} (mutable), clear PATH.
 * PATH segments: name or name[i] (i = -1: last element).  Input VALUEs as
 * above, plus e:NAME, and f:/d: take decimal text (inf, nan, -0).
 *
 * Exit status: 0 ok, 2 library error (stdout: "ERROR <rc> <message>"),
 * 3 usage or I/O problem. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrpc_pb.h"

static int lib_error(int rc) {
  printf("ERROR %d %s\n", rc, cgrpc_last_error());
  fflush(stdout);
  return 2;
}

static uint8_t *read_all(FILE *f, size_t *len) {
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf != NULL) {
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
    if (n == cap) {
      uint8_t *nb = realloc(buf, cap * 2);
      if (nb == NULL) {
        free(buf);
        return NULL;
      }
      buf = nb;
      cap *= 2;
    }
  }
  *len = n;
  return buf;
}

static void hex(char *out, const char *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = d[(uint8_t)p[i] >> 4];
    out[2 * i + 1] = d[(uint8_t)p[i] & 15];
  }
  out[2 * n] = 0;
}

/* Formats a non-message value; returns a malloc'd string. */
static char *fmt_value(const cgrpc_pb_value *v) {
  char *s = NULL;
  switch (v->kind) {
    case CGRPC_PB_INT32: if (asprintf(&s, "i:%" PRId32, v->v.i32) < 0) s = NULL; break;
    case CGRPC_PB_INT64: if (asprintf(&s, "i:%" PRId64, v->v.i64) < 0) s = NULL; break;
    case CGRPC_PB_UINT32: if (asprintf(&s, "u:%" PRIu32, v->v.u32) < 0) s = NULL; break;
    case CGRPC_PB_UINT64: if (asprintf(&s, "u:%" PRIu64, v->v.u64) < 0) s = NULL; break;
    case CGRPC_PB_ENUM: if (asprintf(&s, "e:%" PRId32, v->v.i32) < 0) s = NULL; break;
    case CGRPC_PB_BOOL: s = strdup(v->v.b ? "b:true" : "b:false"); break;
    case CGRPC_PB_FLOAT: {
      uint32_t bits;
      memcpy(&bits, &v->v.f, 4);
      if (v->v.f != v->v.f)
        s = strdup("f:nan");
      else if (asprintf(&s, "f:0x%08" PRIx32, bits) < 0)
        s = NULL;
      break;
    }
    case CGRPC_PB_DOUBLE: {
      uint64_t bits;
      memcpy(&bits, &v->v.d, 8);
      if (v->v.d != v->v.d)
        s = strdup("d:nan");
      else if (asprintf(&s, "d:0x%016" PRIx64, bits) < 0)
        s = NULL;
      break;
    }
    case CGRPC_PB_STRING:
    case CGRPC_PB_BYTES:
      s = malloc(2 * v->v.s.len + 3);
      if (s != NULL) {
        s[0] = v->kind == CGRPC_PB_STRING ? 's' : 'y';
        s[1] = ':';
        hex(s + 2, v->v.s.data, v->v.s.len);
      }
      break;
    default: s = strdup("?"); break;
  }
  if (s == NULL) abort();
  return s;
}

static void dump(const cgrpc_pb_msg *m, const char *prefix);

static void dump_msg_value(const char *path, const cgrpc_pb_msg *sub) {
  if (sub == NULL) {
    printf("%s = <none>\n", path);
    return;
  }
  printf("%s = <msg>\n", path);
  dump(sub, path);
}

typedef struct entry {
  char *key;
  const cgrpc_pb_msg *msg;
} entry;

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

static void dump_map(const cgrpc_pb_msg *m, const cgrpc_pb_field *f,
                     const char *path) {
  size_t n = cgrpc_pb_msg_count(m, f);
  const cgrpc_pb_type *et = cgrpc_pb_field_message_type(f);
  const cgrpc_pb_field *kf = cgrpc_pb_type_find_field(et, "key");
  entry *ents = calloc(n ? n : 1, sizeof(entry));
  size_t u = 0;
  for (size_t i = 0; i < n; i++) {
    cgrpc_pb_value ev, kv;
    if (cgrpc_pb_msg_get(m, f, i, &ev) != 0 || cgrpc_pb_msg_get(ev.v.msg, kf, 0, &kv) != 0)
      abort();
    char *k = fmt_value(&kv);
    size_t j = 0;
    while (j < u && strcmp(ents[j].key, k) != 0) j++;
    if (j < u) { /* the receiver keeps the last entry per key */
      free(k);
      ents[j].msg = ev.v.msg;
    } else {
      ents[u].key = k;
      ents[u].msg = ev.v.msg;
      u++;
    }
  }
  qsort(ents, u, sizeof(entry), entry_cmp);
  printf("%s{#} = %zu\n", path, u);
  const cgrpc_pb_field *vf = cgrpc_pb_type_find_field(et, "value");
  for (size_t j = 0; j < u; j++) {
    char *p = NULL;
    if (asprintf(&p, "%s{%s}", path, ents[j].key) < 0) abort();
    cgrpc_pb_value vv;
    if (cgrpc_pb_msg_get(ents[j].msg, vf, 0, &vv) != 0) abort();
    if (vv.kind == CGRPC_PB_MESSAGE) {
      /* an entry without a value reads as an empty message */
      printf("%s = <msg>\n", p);
      cgrpc_pb_msg *empty = NULL;
      if (vv.v.msg == NULL && cgrpc_pb_msg_create(&empty, cgrpc_pb_field_message_type(vf)) != 0)
        abort();
      dump(vv.v.msg != NULL ? vv.v.msg : empty, p);
      cgrpc_pb_msg_destroy(empty);
    } else {
      char *s = fmt_value(&vv);
      printf("%s = %s\n", p, s);
      free(s);
    }
    free(p);
    free(ents[j].key);
  }
  free(ents);
}

static void dump(const cgrpc_pb_msg *m, const char *prefix) {
  const cgrpc_pb_type *t = cgrpc_pb_msg_type(m);
  for (size_t i = 0; i < cgrpc_pb_type_field_count(t); i++) {
    const cgrpc_pb_field *f = cgrpc_pb_type_field(t, i);
    char *path = NULL;
    if (asprintf(&path, "%s%s%s", prefix, *prefix ? "." : "", cgrpc_pb_field_name(f)) < 0)
      abort();
    if (cgrpc_pb_field_is_map(f)) {
      dump_map(m, f, path);
    } else if (cgrpc_pb_field_is_repeated(f)) {
      size_t n = cgrpc_pb_msg_count(m, f);
      printf("%s[#] = %zu\n", path, n);
      for (size_t k = 0; k < n; k++) {
        cgrpc_pb_value v;
        char *p = NULL;
        if (cgrpc_pb_msg_get(m, f, k, &v) != 0 || asprintf(&p, "%s[%zu]", path, k) < 0)
          abort();
        if (v.kind == CGRPC_PB_MESSAGE) {
          dump_msg_value(p, v.v.msg);
        } else {
          char *s = fmt_value(&v);
          printf("%s = %s\n", p, s);
          free(s);
        }
        free(p);
      }
    } else {
      cgrpc_pb_value v;
      if (cgrpc_pb_msg_get(m, f, 0, &v) != 0) abort();
      if (v.kind == CGRPC_PB_MESSAGE) {
        dump_msg_value(path, cgrpc_pb_msg_has(m, f) ? v.v.msg : NULL);
      } else {
        char *s = fmt_value(&v);
        int unset = cgrpc_pb_field_has_presence(f) && !cgrpc_pb_msg_has(m, f);
        printf("%s = %s%s\n", path, s, unset ? " [unset]" : "");
        free(s);
      }
    }
    free(path);
  }
}

/* ---- build ---- */

static int unhex(const char *s, char **out, size_t *len) {
  size_t n = strlen(s);
  if (n % 2) return -1;
  *out = malloc(n / 2 + 1);
  for (size_t i = 0; i < n / 2; i++) {
    unsigned x;
    if (sscanf(s + 2 * i, "%2x", &x) != 1) return -1;
    (*out)[i] = (char)x;
  }
  *len = n / 2;
  return 0;
}

/* Parses VALUE for field f; *owned gets any malloc'd data. */
static int parse_value(const cgrpc_pb_field *f, const char *s, cgrpc_pb_value *v,
                       char **owned) {
  *owned = NULL;
  if (strlen(s) < 2 || s[1] != ':') return -1;
  const char *x = s + 2;
  switch (s[0]) {
    case 'i': v->kind = CGRPC_PB_INT64; v->v.i64 = strtoll(x, NULL, 10); return 0;
    case 'u': v->kind = CGRPC_PB_UINT64; v->v.u64 = strtoull(x, NULL, 10); return 0;
    case 'd': v->kind = CGRPC_PB_DOUBLE; v->v.d = strtod(x, NULL); return 0;
    case 'f': v->kind = CGRPC_PB_FLOAT; v->v.f = strtof(x, NULL); return 0;
    case 'b': v->kind = CGRPC_PB_BOOL; v->v.b = strcmp(x, "true") == 0; return 0;
    case 's':
    case 'y':
      v->kind = s[0] == 's' ? CGRPC_PB_STRING : CGRPC_PB_BYTES;
      if (unhex(x, owned, &v->v.s.len) != 0) return -1;
      v->v.s.data = *owned;
      return 0;
    case 'e': {
      v->kind = CGRPC_PB_ENUM;
      char *end;
      long n = strtol(x, &end, 10);
      if (*x && *end == 0) {
        v->v.i32 = (int32_t)n;
        return 0;
      }
      int rc = cgrpc_pb_enum_value(f, x, &v->v.i32);
      return rc == 0 ? 0 : rc;
    }
    default: return -1;
  }
}

/* Resolves all but the last segment of path to a message; *last gets the
 * final segment (modified in place). */
static int walk_path(cgrpc_pb_msg *root, char *path, cgrpc_pb_msg **out,
                     const cgrpc_pb_field **field, long *index) {
  cgrpc_pb_msg *m = root;
  char *seg = path;
  for (;;) {
    char *dot = strchr(seg, '.');
    if (dot) *dot = 0;
    long idx = LONG_MIN;
    char *br = strchr(seg, '[');
    if (br) {
      *br = 0;
      idx = strtol(br + 1, NULL, 10);
    }
    const cgrpc_pb_field *f = cgrpc_pb_type_find_field(cgrpc_pb_msg_type(m), seg);
    if (f == NULL) {
      fprintf(stderr, "pb_tool: no field %s\n", seg);
      return -1;
    }
    if (!dot) {
      *out = m;
      *field = f;
      *index = idx;
      return 0;
    }
    if (idx != LONG_MIN) {
      size_t n = cgrpc_pb_msg_count(m, f);
      size_t k = idx < 0 ? n - 1 : (size_t)idx;
      cgrpc_pb_value v;
      int rc = cgrpc_pb_msg_get(m, f, k, &v);
      if (rc != 0) return rc;
      m = (cgrpc_pb_msg *)v.v.msg; /* the tool owns the whole tree */
    } else {
      int rc = cgrpc_pb_msg_mutable(m, f, &m);
      if (rc != 0) return rc;
    }
    seg = dot + 1;
  }
}

static int build_line(cgrpc_pb_msg *root, char *line) {
  char *nl = strchr(line, '\n');
  if (nl) *nl = 0;
  if (*line == 0 || *line == '#') return 0;
  cgrpc_pb_msg *m;
  const cgrpc_pb_field *f;
  long idx;
  if (strncmp(line, "clear ", 6) == 0) {
    int rc = walk_path(root, line + 6, &m, &f, &idx);
    return rc != 0 ? rc : cgrpc_pb_msg_clear(m, f);
  }
  char *op = strstr(line, " += ");
  int append = op != NULL;
  if (!op) op = strstr(line, " = ");
  if (!op) return -1;
  *op = 0;
  char *val = op + (append ? 4 : 3);
  int rc = walk_path(root, line, &m, &f, &idx);
  if (rc != 0) return rc;
  if (strcmp(val, "{}") == 0) {
    cgrpc_pb_msg *sub;
    return append ? cgrpc_pb_msg_add_message(m, f, &sub) : cgrpc_pb_msg_mutable(m, f, &sub);
  }
  cgrpc_pb_value v;
  char *owned;
  rc = parse_value(f, val, &v, &owned);
  if (rc == -1) {
    fprintf(stderr, "pb_tool: bad value %s\n", val);
    return -1;
  }
  if (rc == 0) rc = append ? cgrpc_pb_msg_append(m, f, &v) : cgrpc_pb_msg_set(m, f, &v);
  free(owned);
  return rc;
}

static int write_all(const uint8_t *p, size_t n) {
  return fwrite(p, 1, n, stdout) == n && fflush(stdout) == 0 ? 0 : 3;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: pb_tool list|dump|build|reencode SET [TYPE]\n");
    return 3;
  }
  FILE *sf = fopen(argv[2], "rb");
  if (sf == NULL) return 3;
  size_t slen;
  uint8_t *set = read_all(sf, &slen);
  fclose(sf);
  cgrpc_pb_pool *pool;
  int rc = cgrpc_pb_pool_load(&pool, set, slen);
  free(set);
  if (rc != 0) return lib_error(rc);
  int status = 0;
  if (strcmp(argv[1], "list") == 0) {
    for (size_t s = 0; s < cgrpc_pb_pool_service_count(pool); s++) {
      printf("service %s\n", cgrpc_pb_pool_service_name(pool, s));
      for (size_t k = 0; k < cgrpc_pb_pool_method_count(pool, s); k++) {
        const cgrpc_pb_method *m = cgrpc_pb_pool_method(pool, s, k);
        printf("method %s %s %s %s cs=%d ss=%d\n", cgrpc_pb_method_name(m),
               cgrpc_pb_method_path(m), cgrpc_pb_type_name(cgrpc_pb_method_input(m)),
               cgrpc_pb_type_name(cgrpc_pb_method_output(m)),
               cgrpc_pb_method_client_streaming(m), cgrpc_pb_method_server_streaming(m));
      }
    }
    for (int i = 3; i < argc; i++) {
      const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(pool, argv[i]);
      if (t == NULL) {
        printf("type %s missing\n", argv[i]);
        continue;
      }
      printf("type %s map_entry=%d\n", cgrpc_pb_type_name(t), cgrpc_pb_type_is_map_entry(t));
      for (size_t k = 0; k < cgrpc_pb_type_field_count(t); k++) {
        const cgrpc_pb_field *f = cgrpc_pb_type_field(t, k);
        const cgrpc_pb_type *mt = cgrpc_pb_field_message_type(f);
        const char *oneof = cgrpc_pb_field_oneof(f);
        const char *en = cgrpc_pb_field_enum_type(f);
        printf("field %s json=%s num=%u kind=%d rep=%d map=%d presence=%d oneof=%s msg=%s enum=%s\n",
               cgrpc_pb_field_name(f), cgrpc_pb_field_json_name(f),
               (unsigned)cgrpc_pb_field_number(f), (int)cgrpc_pb_field_kind(f),
               cgrpc_pb_field_is_repeated(f), cgrpc_pb_field_is_map(f),
               cgrpc_pb_field_has_presence(f), oneof ? oneof : "-",
               mt ? cgrpc_pb_type_name(mt) : "-", en ? en : "-");
      }
    }
  } else if (argc >= 4) {
    const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(pool, argv[3]);
    if (t == NULL) {
      fprintf(stderr, "pb_tool: no type %s\n", argv[3]);
      cgrpc_pb_pool_destroy(pool);
      return 3;
    }
    cgrpc_pb_msg *m = NULL;
    if (strcmp(argv[1], "build") == 0) {
      rc = cgrpc_pb_msg_create(&m, t);
      char *line = NULL;
      size_t cap = 0;
      while (rc == 0 && getline(&line, &cap, stdin) > 0) {
        rc = build_line(m, line);
        if (rc == -1) status = 3;
      }
      free(line);
    } else {
      size_t len;
      uint8_t *in = read_all(stdin, &len);
      rc = in ? cgrpc_pb_msg_decode(&m, t, in, len) : CGRPC_E_NOMEM;
      free(in);
    }
    if (status == 0 && rc != 0) status = lib_error(rc);
    if (status == 0 && strcmp(argv[1], "dump") == 0) {
      dump(m, "");
    } else if (status == 0) {
      uint8_t *out;
      size_t olen;
      rc = cgrpc_pb_msg_encode(m, &out, &olen);
      if (rc != 0) {
        status = lib_error(rc);
      } else {
        status = write_all(out, olen);
        cgrpc_free(out);
      }
    }
    cgrpc_pb_msg_destroy(m);
  } else {
    status = 3;
  }
  cgrpc_pb_pool_destroy(pool);
  return status;
}
