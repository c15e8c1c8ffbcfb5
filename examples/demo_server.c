/* cgrpc demo server: two services on one server.
 *
 *   helloworld.Greeter/SayHello          unary
 *   routeguide.RouteGuide/GetFeature     unary
 *   routeguide.RouteGuide/ListFeatures   server streaming
 *   routeguide.RouteGuide/RecordRoute    client streaming
 *   routeguide.RouteGuide/RouteChat      bidirectional streaming
 *
 * Usage: demo_server [--host 127.0.0.1] [--port 0]
 * Prints "PORT <n>" once listening, logs one line per RPC, and serves
 * until SIGTERM or SIGINT.  Messages are protobuf (see demo_proto.h), so
 * clients generated from grpc's helloworld.proto and route_guide.proto
 * can call it.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgrpc.h"
#include "demo_proto.h"

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

/* Sends an encoded message; returns the cgrpc return code. */
static int send_msg(cgrpc_call *call, pb_writer *w) {
  int rc = w->failed ? CGRPC_E_NOMEM : cgrpc_call_send(call, w->data, w->len, 0);
  pbw_free(w);
  return rc;
}

/* Ends the RPC after rc, the result of the last recv/send: a cancelled RPC
 * needs nothing more; an API error becomes INTERNAL. */
static void finish_rc(cgrpc_call *call, int rc) {
  if (rc == CGRPC_E_CANCELLED) {
    logf_(call, "cancelled");
  } else if (rc < 0) {
    logf_(call, "failed: %s", cgrpc_strerror(rc));
    cgrpc_call_finish(call, CGRPC_STATUS_INTERNAL, cgrpc_strerror(rc), NULL);
  } else {
    cgrpc_call_finish(call, CGRPC_STATUS_OK, NULL, NULL);
  }
}

static void finish_invalid(cgrpc_call *call, const char *why) {
  logf_(call, "-> INVALID_ARGUMENT: %s", why);
  cgrpc_call_finish(call, CGRPC_STATUS_INVALID_ARGUMENT, why, NULL);
}

/* Reads the single request of a unary or server-streaming RPC.  Returns
 * the buffer, or NULL after having ended the RPC. */
static cgrpc_buffer *recv_single(cgrpc_call *call) {
  cgrpc_buffer *req = NULL, *extra = NULL;
  int rc = cgrpc_call_recv(call, &req);
  if (rc == CGRPC_DONE) {
    finish_invalid(call, "missing request message");
    return NULL;
  }
  if (rc != CGRPC_OK) {
    finish_rc(call, rc);
    return NULL;
  }
  rc = cgrpc_call_recv(call, &extra); /* the client's half-close */
  if (rc == CGRPC_OK) {
    cgrpc_buffer_free(extra);
    cgrpc_buffer_free(req);
    finish_invalid(call, "more than one request message");
    return NULL;
  }
  if (rc != CGRPC_DONE) {
    cgrpc_buffer_free(req);
    finish_rc(call, rc);
    return NULL;
  }
  return req;
}

/* ---------------------------------------------------------------- */
/* helloworld.Greeter                                                 */
/* ---------------------------------------------------------------- */

static void say_hello(cgrpc_call *call, void *ud) {
  cgrpc_buffer *req = recv_single(call);
  if (!req) return;
  demo_str name = {0};
  if (demo_decode_hello(cgrpc_buffer_data(req), cgrpc_buffer_len(req),
                        &name)) {
    cgrpc_buffer_free(req);
    finish_invalid(call, "malformed HelloRequest");
    return;
  }
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
  int n = snprintf(text, sizeof(text), "Hello %.*s",
                   (int)(name.len > 256 ? 256 : name.len), name.ptr);
  logf_(call, "name='%.*s' thread=%.*s", (int)(name.len > 64 ? 64 : name.len),
        name.ptr, (int)tlen, thread ? (const char *)thread : "");
  cgrpc_buffer_free(req);
  pb_writer w;
  pbw_init(&w);
  demo_str msg = {text, (size_t)n};
  demo_encode_hello(&w, msg);
  finish_rc(call, send_msg(call, &w));
}

/* ---------------------------------------------------------------- */
/* routeguide.RouteGuide                                              */
/* ---------------------------------------------------------------- */

static void get_feature(cgrpc_call *call, void *ud) {
  cgrpc_buffer *req = recv_single(call);
  if (!req) return;
  demo_point p = {0, 0};
  int bad = demo_decode_point(cgrpc_buffer_data(req), cgrpc_buffer_len(req),
                              &p);
  cgrpc_buffer_free(req);
  if (bad) {
    finish_invalid(call, "malformed Point");
    return;
  }
  if (!demo_point_valid(&p)) {
    finish_invalid(call, "Point out of range");
    return;
  }
  const demo_place *pl = demo_find_place(&p);
  demo_feature f = {demo_cstr(pl ? pl->name : ""), p};
  logf_(call, "(%" PRId32 ", %" PRId32 ") -> '%s'", p.latitude, p.longitude,
        pl ? pl->name : "");
  pb_writer w;
  pbw_init(&w);
  demo_encode_feature(&w, &f);
  finish_rc(call, send_msg(call, &w));
}

