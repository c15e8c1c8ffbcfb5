/* The generated stubs of tests/codegen/codegen_test.proto, all four kinds,
 * against (a) a grpcio server (tests/codegen/grpcio_peer.py) and (b) a
 * cgrpc server built from the generated skeleton; each from four threads
 * sharing one channel.  Plus: a reply the client cannot parse and a
 * request the server cannot parse both end with INTERNAL, and the server
 * goes on serving.
 *
 * Environment (set by make test-codegen): CGRPC_TEST_PYTHON,
 * CGRPC_CODEGEN_PEER (the peer script), CGRPC_CODEGEN_PYPATH (its _pb2).
 * Exit status 0 only if every check passed. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "codegen_test.cgrpc.h"

extern char **environ;

typedef Cgrpc__Codegentest__Req Req;
typedef Cgrpc__Codegentest__Reply Reply;
#define REQ_INIT CGRPC__CODEGENTEST__REQ__INIT

static atomic_int g_pass, g_fail;

static void check(int ok, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void check(int ok, const char *where, const char *fmt, ...) {
  if (ok) {
    atomic_fetch_add(&g_pass, 1);
    return;
  }
  atomic_fetch_add(&g_fail, 1);
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  printf("FAIL [%s] %s\n", where, line);
}

#define CHECK(cond, ...) check((cond) != 0, where, __VA_ARGS__)

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int streq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

/* ---------------------------------------------------------------- */
/* the grpcio peer process                                            */
/* ---------------------------------------------------------------- */

typedef struct peer {
  pid_t pid;
  int port;
} peer;

/* Starts the peer and reads its "PORT <n>" line (10 s at most). */
static int peer_start(peer *p) {
  memset(p, 0, sizeof(*p));
  const char *py = getenv("CGRPC_TEST_PYTHON"), *script = getenv("CGRPC_CODEGEN_PEER");
  if (!py || !script || !getenv("CGRPC_CODEGEN_PYPATH")) return -1;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  char *argv[] = {(char *)py, (char *)script, "--port", "0", NULL};
  int rc = posix_spawn(&p->pid, py, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    p->pid = 0;
    return -1;
  }
  char line[128];
  size_t len = 0;
  int64_t until = now_ms() + 10000;
  while (len < sizeof(line) - 1 && now_ms() < until) {
    struct pollfd pfd = {fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    if (read(fds[0], line + len, 1) != 1 || line[len] == '\n') break;
    len++;
  }
  line[len] = 0;
  close(fds[0]);
  return sscanf(line, "PORT %d", &p->port) == 1 ? 0 : -1;
}

/* Stops the peer by its pid: SIGTERM, up to 5 s, then SIGKILL. */
static void peer_stop(peer *p) {
  if (p->pid <= 0) return;
  kill(p->pid, SIGTERM);
  for (int i = 0; i < 100; i++) {
    if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
      p->pid = 0;
      return;
    }
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
  }
  kill(p->pid, SIGKILL);
  waitpid(p->pid, NULL, 0);
  p->pid = 0;
}

/* ---------------------------------------------------------------- */
/* the cgrpc server: the generated skeleton                           */
/* ---------------------------------------------------------------- */

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static char *concat(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  char *p = malloc(na + nb + 1);
  if (p) {
    memcpy(p, a, na);
    memcpy(p + na, b, nb + 1);
  }
  return p;
}

