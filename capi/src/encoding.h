/* Wire encodings of gRPC-over-HTTP/2: base64 for -bin metadata,
 * percent-encoding for grpc-message, grpc-timeout values. */
#ifndef CG_ENCODING_H
#define CG_ENCODING_H

#include "internal.h"

/* Unpadded standard base64 of in[0..n) appended to out. */
int cg_base64_encode(cg_bytes *out, const uint8_t *in, size_t n);
/* Decodes padded or unpadded base64.  Returns 0 or -1 on bad input. */
int cg_base64_decode(cg_bytes *out, const uint8_t *in, size_t n);

/* grpc-message: bytes 0x20..0x7E except '%' as-is, others %XX. */
int cg_percent_encode(cg_bytes *out, const char *s);
/* Lenient: bad escapes are kept as they are.  Result NUL-terminated,
 * free with free(). */
char *cg_percent_decode(const uint8_t *in, size_t n);

/* Formats a positive timeout as grpc-timeout (<= 8 digits + unit) into
 * buf (>= 32 bytes). */
void cg_timeout_encode(char *buf, int64_t ns);
/* Parses grpc-timeout; returns 0 with *ns set, or -1 if malformed. */
int cg_timeout_decode(const uint8_t *s, size_t n, int64_t *ns);

#endif
