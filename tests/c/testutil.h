/* Shared helpers for the C test suites. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgrpc.h"

/* A running in-process server: the echo service plus test probes. */
typedef struct test_server {
  cgrpc_server *srv;
  int port;
  char target[64];
} test_server;

void ts_start(test_server *ts);
void ts_start_opts(test_server *ts, const cgrpc_server_options *opts,
                   const char *addr);
void ts_stop(test_server *ts);

/* A peer process started by a test, stopped by its pid. */
typedef struct test_proc {
  pid_t pid;
  int port;
  char target[64];
} test_proc;

/* Starts `python script args...` (python from $CGRPC_TEST_PYTHON) and
 * reads its "PORT <n>" line (10 s limit).  Returns 0, or -1 if python is
 * not configured (the caller fails the test). */
int tp_start_python(test_proc *p, const char *script, const char *const *args);
void tp_stop(test_proc *p);
/* Path of a file under tests/interop (absolute, static buffer per call). */
const char *interop_path(const char *name);

/* Backends for tests run against each server implementation. */
enum { BACKEND_CGRPC = 0, BACKEND_GRPCIO = 1, NBACKENDS = 2 };
typedef struct backend {
  test_server ts;
  test_proc proc;
  const char *target;
  const char *name;
} backend;
void be_start(backend *b, int which);
void be_stop(backend *b);

/* Test scale: loop counts are divided by $CGRPC_TEST_SCALE (>= 1) under
 * the slow sanitizer builds. */
int test_scale(void);

cgrpc_channel *chan(const char *target);
cgrpc_call_options *opts_md(int64_t timeout_ms, ...); /* key, value, NULL */

/* Unary helper returning the status code; *reply gets the reply text. */
int do_unary(cgrpc_channel *ch, const char *method, const char *req,
             cgrpc_call_options *o, char **reply, char **msg);

int64_t now_ms(void);
void sleep_ms(long ms);

#define ck_rc(expr) ck_assert_int_eq((expr), CGRPC_OK)

#endif