static int srv_unary(cgrpc_call *call, const Req *req, Reply *reply, void *ud) {
  cgrpc_metadata *md = NULL;
  if (cgrpc_metadata_create(&md) == CGRPC_OK &&
      cgrpc_metadata_add(md, "x-peer", (const uint8_t *)"cgrpc", 5) == CGRPC_OK)
    cgrpc_call_send_initial_metadata(call, md);
  cgrpc_metadata_destroy(md);
  /* trailers that go with the skeleton's OK reply */
  md = NULL;
  if (cgrpc_metadata_create(&md) == CGRPC_OK &&
      cgrpc_metadata_add(md, "x-trailer", (const uint8_t *)"cgrpc", 5) == CGRPC_OK)
    cgrpc_call_set_trailing_metadata(call, md);
  cgrpc_metadata_destroy(md);
  reply->text = concat("unary:", req->name);
  reply->total = req->num;
  reply->count = (int32_t)req->n_tags;
  reply->inner = malloc(sizeof(*reply->inner));
  if (!reply->text || !reply->inner) return CGRPC_STATUS_RESOURCE_EXHAUSTED;
  cgrpc__codegentest__inner__init(reply->inner);
  reply->inner->value = req->num;
  if (req->n_tags) {
    reply->tags = calloc(req->n_tags, sizeof(char *));
    if (!reply->tags) return CGRPC_STATUS_RESOURCE_EXHAUSTED;
    reply->n_tags = req->n_tags;
    for (size_t i = 0; i < req->n_tags; i++)
      reply->tags[i] = dupstr(req->tags[req->n_tags - 1 - i]);
  }
  if (req->blob.len) {
    reply->blob.data = malloc(req->blob.len);
    if (!reply->blob.data) return CGRPC_STATUS_RESOURCE_EXHAUSTED;
    memcpy(reply->blob.data, req->blob.data, req->blob.len);
    reply->blob.len = req->blob.len;
  }
  return CGRPC_STATUS_OK;
}

static int srv_server_stream(cgrpc_call *call, const Req *req, void *ud) {
  if (req->num < 0) {
    cgrpc_call_finish(call, CGRPC_STATUS_INVALID_ARGUMENT, "negative count", NULL);
    return CGRPC_STATUS_INVALID_ARGUMENT;
  }
  for (int32_t i = 0; i < req->num; i++) {
    char text[300];
    snprintf(text, sizeof(text), "%s#%d", req->name, (int)i);
    Reply r = CGRPC__CODEGENTEST__REPLY__INIT;
    r.text = text; /* a streamed reply is packed at once: stack is fine */
    r.total = i;
    int rc = cgrpc_codegentest_things_server_stream_send_response(call, &r);
    if (rc != CGRPC_OK) return CGRPC_STATUS_UNKNOWN;
  }
  return CGRPC_STATUS_OK;
}

static int srv_client_stream(cgrpc_call *call, Reply *reply, void *ud) {
  char text[1024] = "";
  size_t used = 0;
  int64_t total = 0;
  int32_t n = 0;
  Req *req;
  int rc;
  while ((rc = cgrpc_codegentest_things_client_stream_recv_request(call, &req)) ==
         CGRPC_OK) {
    int w = snprintf(text + used, sizeof(text) - used, "%s%s", n ? "," : "",
                     req->name);
    if (w > 0 && (size_t)w < sizeof(text) - used) used += (size_t)w;
    total += req->num;
    n++;
    cgrpc__codegentest__req__free_unpacked(req, NULL);
  }
  if (rc != CGRPC_DONE) return CGRPC_STATUS_INTERNAL; /* already ended */
  reply->text = dupstr(text);
  reply->total = total;
  reply->count = n;
  return reply->text ? CGRPC_STATUS_OK : CGRPC_STATUS_RESOURCE_EXHAUSTED;
}

static int srv_bidi(cgrpc_call *call, void *ud) {
  Req *req;
  int rc;
  while ((rc = cgrpc_codegentest_things_bidi_recv_request(call, &req)) == CGRPC_OK) {
    char text[300];
    snprintf(text, sizeof(text), "echo:%s", req->name);
    Reply r = CGRPC__CODEGENTEST__REPLY__INIT;
    r.text = text;
    r.total = req->num;
    cgrpc__codegentest__req__free_unpacked(req, NULL);
    if (cgrpc_codegentest_things_bidi_send_response(call, &r) != CGRPC_OK)
      return CGRPC_STATUS_UNKNOWN;
  }
  return rc == CGRPC_DONE ? CGRPC_STATUS_OK : CGRPC_STATUS_INTERNAL;
}

