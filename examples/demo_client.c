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
 * against what demo_proto.h's feature database says it must be; the exit
 * status is 0 only if every RPC ended as expected.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgrpc.h"
#include "demo_proto.h"

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

/* "(40.7484, -73.9857)" */
static const char *fmt_point(char *buf, size_t cap, const demo_point *p) {
  snprintf(buf, cap, "(%.4f, %.4f)", p->latitude / 1e7, p->longitude / 1e7);
  return buf;
}

static int str_eq(demo_str a, const char *b) {
  return a.len == strlen(b) && (a.len == 0 || memcmp(a.ptr, b, a.len) == 0);
}

/* The outcome of one call. */
typedef struct rpc {
  int api_rc;            /* CGRPC_OK, or the API error that stopped it */
  int code;              /* gRPC status */
  char message[256];     /* status message */
  cgrpc_buffer *replies[16];
  size_t nreplies;
} rpc;

static void rpc_free(rpc *r) {
  for (size_t i = 0; i < r->nreplies; i++) cgrpc_buffer_free(r->replies[i]);
  r->nreplies = 0;
}

/* Reads every response and the status of a started call into *r. */
static void rpc_collect(cgrpc_call *call, rpc *r) {
  cgrpc_buffer *m;
  int rc;
  while ((rc = cgrpc_call_recv(call, &m)) == CGRPC_OK) {
    if (r->nreplies < sizeof(r->replies) / sizeof(r->replies[0]))
      r->replies[r->nreplies++] = m;
    else
      cgrpc_buffer_free(m);
  }
  if (rc != CGRPC_DONE && r->api_rc == CGRPC_OK) r->api_rc = rc;
  const char *msg = "";
  cgrpc_call_status(call, &r->code, &msg, NULL);
  snprintf(r->message, sizeof(r->message), "%s", msg);
}

/* One request, any number of responses (unary and server streaming). */
static void rpc_run(const cgrpc_stub *stub, const char *method,
                    const void *req, size_t len,
                    const cgrpc_call_options *opts, rpc *r) {
  memset(r, 0, sizeof(*r));
  cgrpc_call *call = NULL;
  r->api_rc = cgrpc_stub_call_start(&call, stub, method, opts);
  if (r->api_rc != CGRPC_OK) {
    r->code = -1;
    return;
  }
  int rc = cgrpc_call_send(call, req, len, CGRPC_SEND_LAST);
  /* E_CLOSED: the call already ended; its status says why. */
  if (rc != CGRPC_OK && rc != CGRPC_E_CLOSED) r->api_rc = rc;
  rpc_collect(call, r);
  cgrpc_call_destroy(call);
}

static const char *outcome(const rpc *r, char *buf, size_t cap) {
  if (r->api_rc != CGRPC_OK)
    snprintf(buf, cap, "API error %s, status %s '%s'",
             cgrpc_strerror(r->api_rc), cgrpc_status_name(r->code), r->message);
  else
    snprintf(buf, cap, "%s%s%s%s", cgrpc_status_name(r->code),
             r->message[0] ? " '" : "", r->message, r->message[0] ? "'" : "");
  return buf;
}

/* ---------------------------------------------------------------- */
/* greeter threads                                                    */
/* ---------------------------------------------------------------- */

