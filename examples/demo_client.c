/* cgrpc demo client: one channel, two stubs, four threads sharing them.
 *
 * Usage: demo_client --target 127.0.0.1:PORT
 *
 *   greeter-1, greeter-2  SayHello several times (2 s deadline, metadata)
 *   route                 GetFeature, ListFeatures, RecordRoute
 *   chat                  RouteChat: this thread receives while a helper
 *                         thread (chat-send) sends on the same call
 *
 * then, on the main thread, three RPCs that are meant to fail (malformed
 * request, deadline exceeded, unknown method).  Every answer is checked
 * against what demo_world.h's feature database says it must be; the exit
 * status is 0 only if every RPC ended as expected.  Messages are protoc-c
 * structs, and calls go through the stubs protoc-gen-cgrpc generated from
 * examples/protos/ (build/gen/examples/).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgrpc.h"
#include "demo_world.h"
#include "helloworld.cgrpc.h"
#include "route_guide.cgrpc.h"

static cgrpc_channel *g_channel;
static cgrpc_stub *g_greeter, *g_route;
/* One finished options builder shared by the route threads (allowed: many
 * threads may start calls with one built cgrpc_call_options). */
static cgrpc_call_options *g_route_opts;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_passed, g_failed;

static void say(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const char *who, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  printf("[%s] %s\n", who, line); /* one printf: whole lines */
}

/* Counts one RPC as passed or failed; a failure is printed. */
static int check(const char *who, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int check(const char *who, int ok, const char *fmt, ...) {
  pthread_mutex_lock(&g_mu);
  if (ok)
    g_passed++;
  else
    g_failed++;
  pthread_mutex_unlock(&g_mu);
  if (!ok) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    printf("[%s] FAILED: %s\n", who, line);
  }
  return ok;
}

/* "(40.7484, -73.9857)"; an absent Point is the origin, as in proto3. */
static const char *fmt_point(char *buf, size_t cap, const Routeguide__Point *p) {
  if (!p)
    snprintf(buf, cap, "(0.0000, 0.0000)");
  else
    snprintf(buf, cap, "(%.4f, %.4f)", p->latitude / 1e7, p->longitude / 1e7);
  return buf;
}

static Routeguide__Point make_point(int32_t lat, int32_t lon) {
  Routeguide__Point p = ROUTEGUIDE__POINT__INIT;
  p.latitude = lat;
  p.longitude = lon;
  return p;
}

static int same_point(const Routeguide__Point *a, const Routeguide__Point *b) {
  int32_t alat = a ? a->latitude : 0, alon = a ? a->longitude : 0;
  return alat == b->latitude && alon == b->longitude;
}

/* "OK" or "INVALID_ARGUMENT 'why'"; "API error ..." if rc says so. */
static const char *outcome(int rc, int code, const char *msg, char *buf,
                           size_t cap) {
  if (!msg) msg = "";
  if (rc < 0)
    snprintf(buf, cap, "API error %s", cgrpc_strerror(rc));
  else
    snprintf(buf, cap, "%s%s%s%s", cgrpc_status_name(code), msg[0] ? " '" : "",
             msg, msg[0] ? "'" : "");
  return buf;
}

/* ---------------------------------------------------------------- */
/* greeter threads                                                    */
/* ---------------------------------------------------------------- */

typedef struct greeter_job {
  const char *who;
  const char *names[3];
} greeter_job;

/* The first SayHello of each thread: started as a call (the generated
 * unary function is this, in one step), so the response headers can be
 * read with cgrpc_call_initial_metadata.  Returns the reply or NULL. */