static int srv_garbage(cgrpc_call *call, const Req *req, Reply *reply, void *ud) {
  /* Bypass the typed reply: raw bytes that are no Reply. */
  cgrpc_call_send(call, "\xff\xff\xff", 3, 0);
  cgrpc_call_finish(call, CGRPC_STATUS_OK, NULL, NULL);
  return CGRPC_STATUS_OK;
}

static atomic_int g_destroyed;
static void count_destroy(void *ud) { atomic_fetch_add((atomic_int *)ud, 1); }

static cgrpc_server *server_start(const cgrpc_codegentest_things_impl *impl,
                                  int *port) {
  cgrpc_server *srv = NULL;
  if (cgrpc_server_create(&srv, NULL) ||
      cgrpc_codegentest_things_register(srv, impl, &g_destroyed, count_destroy) ||
      cgrpc_server_add_listener(srv, "127.0.0.1:0", port) || cgrpc_server_start(srv)) {
    cgrpc_server_destroy(srv);
    return NULL;
  }
  return srv;
}

/* ---------------------------------------------------------------- */
/* client checks                                                      */
/* ---------------------------------------------------------------- */

typedef struct ctx {
  const char *peer; /* "grpcio" or "cgrpc" */
  cgrpc_stub *stub;
  cgrpc_channel *ch;
  int id;
} ctx;

static void t_unary(const ctx *c) {
  char where[64];
  snprintf(where, sizeof(where), "%s unary #%d", c->peer, c->id);
  char name[32];
  snprintf(name, sizeof(name), "ada%d", c->id);
  char *tags[] = {"a", "b", "c"};
  static uint8_t blob[] = {0, 1, 0xff, 0};
  Req req = REQ_INIT;
  req.name = name;
  req.num = -7 - c->id; /* negative: ten-byte varint */
  req.n_tags = 3;
  req.tags = tags;
  req.blob.data = blob;
  req.blob.len = sizeof(blob);
  Reply *rep = NULL;
  int code = -1;
  char *msg = NULL;
  int rc = cgrpc_codegentest_things_unary(c->stub, &req, &rep, NULL, &code, &msg);
  char want[64];
  snprintf(want, sizeof(want), "unary:%s", name);
  CHECK(rc == CGRPC_OK && code == CGRPC_STATUS_OK && rep, "rc %d code %d '%s'", rc,
        code, msg ? msg : "");
  if (rep) {
    CHECK(streq(rep->text, want), "text '%s'", rep->text);
    CHECK(rep->total == req.num && rep->count == 3, "total %lld count %d",
          (long long)rep->total, (int)rep->count);
    CHECK(rep->inner && rep->inner->value == req.num, "inner");
    CHECK(rep->n_tags == 3 && streq(rep->tags[0], "c") && streq(rep->tags[2], "a"),
          "tags");
    CHECK(rep->blob.len == sizeof(blob) && !memcmp(rep->blob.data, blob, sizeof(blob)),
          "blob");
  }
  cgrpc__codegentest__reply__free_unpacked(rep, NULL);
  cgrpc_free(msg);
}

/* The two-step unary functions give the call between the steps: the
 * server's initial metadata is readable, and the reply is the same. */
