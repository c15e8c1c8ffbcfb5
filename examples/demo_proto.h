/* The demo's messages, encoded by hand in the protobuf wire format, and the
 * demo's small feature database (shared by demo_server and demo_client, so
 * the client can check what the server answers).
 *
 * Wire-compatible with grpc's public examples:
 *
 *   package helloworld;
 *   service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
 *   message HelloRequest { string name = 1; }
 *   message HelloReply   { string message = 1; }
 *
 *   package routeguide;
 *   service RouteGuide {
 *     rpc GetFeature(Point) returns (Feature);
 *     rpc ListFeatures(Rectangle) returns (stream Feature);
 *     rpc RecordRoute(stream Point) returns (RouteSummary);
 *     rpc RouteChat(stream RouteNote) returns (stream RouteNote);
 *   }
 *   message Point        { int32 latitude = 1; int32 longitude = 2; }
 *   message Rectangle    { Point lo = 1; Point hi = 2; }
 *   message Feature      { string name = 1; Point location = 2; }
 *   message RouteNote    { Point location = 1; string message = 2; }
 *   message RouteSummary { int32 point_count = 1; int32 feature_count = 2;
 *                          int32 distance = 3; int32 elapsed_time = 4; }
 *
 * Encoding follows proto3: scalar fields equal to their default (0, "")
 * are left out; message fields are always written.  Decoding skips unknown
 * fields, merges a repeated embedded message, keeps the last value of a
 * repeated scalar, and rejects truncated input, over-long varints, groups,
 * a known field with the wrong wire type and strings that are not UTF-8.
 * Decoded strings point into the input buffer (not NUL-terminated).
 *
 * Everything is static inline so each program compiles only what it uses.
 */
#ifndef DEMO_PROTO_H
#define DEMO_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Wire format: writer                                                  */
/* ------------------------------------------------------------------ */

enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };

typedef struct pb_writer {
  uint8_t *data;
  size_t len, cap;
  int failed; /* out of memory: data is incomplete */
} pb_writer;

static inline void pbw_init(pb_writer *w) { memset(w, 0, sizeof(*w)); }

static inline void pbw_free(pb_writer *w) {
  free(w->data);
  pbw_init(w);
}

static inline void pbw_raw(pb_writer *w, const void *p, size_t n) {
  if (w->failed || n == 0) return;
  if (w->len + n > w->cap) {
    size_t cap = w->cap ? w->cap : 64;
    while (cap < w->len + n) cap *= 2;
    uint8_t *d = realloc(w->data, cap);
    if (!d) {
      w->failed = 1;
      return;
    }
    w->data = d;
    w->cap = cap;
  }
  memcpy(w->data + w->len, p, n);
  w->len += n;
}

static inline void pbw_varint(pb_writer *w, uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  do {
    b[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) b[n] |= 0x80;
    n++;
  } while (v);
  pbw_raw(w, b, n);
}

static inline void pbw_tag(pb_writer *w, uint32_t field, unsigned wire_type) {
  pbw_varint(w, ((uint64_t)field << 3) | wire_type);
}

/* int32 field; a negative value is sign-extended to 64 bits, so it takes
 * ten bytes on the wire, as protobuf requires.  0 is left out. */
static inline void pbw_int32(pb_writer *w, uint32_t field, int32_t v) {
  if (v == 0) return;
  pbw_tag(w, field, PB_VARINT);
  pbw_varint(w, (uint64_t)(int64_t)v);
}

/* A length-delimited field, always written (embedded messages). */
static inline void pbw_len_field(pb_writer *w, uint32_t field, const void *p,
                                 size_t n) {
  pbw_tag(w, field, PB_LEN);
  pbw_varint(w, n);
  pbw_raw(w, p, n);
}

/* string/bytes field; empty is left out. */
static inline void pbw_string(pb_writer *w, uint32_t field, const char *s,
                              size_t n) {
  if (n) pbw_len_field(w, field, s, n);
}

/* Embeds sub as message field `field`. */
static inline void pbw_message(pb_writer *w, uint32_t field,
                               const pb_writer *sub) {
  if (sub->failed) w->failed = 1;
  pbw_len_field(w, field, sub->data, sub->len);
}

/* ------------------------------------------------------------------ */
/* Wire format: reader                                                  */
/* ------------------------------------------------------------------ */

typedef struct pb_reader {
  const uint8_t *p, *end;
} pb_reader;

static inline pb_reader pbr_make(const void *data, size_t len) {
  pb_reader r = {(const uint8_t *)data, (const uint8_t *)data + len};
  return r;
}