static Helloworld__HelloReply *say_hello_with_headers(
    const cgrpc_call_options *opts, const Helloworld__HelloRequest *req,
    char *echo, size_t echo_cap, int64_t *left, int *code, char *msg,
    size_t msg_cap) {
  cgrpc_call *call = NULL;
  *code = -1;
  if (cgrpc_pbc_call_start(&call, g_greeter, "SayHello", &req->base, opts))
    return NULL;
  const cgrpc_metadata *hdrs = NULL;
  size_t len = 0;
  const uint8_t *v = NULL;
  if (cgrpc_call_initial_metadata(call, &hdrs) == CGRPC_OK)
    v = cgrpc_metadata_get(hdrs, "x-demo-echo-thread", &len);
  /* hdrs is borrowed from the call: copy before cgrpc_call_destroy. */
  if (v) snprintf(echo, echo_cap, "%.*s", (int)len, (const char *)v);
  *left = cgrpc_call_time_remaining(call);
  ProtobufCMessage *m = NULL;
  cgrpc_pbc_recv(call, &helloworld__hello_reply__descriptor, &m);
  const char *status_msg = "";
  cgrpc_call_status(call, code, &status_msg, NULL);
  snprintf(msg, msg_cap, "%s", status_msg);
  cgrpc_call_destroy(call);
  return (Helloworld__HelloReply *)m;
}

static void *greeter_thread(void *arg) {
  const greeter_job *job = arg;
  cgrpc_call_options *opts = NULL;
  if (cgrpc_call_options_create(&opts) ||
      cgrpc_call_options_set_timeout(opts, 2000) ||
      cgrpc_call_options_add_metadata(opts, "x-demo-thread", job->who,
                                      strlen(job->who))) {
    check(job->who, 0, "cannot build call options");
    cgrpc_call_options_destroy(opts);
    return NULL;
  }
  for (size_t i = 0; i < 3; i++) {
    const char *name = job->names[i];
    Helloworld__HelloRequest req = HELLOWORLD__HELLO_REQUEST__INIT;
    req.name = (char *)name;
    Helloworld__HelloReply *reply = NULL;
    int rc = CGRPC_OK, code = -1;
    char msg[256] = "", echo[64] = "", why[400], expect[128];
    int64_t left = -1;
    if (i == 0) {
      reply = say_hello_with_headers(opts, &req, echo, sizeof(echo), &left,
                                     &code, msg, sizeof(msg));
    } else {
      /* The generated blocking call: request in, reply and status out. */
      char *m = NULL;
      rc = helloworld_greeter_say_hello(g_greeter, &req, &reply, opts, &code,
                                        &m);
      snprintf(msg, sizeof(msg), "%s", m ? m : "");
      cgrpc_free(m);
    }
    snprintf(expect, sizeof(expect), "Hello %s", name);
    int ok = rc == CGRPC_OK && code == CGRPC_STATUS_OK && reply &&
             strcmp(reply->message, expect) == 0 &&
             (i > 0 || strcmp(echo, job->who) == 0);
    if (check(job->who, ok, "SayHello(name='%s') -> %s, echoed thread '%s'",
              name, outcome(rc, code, msg, why, sizeof(why)), echo)) {
      if (i == 0)
        say(job->who,
            "SayHello(name='%s') -> '%s'  [header x-demo-echo-thread=%s, "
            "%" PRId64 " ms of the 2000 ms deadline left]",
            name, reply->message, echo, left);
      else
        say(job->who, "SayHello(name='%s') -> '%s'", name, reply->message);
    }
    helloworld__hello_reply__free_unpacked(reply, NULL);
  }
  cgrpc_call_options_destroy(opts);
  return NULL;
}

/* ---------------------------------------------------------------- */
/* route thread: GetFeature, ListFeatures, RecordRoute                */
/* ---------------------------------------------------------------- */

static void get_feature(const char *who, Routeguide__Point p) {
  char pb[64], why[400];
  Routeguide__Feature *f = NULL;
  int code = -1;
  char *msg = NULL;
  int rc = routeguide_route_guide_get_feature(g_route, &p, &f, g_route_opts,
                                              &code, &msg);
  size_t wire_len = routeguide__point__get_packed_size(&p);
  const demo_place *want = demo_find_place(&p);
  int ok = rc == CGRPC_OK && code == CGRPC_STATUS_OK && f &&
           strcmp(f->name, want ? want->name : "") == 0 &&
           same_point(f->location, &p);
  if (check(who, ok, "GetFeature%s -> %s", fmt_point(pb, sizeof(pb), &p),
            outcome(rc, code, msg, why, sizeof(why)))) {
    if (f->name[0])
      say(who, "GetFeature%s [%zu-byte request] -> '%s'", pb, wire_len,
          f->name);
    else
      say(who, "GetFeature%s [%zu-byte request] -> no feature there", pb,
          wire_len);
  }
  routeguide__feature__free_unpacked(f, NULL);
  cgrpc_free(msg);
}