typedef struct greeter_job {
  const char *who;
  const char *names[3];
} greeter_job;

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
    pb_writer w;
    pbw_init(&w);
    demo_encode_hello(&w, demo_cstr(name));

    cgrpc_call *call = NULL;
    int rc = cgrpc_stub_call_start(&call, g_greeter, "SayHello", opts);
    if (rc) {
      check(job->who, 0, "SayHello: start: %s", cgrpc_strerror(rc));
      pbw_free(&w);
      continue;
    }
    rc = cgrpc_call_send(call, w.data, w.len, CGRPC_SEND_LAST);
    pbw_free(&w);
    /* The response headers carry our x-demo-thread back. */
    const cgrpc_metadata *hdrs = NULL;
    size_t echo_len = 0;
    const uint8_t *v = NULL;
    char echo[64] = "";
    if (cgrpc_call_initial_metadata(call, &hdrs) == CGRPC_OK)
      v = cgrpc_metadata_get(hdrs, "x-demo-echo-thread", &echo_len);
    /* hdrs is borrowed from the call: copy before cgrpc_call_destroy. */
    if (v) snprintf(echo, sizeof(echo), "%.*s", (int)echo_len, (const char *)v);
    int64_t left = cgrpc_call_time_remaining(call);
    rpc r;
    memset(&r, 0, sizeof(r));
    if (rc != CGRPC_OK && rc != CGRPC_E_CLOSED) r.api_rc = rc;
    rpc_collect(call, &r);
    cgrpc_call_destroy(call);

    char expect[128], why[400];
    snprintf(expect, sizeof(expect), "Hello %s", name);
    demo_str got = {"", 0};
    int ok = r.api_rc == CGRPC_OK && r.code == CGRPC_STATUS_OK &&
             r.nreplies == 1 &&
             demo_decode_hello(cgrpc_buffer_data(r.replies[0]),
                               cgrpc_buffer_len(r.replies[0]), &got) == 0 &&
             str_eq(got, expect) && strcmp(echo, job->who) == 0;
    if (check(job->who, ok,
              "SayHello(name='%s') -> %s, %zu replies, echoed thread '%s'",
              name, outcome(&r, why, sizeof(why)), r.nreplies, echo))
      say(job->who,
          "SayHello(name='%s') -> '%.*s'  [header x-demo-echo-thread=%s, "
          "%" PRId64 " ms of the 2000 ms deadline left]",
          name, (int)got.len, got.ptr, echo, left);
    rpc_free(&r);
  }
  cgrpc_call_options_destroy(opts);
  return NULL;
}

/* ---------------------------------------------------------------- */
/* route thread: GetFeature, ListFeatures, RecordRoute                */
/* ---------------------------------------------------------------- */

static void get_feature(const char *who, demo_point p) {
  char pb[64], why[400];
  pb_writer w;
  pbw_init(&w);
  demo_encode_point(&w, &p);
  rpc r;
  rpc_run(g_route, "GetFeature", w.data, w.len, g_route_opts, &r);
  size_t wire_len = w.len;
  pbw_free(&w);
  const demo_place *want = demo_find_place(&p);
  demo_feature f;
  memset(&f, 0, sizeof(f));
  int ok = r.api_rc == CGRPC_OK && r.code == CGRPC_STATUS_OK &&
           r.nreplies == 1 &&
           demo_decode_feature(cgrpc_buffer_data(r.replies[0]),
                               cgrpc_buffer_len(r.replies[0]), &f) == 0 &&
           str_eq(f.name, want ? want->name : "") &&
           f.location.latitude == p.latitude &&
           f.location.longitude == p.longitude;
  if (check(who, ok, "GetFeature%s -> %s", fmt_point(pb, sizeof(pb), &p),
            outcome(&r, why, sizeof(why)))) {
    if (f.name.len)
      say(who, "GetFeature%s [%zu-byte request] -> '%.*s'",
          fmt_point(pb, sizeof(pb), &p), wire_len, (int)f.name.len,
          f.name.ptr);
    else
      say(who, "GetFeature%s [%zu-byte request] -> no feature there", pb,
          wire_len);
  }
  rpc_free(&r);
}

static void list_features(const char *who) {
  demo_rectangle rect = {{407000000, -740000000}, {407900000, -739500000}};
  char lo[64], hi[64], pb[64], why[400];
  pb_writer w;
  pbw_init(&w);
  demo_encode_rectangle(&w, &rect);
  rpc r;
  rpc_run(g_route, "ListFeatures", w.data, w.len, g_route_opts, &r);
  pbw_free(&w);
  say(who, "ListFeatures(lo=%s, hi=%s) streams:",
      fmt_point(lo, sizeof(lo), &rect.lo), fmt_point(hi, sizeof(hi), &rect.hi));

  /* The expected answer: the database's places in the rectangle, in
   * database order. */
  size_t n, expected = 0, matched = 0;
  const demo_place *pl = demo_places(&n);
  for (size_t i = 0; i < n; i++) {
    demo_point p = {pl[i].latitude, pl[i].longitude};
    if (!demo_in_rectangle(&p, &rect)) continue;
    if (expected < r.nreplies) {
      demo_feature f;
      memset(&f, 0, sizeof(f));
      const cgrpc_buffer *b = r.replies[expected];
      if (demo_decode_feature(cgrpc_buffer_data(b), cgrpc_buffer_len(b),
                              &f) == 0 &&
          str_eq(f.name, pl[i].name) && f.location.latitude == p.latitude &&
          f.location.longitude == p.longitude) {
        matched++;
        say(who, "  <- '%.*s' at %s", (int)f.name.len, f.name.ptr,
            fmt_point(pb, sizeof(pb), &f.location));
      }
    }
    expected++;
  }
  int ok = r.api_rc == CGRPC_OK && r.code == CGRPC_STATUS_OK &&
           r.nreplies == expected && matched == expected;
  if (check(who, ok, "ListFeatures -> %s, %zu features (%zu expected, %zu right)",
            outcome(&r, why, sizeof(why)), r.nreplies, expected, matched))
    say(who, "ListFeatures -> %zu features, status OK", r.nreplies);
  rpc_free(&r);
}

