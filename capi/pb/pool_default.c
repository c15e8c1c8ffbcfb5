/* proto2 [default = ...] values.  protoc stores them as text in
 * FieldDescriptorProto.default_value: numbers in decimal (floats may be
 * "inf", "-inf", "nan"), bools as "true"/"false", strings raw, bytes
 * C-escaped, enums by value name. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pb_internal.h"

/* protoc writes "1.5" whatever the host program's LC_NUMERIC says. */
static locale_t c_numeric;
static pthread_once_t c_numeric_once = PTHREAD_ONCE_INIT;
static void c_numeric_init(void) {
  c_numeric = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}
static double strtod_c(const char *s, char **end) {
  pthread_once(&c_numeric_once, c_numeric_init);
  return c_numeric != (locale_t)0 ? strtod_l(s, end, c_numeric) : strtod(s, end);
}

static int bad(const cgrpc_pb_field *f, const char *text) {
  cg_set_last_error("%s.%s: invalid default value \"%.64s\"",
                    f->owner->full_name, f->name, text);
  return -1;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* C unescaping as protoc's CEscape writes it (\n \t \" \\ \ooo \xhh ...).
 * The output is never longer than the input. */
static int unescape(cg_pb_arena *a, const char *s, cgrpc_pb_value *out) {
  size_t n = strlen(s);
  uint8_t *o = cg_pb_arena_alloc(a, n + 1);
  if (o == NULL) return CGRPC_E_NOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] != '\\') {
      o[k++] = (uint8_t)s[i++];
      continue;
    }
    if (++i >= n) return -1;
    char c = s[i++];
    switch (c) {
      case 'a': o[k++] = '\a'; break;
      case 'b': o[k++] = '\b'; break;
      case 'f': o[k++] = '\f'; break;
      case 'n': o[k++] = '\n'; break;
      case 'r': o[k++] = '\r'; break;
      case 't': o[k++] = '\t'; break;
      case 'v': o[k++] = '\v'; break;
      case '\\': case '\'': case '"': case '?': o[k++] = (uint8_t)c; break;
      case 'x': case 'X': {
        int v = 0, digits = 0;
        while (i < n && digits < 2 && hexval((unsigned char)s[i]) >= 0) {
          v = v * 16 + hexval((unsigned char)s[i++]);
          digits++;
        }
        if (digits == 0) return -1;
        o[k++] = (uint8_t)v;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int v = c - '0', digits = 1;
          while (i < n && digits < 3 && s[i] >= '0' && s[i] <= '7') {
            v = v * 8 + (s[i++] - '0');
            digits++;
          }
          if (v > 255) return -1;
          o[k++] = (uint8_t)v;
          break;
        }
        return -1;
    }
  }
  o[k] = 0;
  out->v.s.data = (const char *)o;
  out->v.s.len = k;
  return 0;
}

int cg_pb_parse_default(cg_pb_arena *a, cgrpc_pb_field *f, const char *text) {
  cgrpc_pb_value *v = &f->defval;
  char *end = NULL;
  errno = 0;
  switch (f->kind) {
    case CGRPC_PB_INT32:
    case CGRPC_PB_INT64: {
      long long x = strtoll(text, &end, 0);
      if (*text == 0 || *end != 0 || errno != 0) return bad(f, text);
      if (f->kind == CGRPC_PB_INT32) {
        if (x < INT32_MIN || x > INT32_MAX) return bad(f, text);
        v->v.i32 = (int32_t)x;
      } else {
        v->v.i64 = x;
      }
      return 0;
    }
    case CGRPC_PB_UINT32:
    case CGRPC_PB_UINT64: {
      if (strchr(text, '-') != NULL) return bad(f, text);
      unsigned long long x = strtoull(text, &end, 0);
      if (*text == 0 || *end != 0 || errno != 0) return bad(f, text);
      if (f->kind == CGRPC_PB_UINT32) {
        if (x > UINT32_MAX) return bad(f, text);
        v->v.u32 = (uint32_t)x;
      } else {
        v->v.u64 = x;
      }
      return 0;
    }
    case CGRPC_PB_DOUBLE:
    case CGRPC_PB_FLOAT: {
      /* strtod knows inf/-inf/nan; ERANGE on underflow is fine. */
      double x = strtod_c(text, &end);
      if (*text == 0 || *end != 0) return bad(f, text);
      if (f->kind == CGRPC_PB_DOUBLE)
        v->v.d = x;
      else
        v->v.f = (float)x;
      return 0;
    }
    case CGRPC_PB_BOOL:
      if (strcmp(text, "true") == 0)
        v->v.b = 1;
      else if (strcmp(text, "false") == 0)
        v->v.b = 0;
      else
        return bad(f, text);
      return 0;
    case CGRPC_PB_STRING: {
      char *s = cg_pb_arena_strdup(a, text);
      if (s == NULL) return CGRPC_E_NOMEM;
      v->v.s.data = s;
      v->v.s.len = strlen(s);
      return 0;
    }
    case CGRPC_PB_BYTES: {
      int rc = unescape(a, text, v);
      return rc == 0 ? 0 : rc == CGRPC_E_NOMEM ? rc : bad(f, text);
    }
    case CGRPC_PB_ENUM: {
      const cg_pb_enum *e = f->enum_type;
      for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->names[i], text) == 0) {
          v->v.i32 = e->numbers[i];
          return 0;
        }
      }
      return bad(f, text);
    }
    default:
      return bad(f, text);
  }
}