/* Reads a varint of at most ten bytes.  Returns 0, or -1 if truncated or
 * too long. */
static inline int pbr_varint(pb_reader *r, uint64_t *out) {
  uint64_t v = 0;
  for (int i = 0; i < 10; i++) {
    if (r->p >= r->end) return -1;
    uint8_t b = *r->p++;
    if (i == 9 && b > 1) return -1; /* more than 64 bits */
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

/* Reads the next tag.  Returns 1 with *field and *wire_type set, 0 at the
 * end of the input, -1 if malformed. */
static inline int pbr_tag(pb_reader *r, uint32_t *field, unsigned *wire_type) {
  if (r->p >= r->end) return 0;
  uint64_t t;
  if (pbr_varint(r, &t) || (t >> 3) == 0 || (t >> 3) > 0x1fffffff) return -1;
  *field = (uint32_t)(t >> 3);
  *wire_type = (unsigned)(t & 7);
  return 1;
}

/* Reads a length-delimited payload into *sub. */
static inline int pbr_len(pb_reader *r, pb_reader *sub) {
  uint64_t n;
  if (pbr_varint(r, &n) || n > (uint64_t)(r->end - r->p)) return -1;
  sub->p = r->p;
  sub->end = r->p + n;
  r->p += n;
  return 0;
}

/* Skips a field's value (unknown fields).  Groups are not supported. */
static inline int pbr_skip(pb_reader *r, unsigned wire_type) {
  uint64_t v;
  pb_reader sub;
  switch (wire_type) {
    case PB_VARINT:
      return pbr_varint(r, &v);
    case PB_FIXED64:
      if (r->end - r->p < 8) return -1;
      r->p += 8;
      return 0;
    case PB_LEN:
      return pbr_len(r, &sub);
    case PB_FIXED32:
      if (r->end - r->p < 4) return -1;
      r->p += 4;
      return 0;
    default:
      return -1;
  }
}

/* int32 as protobuf decodes it: the varint truncated to 32 bits. */
static inline int pbr_int32(pb_reader *r, unsigned wire_type, int32_t *out) {
  uint64_t v;
  if (wire_type != PB_VARINT || pbr_varint(r, &v)) return -1;
  *out = (int32_t)(uint32_t)v;
  return 0;
}

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
static inline int pb_utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t k;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      k = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      k = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      k = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (n - i - 1 < k) return 0;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    i += k + 1;
  }
  return 1;
}

/* A string slice (into a received buffer, or any bytes). */
typedef struct demo_str {
  const char *ptr;
  size_t len;
} demo_str;

static inline demo_str demo_cstr(const char *s) {
  demo_str d = {s, strlen(s)};
  return d;
}