static void record_route(const char *who) {
  size_t n;
  const demo_place *pl = demo_places(&n);
  /* Four database places, two empty spots, one place south-west. */
  const demo_point route[] = {
      {pl[0].latitude, pl[0].longitude}, {407300000, -739900000},
      {pl[4].latitude, pl[4].longitude}, {pl[1].latitude, pl[1].longitude},
      {407650000, -739700000},           {pl[3].latitude, pl[3].longitude},
      {pl[7].latitude, pl[7].longitude},
  };
  const size_t npoints = sizeof(route) / sizeof(route[0]);
  demo_route_summary want = {(int32_t)npoints, 0, 0, 0};
  for (size_t i = 0; i < npoints; i++) {
    if (demo_find_place(&route[i])) want.feature_count++;
    if (i) want.distance += demo_distance(&route[i - 1], &route[i]);
  }

  rpc r;
  memset(&r, 0, sizeof(r));
  cgrpc_call *call = NULL;
  char first[64], last[64], why[400];
  r.api_rc = cgrpc_stub_call_start(&call, g_route, "RecordRoute", g_route_opts);
  for (size_t i = 0; r.api_rc == CGRPC_OK && i < npoints; i++) {
    pb_writer w;
    pbw_init(&w);
    demo_encode_point(&w, &route[i]);
    int rc = cgrpc_call_send(call, w.data, w.len,
                             i + 1 == npoints ? CGRPC_SEND_LAST : 0);
    pbw_free(&w);
    if (rc != CGRPC_OK) {
      if (rc != CGRPC_E_CLOSED) r.api_rc = rc;
      break;
    }
  }
  say(who, "RecordRoute: sent %zu points %s ... %s", npoints,
      fmt_point(first, sizeof(first), &route[0]),
      fmt_point(last, sizeof(last), &route[npoints - 1]));
  if (call) rpc_collect(call, &r);
  cgrpc_call_destroy(call);

  demo_route_summary got = {0, 0, 0, 0};
  int ok = r.api_rc == CGRPC_OK && r.code == CGRPC_STATUS_OK &&
           r.nreplies == 1 &&
           demo_decode_route_summary(cgrpc_buffer_data(r.replies[0]),
                                     cgrpc_buffer_len(r.replies[0]),
                                     &got) == 0 &&
           got.point_count == want.point_count &&
           got.feature_count == want.feature_count &&
           got.distance == want.distance && got.elapsed_time >= 0;
  if (check(who, ok,
            "RecordRoute -> %s, summary {points %" PRId32 ", features %" PRId32
            ", distance %" PRId32 "} (expected {%" PRId32 ", %" PRId32
            ", %" PRId32 "})",
            outcome(&r, why, sizeof(why)), got.point_count, got.feature_count,
            got.distance, want.point_count, want.feature_count, want.distance))
    say(who,
        "RecordRoute -> RouteSummary{point_count=%" PRId32
        ", feature_count=%" PRId32 ", distance=%" PRId32
        " m, elapsed_time=%" PRId32 " s}",
        got.point_count, got.feature_count, got.distance, got.elapsed_time);
  rpc_free(&r);
}