static void list_features(const char *who) {
  Routeguide__Point lo = make_point(407000000, -740000000),
                    hi = make_point(407900000, -739500000);
  Routeguide__Rectangle rect = ROUTEGUIDE__RECTANGLE__INIT;
  rect.lo = &lo;
  rect.hi = &hi;
  char slo[64], shi[64], pb[64], why[400];
  say(who, "ListFeatures(lo=%s, hi=%s) streams:", fmt_point(slo, sizeof(slo), &lo),
      fmt_point(shi, sizeof(shi), &hi));

  cgrpc_call *call = NULL;
  int rc = routeguide_route_guide_list_features_start(&call, g_route, &rect,
                                                      g_route_opts);
  size_t n, got = 0, matched = 0, expected = 0;
  const demo_place *pl = demo_places(&n);
  /* The expected answer: the database's places in the rectangle, in
   * database order. */
  size_t next = 0;
  Routeguide__Feature *f;
  while (rc == CGRPC_OK &&
         (rc = routeguide_route_guide_list_features_recv(call, &f)) == CGRPC_OK) {
    while (next < n) {
      Routeguide__Point p = make_point(pl[next].latitude, pl[next].longitude);
      if (demo_in_rectangle(&p, &lo, &hi)) break;
      next++;
    }
    if (next < n && strcmp(f->name, pl[next].name) == 0 &&
        f->location && f->location->latitude == pl[next].latitude &&
        f->location->longitude == pl[next].longitude) {
      matched++;
      say(who, "  <- '%s' at %s", f->name, fmt_point(pb, sizeof(pb), f->location));
    }
    next++;
    got++;
    routeguide__feature__free_unpacked(f, NULL);
  }
  for (size_t i = 0; i < n; i++) {
    Routeguide__Point p = make_point(pl[i].latitude, pl[i].longitude);
    if (demo_in_rectangle(&p, &lo, &hi)) expected++;
  }
  int code = -1;
  const char *msg = "";
  if (call) cgrpc_call_status(call, &code, &msg, NULL);
  int ok = rc == CGRPC_DONE && code == CGRPC_STATUS_OK && got == expected &&
           matched == expected;
  if (check(who, ok, "ListFeatures -> %s, %zu features (%zu expected, %zu right)",
            outcome(rc, code, msg, why, sizeof(why)), got, expected, matched))
    say(who, "ListFeatures -> %zu features, status OK", got);
  cgrpc_call_destroy(call);
}

static void record_route(const char *who) {
  size_t n;
  const demo_place *pl = demo_places(&n);
  /* Four database places, two empty spots, one place south-west. */
  const Routeguide__Point route[] = {
      make_point(pl[0].latitude, pl[0].longitude), make_point(407300000, -739900000),
      make_point(pl[4].latitude, pl[4].longitude), make_point(pl[1].latitude, pl[1].longitude),
      make_point(407650000, -739700000),           make_point(pl[3].latitude, pl[3].longitude),
      make_point(pl[7].latitude, pl[7].longitude),
  };
  const size_t npoints = sizeof(route) / sizeof(route[0]);
  int32_t want_features = 0, want_distance = 0;
  for (size_t i = 0; i < npoints; i++) {
    if (demo_find_place(&route[i])) want_features++;
    if (i) want_distance += demo_distance(&route[i - 1], &route[i]);
  }

  cgrpc_call *call = NULL;
  char first[64], last[64], why[400];
  int rc = routeguide_route_guide_record_route_start(&call, g_route, g_route_opts);
  for (size_t i = 0; rc == CGRPC_OK && i < npoints; i++)
    rc = routeguide_route_guide_record_route_send(call, &route[i], 0);
  say(who, "RecordRoute: sent %zu points %s ... %s", npoints,
      fmt_point(first, sizeof(first), &route[0]),
      fmt_point(last, sizeof(last), &route[npoints - 1]));
  Routeguide__RouteSummary *s = NULL;
  int code = -1;
  char *msg = NULL;
  /* E_CLOSED: the call ended early; its status says why. */
  if (call && (rc == CGRPC_OK || rc == CGRPC_E_CLOSED))
    rc = routeguide_route_guide_record_route_close_and_recv(call, &s, &code, &msg);
  cgrpc_call_destroy(call);
  int ok = rc == CGRPC_OK && code == CGRPC_STATUS_OK && s &&
           s->point_count == (int32_t)npoints && s->feature_count == want_features &&
           s->distance == want_distance && s->elapsed_time >= 0;
  if (check(who, ok,
            "RecordRoute -> %s, summary {points %" PRId32 ", features %" PRId32
            ", distance %" PRId32 "} (expected {%zu, %" PRId32 ", %" PRId32 "})",
            outcome(rc, code, msg, why, sizeof(why)), s ? s->point_count : 0,
            s ? s->feature_count : 0, s ? s->distance : 0, npoints, want_features,
            want_distance))
    say(who,
        "RecordRoute -> RouteSummary{point_count=%" PRId32
        ", feature_count=%" PRId32 ", distance=%" PRId32
        " m, elapsed_time=%" PRId32 " s}",
        s->point_count, s->feature_count, s->distance, s->elapsed_time);
  routeguide__route_summary__free_unpacked(s, NULL);
  cgrpc_free(msg);
}