static void t_unary_two_step(const ctx *c) {
  char where[64];
  snprintf(where, sizeof(where), "%s unary start/finish #%d", c->peer, c->id);
  Req req = REQ_INIT;
  req.name = "two";
  req.num = 5;
  cgrpc_call *call = NULL;
  int rc = cgrpc_codegentest_things_unary_start(&call, c->stub, &req, NULL);
  CHECK(rc == CGRPC_OK && call, "start rc %d", rc);
  if (!call) return;
  const cgrpc_metadata *md = NULL;
  size_t vlen = 0;
  const uint8_t *v = NULL;
  if (cgrpc_call_initial_metadata(call, &md) == CGRPC_OK)
    v = cgrpc_metadata_get(md, "x-peer", &vlen);
  CHECK(v && vlen == strlen(c->peer) && !memcmp(v, c->peer, vlen),
        "x-peer header missing or wrong");
  Reply *rep = NULL;
  int code = -1;
  char *msg = NULL;
  rc = cgrpc_codegentest_things_unary_finish(call, &rep, &code, &msg);
  CHECK(rc == CGRPC_OK && code == CGRPC_STATUS_OK && rep && streq(rep->text, "unary:two") &&
            rep->total == 5,
        "rc %d code %d '%s'", rc, code, msg ? msg : "");
  const cgrpc_metadata *tr = NULL;
  v = NULL;
  if (cgrpc_call_status(call, NULL, NULL, &tr) == CGRPC_OK && tr)
    v = cgrpc_metadata_get(tr, "x-trailer", &vlen);
  CHECK(v && vlen == strlen(c->peer) && !memcmp(v, c->peer, vlen),
        "x-trailer trailer missing or wrong");
  cgrpc__codegentest__reply__free_unpacked(rep, NULL);
  cgrpc_free(msg);
  cgrpc_call_destroy(call);
}

static void t_server_stream(const ctx *c) {
  char where[64];
  snprintf(where, sizeof(where), "%s server-stream #%d", c->peer, c->id);
  Req req = REQ_INIT;
  req.name = "s";
  req.num = 5;
  cgrpc_call *call = NULL;
  int rc = cgrpc_codegentest_things_server_stream_start(&call, c->stub, &req, NULL);
  CHECK(rc == CGRPC_OK && call, "start %d", rc);
  if (!call) return;
  Reply *rep;
  int n = 0, right = 0;
  while (n < 100 &&
         (rc = cgrpc_codegentest_things_server_stream_recv(call, &rep)) == CGRPC_OK) {
    char want[32];
    snprintf(want, sizeof(want), "s#%d", n);
    if (streq(rep->text, want) && rep->total == n) right++;
    n++;
    cgrpc__codegentest__reply__free_unpacked(rep, NULL);
  }
  int code = -1;
  cgrpc_call_status(call, &code, NULL, NULL);
  CHECK(rc == CGRPC_DONE && n == 5 && right == 5 && code == CGRPC_STATUS_OK,
        "rc %d, %d replies (%d right), code %d", rc, n, right, code);
  cgrpc_call_destroy(call);

  /* The handler's own status and message reach the client. */
  req.num = -1;
  rc = cgrpc_codegentest_things_server_stream_start(&call, c->stub, &req, NULL);
  if (rc == CGRPC_OK) {
    rc = cgrpc_codegentest_things_server_stream_recv(call, &rep);
    const char *msg = "";
    cgrpc_call_status(call, &code, &msg, NULL);
    CHECK(rc == CGRPC_DONE && code == CGRPC_STATUS_INVALID_ARGUMENT &&
              streq(msg, "negative count"),
          "negative: rc %d code %d '%s'", rc, code, msg);
    cgrpc_call_destroy(call);
  } else {
    CHECK(0, "negative: start %d", rc);
  }
}

