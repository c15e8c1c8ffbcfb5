/* Shared helpers for the C test suites (see testutil.h). */
#include "testutil.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "echo_service.h"
#include "probes.h"

extern char **environ;

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

int test_scale(void) {
  const char *s = getenv("CGRPC_TEST_SCALE");
  int v = s ? atoi(s) : 1;
  return v < 1 ? 1 : v;
}

void ts_start_opts(test_server *ts, const cgrpc_server_options *opts,
                   const char *addr) {
  memset(ts, 0, sizeof(*ts));
  ck_rc(cgrpc_server_create(&ts->srv, opts));
  ck_rc(echo_register(ts->srv));
  ck_rc(probes_register(ts->srv));
  ck_rc(cgrpc_server_add_listener(ts->srv, addr ? addr : "127.0.0.1:0",
                                  &ts->port));
  ck_rc(cgrpc_server_start(ts->srv));
  snprintf(ts->target, sizeof(ts->target), "127.0.0.1:%d", ts->port);
}

void ts_start(test_server *ts) { ts_start_opts(ts, NULL, NULL); }

void ts_stop(test_server *ts) {
  if (!ts->srv) return;
  cgrpc_server_shutdown(ts->srv, 1000);
  cgrpc_server_destroy(ts->srv);
  ts->srv = NULL;
}

const char *interop_path(const char *name) {
  static __thread char buf[4096];
  const char *root = getenv("CGRPC_SOURCE_DIR");
  snprintf(buf, sizeof(buf), "%s/tests/interop/%s", root ? root : ".", name);
  return buf;
}

int tp_start_python(test_proc *p, const char *script, const char *const *args) {
  memset(p, 0, sizeof(*p));
  const char *py = getenv("CGRPC_TEST_PYTHON");
  if (!py || !*py) return -1;
  const char *argv[32];
  int n = 0;
  argv[n++] = py;
  argv[n++] = script;
  for (int i = 0; args && args[i] && n < 30; i++) argv[n++] = args[i];
  argv[n] = NULL;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  int rc = posix_spawn(&p->pid, py, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return -1;
  }
  char line[128];
  size_t len = 0;
  int64_t until = now_ms() + 10000;
  while (len < sizeof(line) - 1 && now_ms() < until) {
    struct pollfd pfd = {fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    ssize_t r = read(fds[0], line + len, 1);
    if (r <= 0) break;
    if (line[len] == '\n') break;
    len++;
  }
  line[len] = 0;
  close(fds[0]);
  if (sscanf(line, "PORT %d", &p->port) != 1) {
    tp_stop(p);
    return -1;
  }
  snprintf(p->target, sizeof(p->target), "127.0.0.1:%d", p->port);
  return 0;
}

void tp_stop(test_proc *p) {
  if (p->pid <= 0) return;
  kill(p->pid, SIGTERM);
  for (int i = 0; i < 100; i++) {
    if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
      p->pid = 0;
      return;
    }
    sleep_ms(50);
  }
  kill(p->pid, SIGKILL);
  waitpid(p->pid, NULL, 0);
  p->pid = 0;
}

void be_start(backend *b, int which) {
  memset(b, 0, sizeof(*b));
  if (which == BACKEND_CGRPC) {
    ts_start(&b->ts);
    b->target = b->ts.target;
    b->name = "cgrpc";
  } else {
    const char *args[] = {"--host", "127.0.0.1", "--port", "0", NULL};
    int rc = tp_start_python(&b->proc, interop_path("echo_grpcio_server.py"),
                             args);
    ck_assert_msg(rc == 0, "cannot start the grpcio echo server "
                           "(is CGRPC_TEST_PYTHON set to the venv python?)");
    b->target = b->proc.target;
    b->name = "grpcio";
  }
}

void be_stop(backend *b) {
  ts_stop(&b->ts);
  tp_stop(&b->proc);
}

cgrpc_channel *chan(const char *target) {
  cgrpc_channel *ch = NULL;
  ck_rc(cgrpc_channel_create(&ch, target, NULL));
  return ch;
}

cgrpc_call_options *opts_md(int64_t timeout_ms, ...) {
  cgrpc_call_options *o;
  ck_rc(cgrpc_call_options_create(&o));
  if (timeout_ms >= 0) ck_rc(cgrpc_call_options_set_timeout(o, timeout_ms));
  va_list ap;
  va_start(ap, timeout_ms);
  const char *k;
  while ((k = va_arg(ap, const char *)) != NULL) {
    const char *v = va_arg(ap, const char *);
    ck_rc(cgrpc_call_options_add_metadata(o, k, v, strlen(v)));
  }
  va_end(ap);
  return o;
}

int do_unary(cgrpc_channel *ch, const char *method, const char *req,
             cgrpc_call_options *o, char **reply, char **msg) {
  int code = -1;
  cgrpc_buffer *rep = NULL;
  char *m = NULL;
  ck_rc(cgrpc_unary(ch, method, req, strlen(req), o, &code, &rep, &m));
  if (reply) {
    *reply = rep ? strndup((const char *)cgrpc_buffer_data(rep),
                           cgrpc_buffer_len(rep))
                 : NULL;
  }
  if (msg)
    *msg = strdup(m ? m : "");
  cgrpc_free(m);
  cgrpc_buffer_free(rep);
  return code;
}