static void *route_thread(void *arg) {
  const char *who = "route";
  size_t n;
  const demo_place *pl = demo_places(&n);
  get_feature(who, make_point(pl[7].latitude, pl[7].longitude));
  get_feature(who, make_point(pl[11].latitude, pl[11].longitude));
  get_feature(who, make_point(0, 0)); /* an empty (0-byte) Point */
  list_features(who);
  record_route(who);
  return NULL;
}

/* ---------------------------------------------------------------- */
/* chat thread: RouteChat, sending and receiving from two threads     */
/* ---------------------------------------------------------------- */

typedef struct chat_note {
  int place; /* index into demo_places() */
  const char *text;
} chat_note;

static const chat_note k_chat[] = {
    {0, "first note at the Town Hall"},   {4, "meet me at Neon Square"},
    {0, "second note at the Town Hall"},  {6, "greetings from Cove Bay"},
    {4, "still waiting at Neon Square"},  {0, "third note at the Town Hall"},
};
#define CHAT_N (sizeof(k_chat) / sizeof(k_chat[0]))

static void *chat_sender(void *arg) {
  cgrpc_call *call = arg;
  size_t n;
  const demo_place *pl = demo_places(&n);
  for (size_t i = 0; i < CHAT_N; i++) {
    Routeguide__Point at = make_point(pl[k_chat[i].place].latitude,
                                      pl[k_chat[i].place].longitude);
    Routeguide__RouteNote note = ROUTEGUIDE__ROUTE_NOTE__INIT;
    note.location = &at;
    note.message = (char *)k_chat[i].text;
    int rc = routeguide_route_guide_route_chat_send(call, &note, 0);
    if (rc != CGRPC_OK) {
      say("chat-send", "send stopped: %s", cgrpc_strerror(rc));
      return NULL; /* the receiver sees the status */
    }
    say("chat-send", "-> '%s' at %s", k_chat[i].text, pl[k_chat[i].place].name);
    struct timespec pause = {0, 20 * 1000000L};
    nanosleep(&pause, NULL);
  }
  cgrpc_call_close_send(call);
  say("chat-send", "half-closed after %zu notes", (size_t)CHAT_N);
  return NULL;
}