static void t_client_stream(const ctx *c, int count) {
  char where[64];
  snprintf(where, sizeof(where), "%s client-stream(%d) #%d", c->peer, count, c->id);
  cgrpc_call *call = NULL;
  int rc = cgrpc_codegentest_things_client_stream_start(&call, c->stub, NULL);
  CHECK(rc == CGRPC_OK, "start %d", rc);
  if (rc) return;
  char want[256] = "";
  int64_t total = 0;
  for (int i = 0; i < count; i++) {
    char name[16];
    snprintf(name, sizeof(name), "n%d", i);
    Req req = REQ_INIT;
    req.name = name;
    req.num = i * 10 - 5;
    total += req.num;
    snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", i ? "," : "",
             name);
    rc = cgrpc_codegentest_things_client_stream_send(call, &req, 0);
    CHECK(rc == CGRPC_OK, "send %d", rc);
  }
  Reply *rep = NULL;
  int code = -1;
  char *msg = NULL;
  rc = cgrpc_codegentest_things_client_stream_close_and_recv(call, &rep, &code, &msg);
  CHECK(rc == CGRPC_OK && code == CGRPC_STATUS_OK && rep, "rc %d code %d '%s'", rc,
        code, msg ? msg : "");
  if (rep)
    CHECK(streq(rep->text, want) && rep->total == total && rep->count == count,
          "reply '%s' %lld %d", rep->text, (long long)rep->total, (int)rep->count);
  cgrpc__codegentest__reply__free_unpacked(rep, NULL);
  cgrpc_free(msg);
  cgrpc_call_destroy(call);
}

static void t_bidi(const ctx *c) {
  char where[64];
  snprintf(where, sizeof(where), "%s bidi #%d", c->peer, c->id);
  cgrpc_call *call = NULL;
  int rc = cgrpc_codegentest_things_bidi_start(&call, c->stub, NULL);
  CHECK(rc == CGRPC_OK, "start %d", rc);
  if (rc) return;
  int right = 0;
  for (int i = 0; i < 4; i++) {
    char name[16], want[32];
    snprintf(name, sizeof(name), "b%d", i);
    snprintf(want, sizeof(want), "echo:%s", name);
    Req req = REQ_INIT;
    req.name = name;
    req.num = i;
    /* Ping-pong: each reply is read before the next request is sent. */
    if (cgrpc_codegentest_things_bidi_send(call, &req, 0) != CGRPC_OK) break;
    Reply *rep = NULL;
    if (cgrpc_codegentest_things_bidi_recv(call, &rep) != CGRPC_OK) break;
    if (streq(rep->text, want) && rep->total == i) right++;
    cgrpc__codegentest__reply__free_unpacked(rep, NULL);
  }
  cgrpc_call_close_send(call);
  Reply *extra = NULL;
  rc = cgrpc_codegentest_things_bidi_recv(call, &extra);
  int code = -1;
  cgrpc_call_status(call, &code, NULL, NULL);
  CHECK(right == 4 && rc == CGRPC_DONE && !extra && code == CGRPC_STATUS_OK,
        "%d right, last rc %d, code %d", right, rc, code);
  cgrpc_call_destroy(call);
}

/* The server answers Garbage with bytes that are not a Reply. */
static void t_bad_reply(const ctx *c) {
  char where[64];
  snprintf(where, sizeof(where), "%s bad reply #%d", c->peer, c->id);
  Req req = REQ_INIT;
  Reply *rep = (Reply *)1; /* must be overwritten */
  int code = -1;
  char *msg = NULL;
  int rc = cgrpc_codegentest_things_garbage(c->stub, &req, &rep, NULL, &code, &msg);
  CHECK(rc == CGRPC_OK && code == CGRPC_STATUS_INTERNAL && rep == NULL &&
            msg && strstr(msg, "failed to parse response as cgrpc.codegentest.Reply"),
        "rc %d code %d '%s'", rc, code, msg ? msg : "(null)");
  cgrpc_free(msg);
}

/* Raw bytes that are not a Req, to a typed method. */
/* A request nested 20000 deep (about 60 KB): the typed path must refuse
 * it with INTERNAL rather than recurse into a stack overflow. */