static void list_features(cgrpc_call *call, void *ud) {
  cgrpc_buffer *req = recv_single(call);
  if (!req) return;
  demo_rectangle r;
  memset(&r, 0, sizeof(r));
  int bad = demo_decode_rectangle(cgrpc_buffer_data(req),
                                  cgrpc_buffer_len(req), &r);
  cgrpc_buffer_free(req);
  if (bad) {
    finish_invalid(call, "malformed Rectangle");
    return;
  }
  size_t n, sent = 0;
  const demo_place *pl = demo_places(&n);
  int rc = CGRPC_OK;
  for (size_t i = 0; i < n && rc == CGRPC_OK; i++) {
    demo_point p = {pl[i].latitude, pl[i].longitude};
    if (!demo_in_rectangle(&p, &r)) continue;
    demo_feature f = {demo_cstr(pl[i].name), p};
    pb_writer w;
    pbw_init(&w);
    demo_encode_feature(&w, &f);
    rc = send_msg(call, &w);
    if (rc == CGRPC_OK) sent++;
  }
  logf_(call, "streamed %zu features", sent);
  finish_rc(call, rc);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void record_route(cgrpc_call *call, void *ud) {
  int64_t start = now_ms();
  demo_route_summary s = {0, 0, 0, 0};
  demo_point prev = {0, 0};
  int64_t distance = 0;
  cgrpc_buffer *m;
  int rc;
  while ((rc = cgrpc_call_recv(call, &m)) == CGRPC_OK) {
    demo_point p = {0, 0};
    int bad = demo_decode_point(cgrpc_buffer_data(m), cgrpc_buffer_len(m), &p);
    cgrpc_buffer_free(m);
    if (bad) {
      finish_invalid(call, "malformed Point");
      return;
    }
    if (!demo_point_valid(&p)) {
      finish_invalid(call, "Point out of range");
      return;
    }
    if (s.point_count == MAX_ROUTE_POINTS) {
      logf_(call, "-> RESOURCE_EXHAUSTED");
      cgrpc_call_finish(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,
                        "too many points", NULL);
      return;
    }
    if (s.point_count > 0) distance += demo_distance(&prev, &p);
    if (demo_find_place(&p)) s.feature_count++;
    s.point_count++;
    prev = p;
  }
  if (rc != CGRPC_DONE) {
    finish_rc(call, rc);
    return;
  }
  s.distance = distance > INT32_MAX ? INT32_MAX : (int32_t)distance;
  s.elapsed_time = (int32_t)((now_ms() - start) / 1000);
  logf_(call, "%" PRId32 " points, %" PRId32 " features, %" PRId32 " m",
        s.point_count, s.feature_count, s.distance);
  pb_writer w;
  pbw_init(&w);
  demo_encode_route_summary(&w, &s);
  finish_rc(call, send_msg(call, &w));
}

/* A note kept by RouteChat (a copy: the received buffer is freed). */
typedef struct stored_note {
  demo_point location;
  char *message;
  size_t len;
} stored_note;

/* For each note received, sends back every earlier note of this call at
 * the same location, then remembers it.  Notes are kept per call, so what
 * a client gets back depends only on what it sent. */
static void route_chat(cgrpc_call *call, void *ud) {
  stored_note *notes = calloc(MAX_CHAT_NOTES, sizeof(*notes));
  if (!notes) {
    cgrpc_call_finish(call, CGRPC_STATUS_RESOURCE_EXHAUSTED, "no memory", NULL);
    return;
  }
  size_t count = 0, sent = 0;
  const char *invalid = NULL;
  int rc;
  cgrpc_buffer *m;
  while (!invalid && (rc = cgrpc_call_recv(call, &m)) == CGRPC_OK) {
    demo_route_note n;
    memset(&n, 0, sizeof(n));
    if (demo_decode_route_note(cgrpc_buffer_data(m), cgrpc_buffer_len(m), &n))
      invalid = "malformed RouteNote";
    else if (!demo_point_valid(&n.location))
      invalid = "RouteNote location out of range";
    else if (count == MAX_CHAT_NOTES)
      invalid = "too many notes";
    for (size_t i = 0; !invalid && rc == CGRPC_OK && i < count; i++) {
      if (notes[i].location.latitude != n.location.latitude ||
          notes[i].location.longitude != n.location.longitude)
        continue;
      demo_route_note back = {notes[i].location,
                              {notes[i].message, notes[i].len}};
      pb_writer w;
      pbw_init(&w);
      demo_encode_route_note(&w, &back);
      rc = send_msg(call, &w);
      sent++;
    }
    if (!invalid && rc == CGRPC_OK) {
      notes[count].location = n.location;
      notes[count].len = n.message.len;
      notes[count].message = malloc(n.message.len + 1);
      if (notes[count].message) {
        memcpy(notes[count].message, n.message.ptr, n.message.len);
        count++;
      }
    }
    cgrpc_buffer_free(m);
    if (rc != CGRPC_OK) break;
  }
  if (invalid) {
    finish_invalid(call, invalid);
  } else {
    if (rc == CGRPC_DONE) logf_(call, "%zu notes in, %zu notes out", count, sent);
    finish_rc(call, rc == CGRPC_DONE ? CGRPC_OK : rc);
  }
  for (size_t i = 0; i < count; i++) free(notes[i].message);
  free(notes);
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

  static const struct {
    const char *method;
    cgrpc_handler_fn fn;
  } methods[] = {
      {"/helloworld.Greeter/SayHello", say_hello},
      {"/routeguide.RouteGuide/GetFeature", get_feature},
      {"/routeguide.RouteGuide/ListFeatures", list_features},
      {"/routeguide.RouteGuide/RecordRoute", record_route},
      {"/routeguide.RouteGuide/RouteChat", route_chat},
  };

  char addr[300];
  snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host,
           port);
  cgrpc_server *srv = NULL;
  int bound = 0;
  int rc = cgrpc_server_create(&srv, NULL);
  for (size_t i = 0; !rc && i < sizeof(methods) / sizeof(methods[0]); i++)
    rc = cgrpc_server_register_method(srv, methods[i].method, methods[i].fn,
                                      NULL, NULL);
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