static inline int pbr_string(pb_reader *r, unsigned wire_type, demo_str *out) {
  pb_reader sub;
  if (wire_type != PB_LEN || pbr_len(r, &sub)) return -1;
  if (!pb_utf8_ok(sub.p, (size_t)(sub.end - sub.p))) return -1;
  out->ptr = (const char *)sub.p;
  out->len = (size_t)(sub.end - sub.p);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Messages                                                             */
/* ------------------------------------------------------------------ */

typedef struct demo_point {
  int32_t latitude;  /* degrees * 1e7 */
  int32_t longitude; /* degrees * 1e7 */
} demo_point;

typedef struct demo_rectangle {
  demo_point lo, hi;
} demo_rectangle;

typedef struct demo_feature {
  demo_str name; /* empty: no feature at this point */
  demo_point location;
} demo_feature;

typedef struct demo_route_note {
  demo_point location;
  demo_str message;
} demo_route_note;

typedef struct demo_route_summary {
  int32_t point_count, feature_count, distance, elapsed_time;
} demo_route_summary;

/* Encoders append the message's fields to w. */

static inline void demo_encode_point(pb_writer *w, const demo_point *p) {
  pbw_int32(w, 1, p->latitude);
  pbw_int32(w, 2, p->longitude);
}

static inline void demo_encode_point_field(pb_writer *w, uint32_t field,
                                           const demo_point *p) {
  pb_writer sub;
  pbw_init(&sub);
  demo_encode_point(&sub, p);
  pbw_message(w, field, &sub);
  pbw_free(&sub);
}

static inline void demo_encode_rectangle(pb_writer *w,
                                         const demo_rectangle *r) {
  demo_encode_point_field(w, 1, &r->lo);
  demo_encode_point_field(w, 2, &r->hi);
}

static inline void demo_encode_feature(pb_writer *w, const demo_feature *f) {
  pbw_string(w, 1, f->name.ptr, f->name.len);
  demo_encode_point_field(w, 2, &f->location);
}

static inline void demo_encode_route_note(pb_writer *w,
                                          const demo_route_note *n) {
  demo_encode_point_field(w, 1, &n->location);
  pbw_string(w, 2, n->message.ptr, n->message.len);
}

static inline void demo_encode_route_summary(pb_writer *w,
                                             const demo_route_summary *s) {
  pbw_int32(w, 1, s->point_count);
  pbw_int32(w, 2, s->feature_count);
  pbw_int32(w, 3, s->distance);
  pbw_int32(w, 4, s->elapsed_time);
}

/* HelloRequest.name and HelloReply.message are both field 1. */
static inline void demo_encode_hello(pb_writer *w, demo_str s) {
  pbw_string(w, 1, s.ptr, s.len);
}

/* Decoders read a whole message and merge it into *out, which the caller
 * zeroes first (proto3 defaults).  They return 0, or -1 if malformed. */

static inline int demo_decode_point_r(pb_reader r, demo_point *out) {
  uint32_t f;
  unsigned wt;
  int t;
  while ((t = pbr_tag(&r, &f, &wt)) == 1) {
    int rc = f == 1   ? pbr_int32(&r, wt, &out->latitude)
             : f == 2 ? pbr_int32(&r, wt, &out->longitude)
                      : pbr_skip(&r, wt);
    if (rc) return -1;
  }
  return t;
}

/* An embedded Point field. */
static inline int pbr_point(pb_reader *r, unsigned wire_type, demo_point *out) {
  pb_reader sub;
  if (wire_type != PB_LEN || pbr_len(r, &sub)) return -1;
  return demo_decode_point_r(sub, out);
}

static inline int demo_decode_point(const void *d, size_t n, demo_point *out) {
  return demo_decode_point_r(pbr_make(d, n), out);
}

static inline int demo_decode_rectangle(const void *d, size_t n,
                                        demo_rectangle *out) {
  pb_reader r = pbr_make(d, n);
  uint32_t f;
  unsigned wt;
  int t;
  while ((t = pbr_tag(&r, &f, &wt)) == 1) {
    int rc = f == 1   ? pbr_point(&r, wt, &out->lo)
             : f == 2 ? pbr_point(&r, wt, &out->hi)
                      : pbr_skip(&r, wt);
    if (rc) return -1;
  }
  return t;
}

static inline int demo_decode_feature(const void *d, size_t n,
                                      demo_feature *out) {
  pb_reader r = pbr_make(d, n);
  uint32_t f;
  unsigned wt;
  int t;
  while ((t = pbr_tag(&r, &f, &wt)) == 1) {
    int rc = f == 1   ? pbr_string(&r, wt, &out->name)
             : f == 2 ? pbr_point(&r, wt, &out->location)
                      : pbr_skip(&r, wt);
    if (rc) return -1;
  }
  return t;
}

static inline int demo_decode_route_note(const void *d, size_t n,
                                         demo_route_note *out) {
  pb_reader r = pbr_make(d, n);
  uint32_t f;
  unsigned wt;
  int t;
  while ((t = pbr_tag(&r, &f, &wt)) == 1) {
    int rc = f == 1   ? pbr_point(&r, wt, &out->location)
             : f == 2 ? pbr_string(&r, wt, &out->message)
                      : pbr_skip(&r, wt);
    if (rc) return -1;
  }
  return t;
}

static inline int demo_decode_route_summary(const void *d, size_t n,
                                            demo_route_summary *out) {
  pb_reader r = pbr_make(d, n);
  uint32_t f;
  unsigned wt;
  int t;
  while ((t = pbr_tag(&r, &f, &wt)) == 1) {
    int rc = f == 1   ? pbr_int32(&r, wt, &out->point_count)
             : f == 2 ? pbr_int32(&r, wt, &out->feature_count)
             : f == 3 ? pbr_int32(&r, wt, &out->distance)
             : f == 4 ? pbr_int32(&r, wt, &out->elapsed_time)
                      : pbr_skip(&r, wt);
    if (rc) return -1;
  }
  return t;
}

/* HelloRequest / HelloReply: the string in field 1. */
static inline int demo_decode_hello(const void *d, size_t n, demo_str *out) {
  pb_reader r = pbr_make(d, n);
  uint32_t f;
  unsigned wt;
  int t;
  while ((t = pbr_tag(&r, &f, &wt)) == 1) {
    int rc = f == 1 ? pbr_string(&r, wt, out) : pbr_skip(&r, wt);
    if (rc) return -1;
  }
  return t;
}

/* ------------------------------------------------------------------ */
/* The demo's world                                                     */
/* ------------------------------------------------------------------ */

/* Names and places made up for the demo: a cluster of six in the
 * north-western quadrant (negative longitudes), the rest spread over all
 * four quadrants so negative latitudes and longitudes both occur. */
typedef struct demo_place {
  const char *name;
  int32_t latitude, longitude;
} demo_place;

static inline const demo_place *demo_places(size_t *count) {
  static const demo_place places[] = {
      {"Town Hall Arch, Harborview", 407123000, -740060000},
      {"Spire Observation Deck, Harborview", 407484000, -739857000},
      {"Suspension Bridge Tower, Harborview", 407061000, -739969000},
      {"Museum Steps, Harborview", 407794000, -739632000},
      {"Neon Square, Harborview", 407580000, -739855000},
      {"Torch Island Pier, Harborview", 406892000, -740445000},
      {"Sail-Roof Concert Hall, Cove Bay", -338568000, 1512153000},
      {"Summit Statue, Granite Ridge", -229519000, -432105000},
      {"Clock Tower, Riverside", 515007000, -1246000},
      {"Iron Lattice Tower, Left Bank", 488584000, 22945000},
      {"Red Beacon Tower, Shiba Gardens", 356586000, 1397454000},
      {"Last Lighthouse, Beagle Channel", -548000000, -683000000},
  };
  *count = sizeof(places) / sizeof(places[0]);
  return places;
}

/* The place at exactly p, or NULL. */
static inline const demo_place *demo_find_place(const demo_point *p) {
  size_t n;
  const demo_place *pl = demo_places(&n);
  for (size_t i = 0; i < n; i++)
    if (pl[i].latitude == p->latitude && pl[i].longitude == p->longitude)
      return &pl[i];
  return NULL;
}

static inline int demo_point_valid(const demo_point *p) {
  return p->latitude >= -900000000 && p->latitude <= 900000000 &&
         p->longitude >= -1800000000 && p->longitude <= 1800000000;
}

static inline int demo_in_rectangle(const demo_point *p,
                                    const demo_rectangle *r) {
  int32_t lat_lo = r->lo.latitude < r->hi.latitude ? r->lo.latitude
                                                   : r->hi.latitude;
  int32_t lat_hi = r->lo.latitude < r->hi.latitude ? r->hi.latitude
                                                   : r->lo.latitude;
  int32_t lon_lo = r->lo.longitude < r->hi.longitude ? r->lo.longitude
                                                     : r->hi.longitude;
  int32_t lon_hi = r->lo.longitude < r->hi.longitude ? r->hi.longitude
                                                     : r->lo.longitude;
  return p->latitude >= lat_lo && p->latitude <= lat_hi &&
         p->longitude >= lon_lo && p->longitude <= lon_hi;
}

/* Small math without libm (the build links no -lm). */
static inline double demo_sqrt(double x) {
  if (x <= 0) return 0;
  double g = x > 1 ? x : 1;
  for (int i = 0; i < 80; i++) g = 0.5 * (g + x / g); /* Newton */
  return g;
}

/* cos(x) for |x| <= pi/2 (Taylor series, error below 1e-8). */
static inline double demo_cos(double x) {
  double x2 = x * x, term = 1, sum = 1;
  for (int k = 1; k <= 8; k++) {
    term *= -x2 / ((2 * k - 1) * (2 * k));
    sum += term;
  }
  return sum;
}

/* Distance in metres between two valid points (equirectangular
 * approximation on a sphere of radius 6371 km), rounded. */
static inline int32_t demo_distance(const demo_point *a, const demo_point *b) {
  const double pi = 3.14159265358979323846, e7_to_rad = pi / 180 / 1e7;
  double lat1 = a->latitude * e7_to_rad, lat2 = b->latitude * e7_to_rad;
  double dlon = (double)b->longitude * e7_to_rad - a->longitude * e7_to_rad;
  if (dlon > pi) dlon -= 2 * pi;
  if (dlon < -pi) dlon += 2 * pi;
  double x = dlon * demo_cos((lat1 + lat2) / 2), y = lat2 - lat1;
  double d = 6371000.0 * demo_sqrt(x * x + y * y);
  return d >= 2147483647.0 ? INT32_MAX : (int32_t)(d + 0.5);
}

#endif