static void t_deep_request(const ctx *c) {
  char where[64];
  snprintf(where, sizeof(where), "%s deep request #%d", c->peer, c->id);
  enum { LEVELS = 20000 };
  size_t cap = (size_t)LEVELS * 4 + 16, start = cap;
  uint8_t *buf = malloc(cap);
  if (!buf) return;
  /* Built from the innermost level outwards: tag of child (5, LEN), then
   * the varint length of what follows. */
  for (int i = 0; i < LEVELS; i++) {
    size_t inner = cap - start;
    uint8_t len[5];
    int n = 0;
    do {
      len[n] = (uint8_t)(inner & 0x7f);
      inner >>= 7;
      if (inner) len[n] |= 0x80;
      n++;
    } while (inner);
    start -= (size_t)n;
    memcpy(buf + start, len, (size_t)n);
    buf[--start] = 0x2a;
  }
  cgrpc_call *call = NULL;
  int rc = cgrpc_stub_call_start(&call, c->stub, "Unary", NULL);
  CHECK(rc == CGRPC_OK, "start %d", rc);
  if (rc == CGRPC_OK) {
    cgrpc_call_send(call, buf + start, cap - start, CGRPC_SEND_LAST);
    int code = -1;
    const char *msg = "";
    cgrpc_call_status(call, &code, &msg, NULL);
    CHECK(code == CGRPC_STATUS_INTERNAL, "code %d '%s'", code, msg);
    if (!strcmp(c->peer, "cgrpc"))
      CHECK(strstr(msg, "deeper") != NULL, "message '%s'", msg);
    cgrpc_call_destroy(call);
  }
  free(buf);
}

static void t_bad_request(const ctx *c, int stream) {
  char where[64];
  snprintf(where, sizeof(where), "%s bad request%s #%d", c->peer,
           stream ? " (stream)" : "", c->id);
  cgrpc_call *call = NULL;
  int rc = cgrpc_stub_call_start(&call, c->stub, stream ? "ClientStream" : "Unary",
                                 NULL);
  CHECK(rc == CGRPC_OK, "start %d", rc);
  if (rc) return;
  if (stream) {
    Req ok = REQ_INIT;
    ok.name = "fine";
    cgrpc_pbc_send(call, &ok.base, 0);
  }
  cgrpc_call_send(call, "\x0a\xff\xff", 3, CGRPC_SEND_LAST);
  int code = -1;
  const char *msg = "";
  cgrpc_call_status(call, &code, &msg, NULL);
  CHECK(code == CGRPC_STATUS_INTERNAL, "code %d '%s'", code, msg);
  if (!strcmp(c->peer, "cgrpc"))
    CHECK(strstr(msg, "failed to parse request as cgrpc.codegentest.Req") != NULL,
          "message '%s'", msg);
  cgrpc_call_destroy(call);
}

static void *client_thread(void *arg) {
  const ctx *c = arg;
  for (int round = 0; round < 3; round++) {
    t_unary(c);
    t_unary_two_step(c);
    t_server_stream(c);
    t_client_stream(c, 4);
    t_client_stream(c, 0);
    t_bidi(c);
    t_bad_reply(c);
    t_bad_request(c, 0);
    t_bad_request(c, 1);
    t_deep_request(c);
    t_unary(c); /* the server still serves */
  }
  return NULL;
}