static void *chat_thread(void *arg) {
  const char *who = "chat";
  /* What the server must send back: for each note, the earlier notes at
   * the same place, oldest first. */
  size_t want[CHAT_N * CHAT_N], nwant = 0;
  for (size_t i = 0; i < CHAT_N; i++)
    for (size_t j = 0; j < i; j++)
      if (k_chat[j].place == k_chat[i].place) want[nwant++] = j;

  cgrpc_call *call = NULL;
  int rc = routeguide_route_guide_route_chat_start(&call, g_route, g_route_opts);
  if (rc) {
    check(who, 0, "RouteChat: start: %s", cgrpc_strerror(rc));
    return NULL;
  }
  say(who, "RouteChat started; chat-send sends while this thread receives");
  pthread_t sender;
  int have_sender = pthread_create(&sender, NULL, chat_sender, call) == 0;
  if (!have_sender) {
    cgrpc_call_cancel(call);
    check(who, 0, "cannot start the sender thread");
  }

  size_t n, got = 0, right = 0;
  const demo_place *pl = demo_places(&n);
  Routeguide__RouteNote *note;
  while ((rc = routeguide_route_guide_route_chat_recv(call, &note)) == CGRPC_OK) {
    const demo_place *at = note->location ? demo_find_place(note->location) : NULL;
    say(who, "<- '%s' at %s", note->message, at ? at->name : "?");
    if (got < nwant) {
      const chat_note *w = &k_chat[want[got]];
      Routeguide__Point wp = make_point(pl[w->place].latitude, pl[w->place].longitude);
      if (same_point(note->location, &wp) && strcmp(note->message, w->text) == 0)
        right++;
    }
    got++;
    routeguide__route_note__free_unpacked(note, NULL);
  }
  int code = -1;
  const char *msg = "";
  cgrpc_call_status(call, &code, &msg, NULL);
  if (have_sender) pthread_join(sender, NULL);
  char why[400];
  if (check(who, rc == CGRPC_DONE && code == CGRPC_STATUS_OK && got == nwant &&
                     right == nwant,
            "RouteChat -> %s, %zu notes back (%zu expected, %zu right)",
            outcome(rc == CGRPC_DONE ? 0 : rc, code, msg, why, sizeof(why)),
            got, nwant, right))
    say(who, "RouteChat -> %zu notes back, status OK", got);
  cgrpc_call_destroy(call);
  return NULL;
}

/* ---------------------------------------------------------------- */
/* RPCs meant to fail                                                 */
/* ---------------------------------------------------------------- */

static void expect_status(const char *who, const char *what, int rc, int code,
                          const char *msg, int want) {
  char why[400];
  if (check(who, rc >= 0 && code == want, "%s -> %s (expected %s)", what,
            outcome(rc, code, msg, why, sizeof(why)), cgrpc_status_name(want)))
    say(who, "%s -> %s (as expected)", what, why);
}

static void error_cases(void) {
  const char *who = "errors";
  int code = -1;
  const char *msg = "";

  /* A Point whose latitude varint is cut short: bytes the generated
   * stubs would never send, so they go through the bytes-level API. */
  static const uint8_t truncated[] = {0x08, 0xff, 0xff};
  cgrpc_call *call = NULL;
  int rc = cgrpc_stub_call_start(&call, g_route, "GetFeature", g_route_opts);
  if (!rc) {
    cgrpc_call_send(call, truncated, sizeof(truncated), CGRPC_SEND_LAST);
    cgrpc_call_status(call, &code, &msg, NULL);
  }
  expect_status(who, "GetFeature(3 bytes of broken protobuf)", rc, code, msg,
                CGRPC_STATUS_INTERNAL);
  cgrpc_call_destroy(call);

  /* A client that sends one point and then dawdles past its deadline. */
  cgrpc_call_options *quick = NULL;
  call = NULL;
  code = -1;
  char *smsg = NULL;
  rc = cgrpc_call_options_create(&quick);
  if (!rc) rc = cgrpc_call_options_set_timeout(quick, 300);
  if (!rc) rc = routeguide_route_guide_record_route_start(&call, g_route, quick);
  if (!rc) {
    Routeguide__Point p = make_point(407123000, -740060000);
    rc = routeguide_route_guide_record_route_send(call, &p, 0); /* no half-close */
    /* Wait (bounded) for the deadline to end the call; the half-close
     * that close_and_recv sends after it is too late to matter. */
    Routeguide__RouteSummary *s = NULL;
    unsigned ready = 0;
    cgrpc_call_wait(call, CGRPC_EVENT_DONE, 5000, &ready);
    if (rc == CGRPC_OK || rc == CGRPC_E_CLOSED)
      rc = routeguide_route_guide_record_route_close_and_recv(call, &s, &code,
                                                               &smsg);
    routeguide__route_summary__free_unpacked(s, NULL);
  }
  expect_status(who, "RecordRoute(1 point, no half-close, 300 ms deadline)", rc,
                code, smsg, CGRPC_STATUS_DEADLINE_EXCEEDED);
  cgrpc_free(smsg);
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(quick);

  /* A method the server does not have. */
  Routeguide__Point origin = make_point(0, 0);
  ProtobufCMessage *reply = NULL;
  smsg = NULL;
  rc = cgrpc_pbc_unary(g_route, "GetFeatures", &origin.base,
                       &routeguide__feature__descriptor, &reply, g_route_opts,
                       &code, &smsg);
  expect_status(who, "routeguide.RouteGuide/GetFeatures (no such method)", rc,
                code, smsg, CGRPC_STATUS_UNIMPLEMENTED);
  protobuf_c_message_free_unpacked(reply, NULL);
  cgrpc_free(smsg);
}

