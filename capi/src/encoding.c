/* Wire encodings of gRPC-over-HTTP/2 (see encoding.h). */
#include "encoding.h"

#include <stdio.h>

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int cg_base64_encode(cg_bytes *out, const uint8_t *in, size_t n) {
  if (cg_bytes_reserve(out, (n + 2) / 3 * 4 + 1)) return CGRPC_E_NOMEM;
  uint8_t *o = out->p + out->len;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *o++ = b64chars[v >> 18];
    *o++ = b64chars[(v >> 12) & 63];
    *o++ = b64chars[(v >> 6) & 63];
    *o++ = b64chars[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    *o++ = b64chars[v >> 18];
    *o++ = b64chars[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    *o++ = b64chars[v >> 18];
    *o++ = b64chars[(v >> 12) & 63];
    *o++ = b64chars[(v >> 6) & 63];
  }
  out->len = (size_t)(o - out->p);
  return 0;
}

static int b64val(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62; /* accept the URL-safe alphabet too */
  if (c == '/' || c == '_') return 63;
  return -1;
}

int cg_base64_decode(cg_bytes *out, const uint8_t *in, size_t n) {
  while (n > 0 && in[n - 1] == '=') n--; /* padding is optional */
  if (n % 4 == 1) return -1;
  if (cg_bytes_reserve(out, n / 4 * 3 + 3)) return CGRPC_E_NOMEM;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64val(in[i]);
    if (v < 0) return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->p[out->len++] = (uint8_t)(acc >> bits);
    }
  }
  return 0;
}

int cg_percent_encode(cg_bytes *out, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const uint8_t *p = (const uint8_t *)s; *p; p++) {
    if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
      if (cg_bytes_append(out, p, 1)) return CGRPC_E_NOMEM;
    } else {
      uint8_t e[3] = {'%', (uint8_t)hex[*p >> 4], (uint8_t)hex[*p & 15]};
      if (cg_bytes_append(out, e, 3)) return CGRPC_E_NOMEM;
    }
  }
  return 0;
}

static int hexval(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char *cg_percent_decode(const uint8_t *in, size_t n) {
  char *o = malloc(n + 1);
  if (!o) return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    int h, l;
    if (in[i] == '%' && i + 2 < n && (h = hexval(in[i + 1])) >= 0 &&
        (l = hexval(in[i + 2])) >= 0) {
      o[j++] = (char)(h << 4 | l);
      i += 2;
    } else {
      o[j++] = (char)in[i];
    }
  }
  o[j] = 0;
  return o;
}

void cg_timeout_encode(char *buf, int64_t ns) {
  /* The finest unit whose value fits in 8 digits, rounded up. */
  static const struct { char unit; int64_t ns; } units[] = {
      {'n', 1},
      {'u', 1000},
      {'m', 1000000},
      {'S', 1000000000LL},
      {'M', 60000000000LL},
      {'H', 3600000000000LL}};
  if (ns <= 0) {
    strcpy(buf, "0n");
    return;
  }
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    int64_t v = ns / units[i].ns + (ns % units[i].ns != 0);
    if (v <= 99999999) {
      snprintf(buf, 32, "%lld%c", (long long)v, units[i].unit);
      return;
    }
  }
  strcpy(buf, "99999999H");
}

int cg_timeout_decode(const uint8_t *s, size_t n, int64_t *ns) {
  if (n < 2 || n > 9) return -1;
  int64_t v = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  int64_t mul;
  switch (s[n - 1]) {
  case 'n': mul = 1; break;
  case 'u': mul = 1000; break;
  case 'm': mul = 1000000; break;
  case 'S': mul = 1000000000LL; break;
  case 'M': mul = 60000000000LL; break;
  case 'H': mul = 3600000000000LL; break;
  default: return -1;
  }
  /* 99999999 hours overflows int64 ns: clamp. */
  *ns = v > INT64_MAX / mul ? INT64_MAX : v * mul;
  return 0;
}