/* Four threads on one channel and one stub. */
static void run_clients(const char *peer_name, int port) {
  const char *where = peer_name;
  char target[64];
  snprintf(target, sizeof(target), "127.0.0.1:%d", port);
  cgrpc_channel *ch = NULL;
  cgrpc_stub *stub = NULL, *other = NULL;
  int rc = cgrpc_channel_create(&ch, target, NULL);
  if (!rc) rc = cgrpc_codegentest_things_stub_create(&stub, ch);
  if (!rc) rc = cgrpc_stub_create(&other, ch, "cgrpc.codegentest.Other");
  CHECK(rc == CGRPC_OK, "channel/stub: %d", rc);
  if (!rc) {
    /* A stub of another service is refused before anything is sent. */
    Req req = REQ_INIT;
    Reply *rep = NULL;
    int code = 0;
    CHECK(cgrpc_codegentest_things_unary(other, &req, &rep, NULL, &code, NULL) ==
                  CGRPC_E_INVALID_ARG && rep == NULL,
          "stub of another service accepted");
    ctx cs[4];
    pthread_t tids[4];
    int started[4] = {0};
    for (int i = 0; i < 4; i++) {
      cs[i] = (ctx){peer_name, stub, ch, i};
      started[i] = pthread_create(&tids[i], NULL, client_thread, &cs[i]) == 0;
      CHECK(started[i], "thread %d", i);
    }
    for (int i = 0; i < 4; i++)
      if (started[i]) pthread_join(tids[i], NULL);
  }
  cgrpc_stub_destroy(other);
  cgrpc_stub_destroy(stub);
  cgrpc_channel_destroy(ch);
}

/* A skeleton with only Unary: the other methods are UNIMPLEMENTED, and
 * destroy runs once, when the server is destroyed. */
static void partial_skeleton(void) {
  const char *where = "partial skeleton";
  cgrpc_codegentest_things_impl impl = {0};
  impl.unary = srv_unary;
  int port = 0;
  atomic_store(&g_destroyed, 0);
  cgrpc_server *srv = server_start(&impl, &port);
  CHECK(srv != NULL, "server start");
  if (!srv) return;
  cgrpc_channel *ch = NULL;
  cgrpc_stub *stub = NULL;
  char target[64];
  snprintf(target, sizeof(target), "127.0.0.1:%d", port);
  if (cgrpc_channel_create(&ch, target, NULL) == CGRPC_OK &&
      cgrpc_codegentest_things_stub_create(&stub, ch) == CGRPC_OK) {
    ctx c = {"cgrpc-partial", stub, ch, 9};
    t_unary(&c);
    Req req = REQ_INIT;
    Reply *rep = NULL;
    int code = -1;
    int rc = cgrpc_codegentest_things_garbage(stub, &req, &rep, NULL, &code, NULL);
    CHECK(rc == CGRPC_OK && code == CGRPC_STATUS_UNIMPLEMENTED && !rep,
          "NULL handler: rc %d code %d", rc, code);
  } else {
    CHECK(0, "channel");
  }
  cgrpc_stub_destroy(stub);
  cgrpc_channel_destroy(ch);
  CHECK(atomic_load(&g_destroyed) == 0, "destroy ran before the server's end");
  cgrpc_server_destroy(srv);
  CHECK(atomic_load(&g_destroyed) == 1, "destroy ran %d times",
        atomic_load(&g_destroyed));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *where = "main";

  peer p;
  int prc = peer_start(&p);
  CHECK(prc == 0, "grpcio peer did not start (CGRPC_TEST_PYTHON, "
                  "CGRPC_CODEGEN_PEER, CGRPC_CODEGEN_PYPATH set?)");
  if (prc == 0) run_clients("grpcio", p.port);
  peer_stop(&p);
  printf("grpcio peer: %d passed, %d failed so far\n", atomic_load(&g_pass),
         atomic_load(&g_fail));

  cgrpc_codegentest_things_impl impl = {
      .unary = srv_unary,
      .server_stream = srv_server_stream,
      .client_stream = srv_client_stream,
      .bidi = srv_bidi,
      .garbage = srv_garbage,
  };
  int port = 0;
  cgrpc_server *srv = server_start(&impl, &port);
  CHECK(srv != NULL, "cgrpc server did not start");
  if (srv) run_clients("cgrpc", port);
  cgrpc_server_destroy(srv);

  partial_skeleton();

  int pass = atomic_load(&g_pass), fail = atomic_load(&g_fail);
  printf("codegen tests: %d checks passed, %d failed -> %s\n", pass, fail,
         fail ? "FAIL" : "OK");
  return fail ? 1 : 0;
}
