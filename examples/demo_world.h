/* The demo's small feature database and geometry, shared by demo_server
 * and demo_client so the client can check what the server answers.  The
 * messages themselves are protoc-c's, generated from
 * examples/protos/route_guide.proto (build/gen/examples/).
 *
 * Everything is static inline so each program compiles only what it uses.
 */
#ifndef DEMO_WORLD_H
#define DEMO_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "route_guide.pb-c.h"

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
static inline const demo_place *demo_find_place(const Routeguide__Point *p) {
  size_t n;
  const demo_place *pl = demo_places(&n);
  for (size_t i = 0; i < n; i++)
    if (pl[i].latitude == p->latitude && pl[i].longitude == p->longitude)
      return &pl[i];
  return NULL;
}

static inline int demo_point_valid(const Routeguide__Point *p) {
  return p->latitude >= -900000000 && p->latitude <= 900000000 &&
         p->longitude >= -1800000000 && p->longitude <= 1800000000;
}

/* Whether p lies in the rectangle with corners lo and hi (either order). */
static inline int demo_in_rectangle(const Routeguide__Point *p,
                                    const Routeguide__Point *lo,
                                    const Routeguide__Point *hi) {
  int32_t lat_lo = lo->latitude < hi->latitude ? lo->latitude : hi->latitude;
  int32_t lat_hi = lo->latitude < hi->latitude ? hi->latitude : lo->latitude;
  int32_t lon_lo = lo->longitude < hi->longitude ? lo->longitude : hi->longitude;
  int32_t lon_hi = lo->longitude < hi->longitude ? hi->longitude : lo->longitude;
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
static inline int32_t demo_distance(const Routeguide__Point *a,
                                    const Routeguide__Point *b) {
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
