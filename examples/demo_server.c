/* cgrpc demo server: two services on one server, served through the
 * skeletons protoc-gen-cgrpc generated from examples/protos/.
 *
 *   helloworld.Greeter/SayHello          unary
 *   routeguide.RouteGuide/GetFeature     unary
 *   routeguide.RouteGuide/ListFeatures   server streaming
 *   routeguide.RouteGuide/RecordRoute    client streaming
 *   routeguide.RouteGuide/RouteChat      bidirectional streaming
 *
 * Usage: demo_server [--host 127.0.0.1] [--port 0]
 * Prints "PORT <n>" once listening, logs one line per RPC, and serves
 * until SIGTERM or SIGINT.  Handlers get protoc-c messages; a request that
 * does not parse never reaches them (the skeleton ends the RPC with
 * INTERNAL).
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgrpc.h"
#include "demo_world.h"
#include "helloworld.cgrpc.h"
#include "route_guide.cgrpc.h"

/* Bounds on what one call may make the server hold or count. */
#define MAX_ROUTE_POINTS 100000
#define MAX_CHAT_NOTES 1000

static void logf_(cgrpc_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(cgrpc_call *call, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  /* One printf per line: lines from handler threads never interleave. */
  printf("[server] %s %s (peer %s)\n", cgrpc_call_method(call), line,
         cgrpc_call_peer(call));
}

static int invalid(cgrpc_call *call, const char *why) {
  logf_(call, "-> INVALID_ARGUMENT: %s", why);
  cgrpc_call_finish(call, CGRPC_STATUS_INVALID_ARGUMENT, why, NULL);
  return CGRPC_STATUS_INVALID_ARGUMENT;
}

/* A heap copy: a unary reply is freed with <type>__free_unpacked after
 * it is sent, so everything in it comes from malloc. */
static char *dup_text(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static Routeguide__Point *new_point(int32_t lat, int32_t lon) {
  Routeguide__Point *p = malloc(sizeof(*p));
  if (p) {
    routeguide__point__init(p);
    p->latitude = lat;
    p->longitude = lon;
  }
  return p;
}

/* An absent message field reads as the empty message, as in proto3. */
static const Routeguide__Point k_origin = ROUTEGUIDE__POINT__INIT;
static const Routeguide__Point *point_or_origin(const Routeguide__Point *p) {
  return p ? p : &k_origin;
}

/* ---------------------------------------------------------------- */
/* helloworld.Greeter                                                 */
/* ---------------------------------------------------------------- */

static int say_hello(cgrpc_call *call, const Helloworld__HelloRequest *req,
                     Helloworld__HelloReply *reply, void *ud) {
  /* Echo the caller's x-demo-thread back in the response headers. */
  const cgrpc_metadata *md;
  size_t tlen = 0;
  const uint8_t *thread = NULL;
  if (cgrpc_call_initial_metadata(call, &md) == CGRPC_OK)
    thread = cgrpc_metadata_get(md, "x-demo-thread", &tlen);
  if (thread) {
    cgrpc_metadata *out;
    if (cgrpc_metadata_create(&out) == CGRPC_OK) {
      cgrpc_metadata_add(out, "x-demo-echo-thread", thread, tlen);
      cgrpc_call_send_initial_metadata(call, out);
      cgrpc_metadata_destroy(out);
    }
  }
  char text[320];
  snprintf(text, sizeof(text), "Hello %.256s", req->name);
  logf_(call, "name='%.64s' thread=%.*s", req->name, (int)tlen,
        thread ? (const char *)thread : "");
  reply->message = dup_text(text);
  return reply->message ? CGRPC_STATUS_OK : CGRPC_STATUS_RESOURCE_EXHAUSTED;
}

/* ---------------------------------------------------------------- */
/* routeguide.RouteGuide                                              */
/* ---------------------------------------------------------------- */

static int get_feature(cgrpc_call *call, const Routeguide__Point *p,
                       Routeguide__Feature *reply, void *ud) {
  if (!demo_point_valid(p)) return invalid(call, "Point out of range");
  const demo_place *pl = demo_find_place(p);
  logf_(call, "(%" PRId32 ", %" PRId32 ") -> '%s'", p->latitude, p->longitude,
        pl ? pl->name : "");
  reply->name = dup_text(pl ? pl->name : "");
  reply->location = new_point(p->latitude, p->longitude);
  return reply->name && reply->location ? CGRPC_STATUS_OK
                                        : CGRPC_STATUS_RESOURCE_EXHAUSTED;
}

static int list_features(cgrpc_call *call, const Routeguide__Rectangle *r,
                         void *ud) {
  const Routeguide__Point *lo = point_or_origin(r->lo),
                          *hi = point_or_origin(r->hi);
  size_t n, sent = 0;
  const demo_place *pl = demo_places(&n);
  int rc = CGRPC_OK;
  for (size_t i = 0; i < n && rc == CGRPC_OK; i++) {
    Routeguide__Point p = ROUTEGUIDE__POINT__INIT;
    p.latitude = pl[i].latitude;
    p.longitude = pl[i].longitude;
    if (!demo_in_rectangle(&p, lo, hi)) continue;
    /* A streamed message is packed at once: stack values are fine. */
    Routeguide__Feature f = ROUTEGUIDE__FEATURE__INIT;
    f.name = (char *)pl[i].name;
    f.location = &p;
    rc = routeguide_route_guide_list_features_send_response(call, &f);
    if (rc == CGRPC_OK) sent++;
  }
  if (rc == CGRPC_E_CANCELLED) {
    logf_(call, "cancelled");
    return CGRPC_STATUS_CANCELLED;
  }
  logf_(call, "streamed %zu features", sent);
  return rc == CGRPC_OK ? CGRPC_STATUS_OK : CGRPC_STATUS_INTERNAL;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int record_route(cgrpc_call *call, Routeguide__RouteSummary *s,
                        void *ud) {
  int64_t start = now_ms();
  Routeguide__Point prev = ROUTEGUIDE__POINT__INIT;
  int64_t distance = 0;
  Routeguide__Point *p;
  int rc;
  while ((rc = routeguide_route_guide_record_route_recv_request(call, &p)) ==
         CGRPC_OK) {
    int valid = demo_point_valid(p);
    Routeguide__Point cur = *p;
    routeguide__point__free_unpacked(p, NULL);
    if (!valid) return invalid(call, "Point out of range");
    if (s->point_count == MAX_ROUTE_POINTS) {
      logf_(call, "-> RESOURCE_EXHAUSTED");
      cgrpc_call_finish(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                        "too many points", NULL);
      return CGRPC_STATUS_RESOURCE_EXHAUSTED;
    }
    if (s->point_count > 0) distance += demo_distance(&prev, &cur);
    if (demo_find_place(&cur)) s->feature_count++;
    s->point_count++;
    prev = cur;
  }
  if (rc != CGRPC_DONE) {
    /* Cancelled, or a Point that did not parse (already INTERNAL). */
    logf_(call, "ended early: %s", cgrpc_strerror(rc));
    return CGRPC_STATUS_CANCELLED;
  }
  s->distance = distance > INT32_MAX ? INT32_MAX : (int32_t)distance;
  s->elapsed_time = (int32_t)((now_ms() - start) / 1000);
  logf_(call, "%" PRId32 " points, %" PRId32 " features, %" PRId32 " m",
        s->point_count, s->feature_count, s->distance);
  return CGRPC_STATUS_OK;
}

/* For each note received, sends back every earlier note of this call at
 * the same location, then keeps it.  Notes are kept per call, so what a
 * client gets back depends only on what it sent. */
static int route_chat(cgrpc_call *call, void *ud) {
  Routeguide__RouteNote **notes = calloc(MAX_CHAT_NOTES, sizeof(*notes));
  if (!notes) {
    cgrpc_call_finish(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "no memory", NULL);
    return CGRPC_STATUS_RESOURCE_EXHAUSTED;
  }
  size_t count = 0, sent = 0;
  const char *bad = NULL;
  int rc = CGRPC_OK;
  Routeguide__RouteNote *n;
  while (!bad && (rc = routeguide_route_guide_route_chat_recv_request(
                      call, &n)) == CGRPC_OK) {
    const Routeguide__Point *at = point_or_origin(n->location);
    if (!demo_point_valid(at))
      bad = "RouteNote location out of range";
    else if (count == MAX_CHAT_NOTES)
      bad = "too many notes";
    for (size_t i = 0; !bad && rc == CGRPC_OK && i < count; i++) {
      const Routeguide__Point *old = point_or_origin(notes[i]->location);
      if (old->latitude != at->latitude || old->longitude != at->longitude)
        continue;
      rc = routeguide_route_guide_route_chat_send_response(call, notes[i]);
      sent++;
    }
    if (!bad && rc == CGRPC_OK)
      notes[count++] = n; /* kept: freed below */
    else
      routeguide__route_note__free_unpacked(n, NULL);
    if (rc != CGRPC_OK) break;
  }
  int code = CGRPC_STATUS_OK;
  if (bad) {
    code = invalid(call, bad);
  } else if (rc != CGRPC_DONE) {
    logf_(call, "ended early: %s", cgrpc_strerror(rc));
    code = CGRPC_STATUS_CANCELLED;
  } else {
    logf_(call, "%zu notes in, %zu notes out", count, sent);
  }
  for (size_t i = 0; i < count; i++)
    routeguide__route_note__free_unpacked(notes[i], NULL);
  free(notes);
  return code;
}

/* ---------------------------------------------------------------- */

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *port = "0";
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 < argc && strcmp(argv[i], "--host") == 0)
      host = argv[i + 1];
    else if (i + 1 < argc && strcmp(argv[i], "--port") == 0)
      port = argv[i + 1];
    else {
      fprintf(stderr, "usage: %s [--host 127.0.0.1] [--port 0]\n", argv[0]);
      return 2;
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);

  /* Block the stop signals before any thread exists, so every thread the
   * library starts inherits the mask; main takes them with sigwait. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);

  static const helloworld_greeter_impl greeter = {.say_hello = say_hello};
  static const routeguide_route_guide_impl route_guide = {
      .get_feature = get_feature,
      .list_features = list_features,
      .record_route = record_route,
      .route_chat = route_chat,
  };

  char addr[300];
  snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host,
           port);
  cgrpc_server *srv = NULL;
  int bound = 0;
  int rc = cgrpc_server_create(&srv, NULL);
  if (!rc) rc = helloworld_greeter_register(srv, &greeter, NULL, NULL);
  if (!rc) rc = routeguide_route_guide_register(srv, &route_guide, NULL, NULL);
  if (!rc) rc = cgrpc_server_add_listener(srv, addr, &bound);
  if (!rc) rc = cgrpc_server_start(srv);
  if (rc) {
    fprintf(stderr, "demo_server: %s: %s %s\n", addr, cgrpc_strerror(rc),
            cgrpc_last_error());
    cgrpc_server_destroy(srv);
    return 1;
  }
  printf("PORT %d\n", bound);
  printf("[server] serving helloworld.Greeter and routeguide.RouteGuide on "
         "%s port %d\n",
         host, bound);

  int sig = 0;
  sigwait(&stop, &sig);
  printf("[server] %s: shutting down (grace 1000 ms)\n",
         sig == SIGINT ? "SIGINT" : "SIGTERM");
  cgrpc_server_shutdown(srv, 1000);
  cgrpc_server_destroy(srv);
  printf("[server] stopped\n");
  return 0;
}