/* ---------------------------------------------------------------- */

static const char *state_name(cgrpc_connectivity_state s) {
  static const char *names[] = {"IDLE", "CONNECTING", "READY",
                                "TRANSIENT_FAILURE", "SHUTDOWN"};
  return (unsigned)s < 5 ? names[s] : "?";
}

int main(int argc, char **argv) {
  const char *target = NULL;
  for (int i = 1; i + 1 < argc; i += 2)
    if (strcmp(argv[i], "--target") == 0) target = argv[i + 1];
  if (!target || argc != 3) {
    fprintf(stderr, "usage: %s --target HOST:PORT\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);

  cgrpc_channel_options *copts = NULL;
  int rc = cgrpc_channel_options_create(&copts);
  if (!rc) rc = cgrpc_channel_options_set_user_agent(copts, "cgrpc-demo/1");
  if (!rc) rc = cgrpc_channel_create(&g_channel, target, copts);
  cgrpc_channel_options_destroy(copts);
  if (!rc) rc = helloworld_greeter_stub_create(&g_greeter, g_channel);
  if (!rc) rc = routeguide_route_guide_stub_create(&g_route, g_channel);
  if (!rc) rc = cgrpc_call_options_create(&g_route_opts);
  if (!rc) rc = cgrpc_call_options_set_timeout(g_route_opts, 10000);
  if (rc) {
    fprintf(stderr, "demo_client: %s: %s %s\n", target, cgrpc_strerror(rc),
            cgrpc_last_error());
    return 1;
  }
  say("main", "cgrpc %s: one channel to %s (%s), stubs for %s and %s",
      cgrpc_version(), target, state_name(cgrpc_channel_state(g_channel, 0)),
      cgrpc_stub_service(g_greeter), cgrpc_stub_service(g_route));

  static const greeter_job g1 = {"greeter-1", {"Ada", "Grace", "Barbara"}};
  static const greeter_job g2 = {"greeter-2", {"Ken", "Dennis", "Margaret"}};
  struct {
    const char *name;
    void *(*fn)(void *);
    const void *arg;
    pthread_t tid;
    int started;
  } threads[] = {
      {"greeter-1", greeter_thread, &g1, 0, 0},
      {"greeter-2", greeter_thread, &g2, 0, 0},
      {"route", route_thread, NULL, 0, 0},
      {"chat", chat_thread, NULL, 0, 0},
  };
  const size_t nthreads = sizeof(threads) / sizeof(threads[0]);
  say("main", "starting %zu threads that share the channel and stubs",
      nthreads);
  for (size_t i = 0; i < nthreads; i++) {
    threads[i].started = pthread_create(&threads[i].tid, NULL, threads[i].fn,
                                        (void *)threads[i].arg) == 0;
    if (!threads[i].started) check("main", 0, "cannot start %s", threads[i].name);
  }
  for (size_t i = 0; i < nthreads; i++)
    if (threads[i].started) pthread_join(threads[i].tid, NULL);
  say("main", "all threads done; channel is %s",
      state_name(cgrpc_channel_state(g_channel, 0)));

  error_cases();

  cgrpc_call_options_destroy(g_route_opts);
  cgrpc_stub_destroy(g_greeter);
  cgrpc_stub_destroy(g_route);
  cgrpc_channel_destroy(g_channel);

  printf("summary: %d RPCs on one channel from %zu threads: %d as expected, "
         "%d failed -> %s\n",
         g_passed + g_failed, nthreads, g_passed, g_failed,
         g_failed ? "FAIL" : "OK");
  return g_failed ? 1 : 0;
}