static void *route_thread(void *arg) {
  const char *who = "route";
  size_t n;
  const demo_place *pl = demo_places(&n);
  get_feature(who, (demo_point){pl[7].latitude, pl[7].longitude});
  get_feature(who, (demo_point){pl[11].latitude, pl[11].longitude});
  get_feature(who, (demo_point){0, 0}); /* an empty (0-byte) Point */
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

static demo_route_note chat_to_note(const chat_note *c) {
  size_t n;
  const demo_place *pl = demo_places(&n);
  demo_route_note note = {{pl[c->place].latitude, pl[c->place].longitude},
                          demo_cstr(c->text)};
  return note;
}

static void *chat_sender(void *arg) {
  cgrpc_call *call = arg;
  size_t n;
  const demo_place *pl = demo_places(&n);
  for (size_t i = 0; i < CHAT_N; i++) {
    demo_route_note note = chat_to_note(&k_chat[i]);
    pb_writer w;
    pbw_init(&w);
    demo_encode_route_note(&w, &note);
    int rc = cgrpc_call_send(call, w.data, w.len, 0);
    pbw_free(&w);
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
  int rc = cgrpc_stub_call_start(&call, g_route, "RouteChat", g_route_opts);
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

  size_t got = 0, right = 0;
  cgrpc_buffer *m;
  while ((rc = cgrpc_call_recv(call, &m)) == CGRPC_OK) {
    demo_route_note note;
    memset(&note, 0, sizeof(note));
    int bad = demo_decode_route_note(cgrpc_buffer_data(m), cgrpc_buffer_len(m),
                                     &note);
    if (!bad) {
      const demo_place *pl = demo_find_place(&note.location);
      say(who, "<- '%.*s' at %s", (int)note.message.len, note.message.ptr,
          pl ? pl->name : "?");
    }
    if (!bad && got < nwant) {
      demo_route_note w = chat_to_note(&k_chat[want[got]]);
      if (note.location.latitude == w.location.latitude &&
          note.location.longitude == w.location.longitude &&
          note.message.len == w.message.len &&
          memcmp(note.message.ptr, w.message.ptr, w.message.len) == 0)
        right++;
    }
    got++;
    cgrpc_buffer_free(m);
  }
  int code = -1;
  const char *msg = "";
  cgrpc_call_status(call, &code, &msg, NULL);
  if (have_sender) pthread_join(sender, NULL);
  cgrpc_call_destroy(call);
  if (check(who, rc == CGRPC_DONE && code == CGRPC_STATUS_OK && got == nwant &&
                     right == nwant,
            "RouteChat -> %s '%s', %zu notes back (%zu expected, %zu right)",
            cgrpc_status_name(code), msg, got, nwant, right))
    say(who, "RouteChat -> %zu notes back, status OK", got);
  return NULL;
}

/* ---------------------------------------------------------------- */
/* RPCs meant to fail                                                 */
/* ---------------------------------------------------------------- */

static void expect_status(const char *who, const char *what, const rpc *r,
                          int want) {
  char why[400];
  if (check(who, r->api_rc == CGRPC_OK && r->code == want,
            "%s -> %s (expected %s)", what, outcome(r, why, sizeof(why)),
            cgrpc_status_name(want)))
    say(who, "%s -> %s (as expected)", what, why);
}

static void error_cases(void) {
  const char *who = "errors";
  rpc r;

  /* A Point whose latitude varint is cut short. */
  static const uint8_t truncated[] = {0x08, 0xff, 0xff};
  rpc_run(g_route, "GetFeature", truncated, sizeof(truncated), g_route_opts,
          &r);
  expect_status(who, "GetFeature(3 bytes of broken protobuf)", &r,
                CGRPC_STATUS_INVALID_ARGUMENT);
  rpc_free(&r);

  /* A client that sends one point and then dawdles past its deadline. */
  memset(&r, 0, sizeof(r));
  cgrpc_call_options *quick = NULL;
  cgrpc_call *call = NULL;
  r.api_rc = cgrpc_call_options_create(&quick);
  if (!r.api_rc) r.api_rc = cgrpc_call_options_set_timeout(quick, 300);
  if (!r.api_rc)
    r.api_rc = cgrpc_stub_call_start(&call, g_route, "RecordRoute", quick);
  if (!r.api_rc) {
    pb_writer w;
    pbw_init(&w);
    demo_point p = {407123000, -740060000};
    demo_encode_point(&w, &p);
    int rc = cgrpc_call_send(call, w.data, w.len, 0); /* no half-close */
    pbw_free(&w);
    if (rc != CGRPC_OK) r.api_rc = rc;
    rpc_collect(call, &r); /* blocks until the deadline ends the call */
  }
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(quick);
  expect_status(who, "RecordRoute(1 point, no half-close, 300 ms deadline)",
                &r, CGRPC_STATUS_DEADLINE_EXCEEDED);
  rpc_free(&r);

  /* A method the server does not have. */
  rpc_run(g_route, "GetFeatures", NULL, 0, g_route_opts, &r);
  expect_status(who, "routeguide.RouteGuide/GetFeatures (no such method)", &r,
                CGRPC_STATUS_UNIMPLEMENTED);
  rpc_free(&r);
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
  if (!rc) rc = cgrpc_stub_create(&g_greeter, g_channel, "helloworld.Greeter");
  if (!rc) rc = cgrpc_stub_create(&g_route, g_channel, "routeguide.RouteGuide");
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
