/* The echo test service as a process (see echo_service.h):
 *   echo_server [--host 127.0.0.1] [--port 0]
 * prints "PORT <n>" once listening and serves until SIGTERM or SIGINT. */
#include <pthread.h>
#include <signal.h>

#include "echo_service.h"

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  const char *port = "0";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0)
      host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0)
      port = argv[i + 1];
    else {
      fprintf(stderr, "usage: %s [--host H] [--port P]\n", argv[0]);
      return 2;
    }
  }
  /* Block the stop signals in every thread; main waits for them. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  char addr[300];
  snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host,
           port);
  cgrpc_server *srv;
  int bound = 0;
  int rc = cgrpc_server_create(&srv, NULL);
  if (!rc) rc = echo_register(srv);
  if (!rc) rc = cgrpc_server_add_listener(srv, addr, &bound);
  if (!rc) rc = cgrpc_server_start(srv);
  if (rc) {
    fprintf(stderr, "echo_server: %s: %s\n", addr, cgrpc_strerror(rc));
    return 1;
  }
  printf("PORT %d\n", bound);
  fflush(stdout);
  int sig;
  sigwait(&set, &sig);
  cgrpc_server_shutdown(srv, 500);
  cgrpc_server_destroy(srv);
  return 0;
}
