/* grpc's interop test server (grpc.testing.TestService) on cgrpc.
 *
 *   interop_server --port=N [--host=127.0.0.1] [--use_tls=true
 *                  --tls_cert_file=F --tls_key_file=F] [--server_id=ID]
 *
 * Prints "PORT <n>" on stdout once listening (the port picked if --port=0)
 * and serves until SIGTERM or SIGINT, then shuts down gracefully: running
 * RPCs get a bounded grace period, then are cancelled. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cgrpc.h"
#include "common.h"
#include "flags.h"
#include "test_service.h"

/* How long running RPCs may go on after a stop signal. */
#define SHUTDOWN_GRACE_MS 3000

int main(int argc, char **argv) {
  interop_server_config cfg = {"127.0.0.1", -1, 0, NULL, NULL};
  interop_server_info info = {"cgrpc-interop-server", ""};
  const interop_flag flags[] = {
      {"port", INTEROP_FLAG_INT, &cfg.port, 0, 65535,
       "port to listen on; 0 picks a free one (required)"},
      {"host", INTEROP_FLAG_STRING, &cfg.host, 0, 0,
       "address to bind (default 127.0.0.1: loopback only)"},
      {"bind_host", INTEROP_FLAG_STRING, &cfg.host, 0, 0, "alias of --host"},
      {"use_tls", INTEROP_FLAG_BOOL, &cfg.use_tls, 0, 0,
       "serve TLS (ALPN h2) instead of h2c (default false)"},
      {"tls_cert_file", INTEROP_FLAG_STRING, &cfg.cert_file, 0, 0,
       "server certificate chain, PEM (with --use_tls)"},
      {"tls_key_file", INTEROP_FLAG_STRING, &cfg.key_file, 0, 0,
       "server private key, PEM (with --use_tls)"},
      {"server_id", INTEROP_FLAG_STRING, &info.server_id, 0, 0,
       "SimpleResponse.server_id for fill_server_id"},
  };
  const size_t nflags = sizeof(flags) / sizeof(flags[0]);
  const char *summary = "grpc.testing.TestService interop server (cgrpc)";
  int rc = interop_flags_parse(argc, argv, flags, nflags, summary);
  if (rc == INTEROP_FLAGS_HELP) return 0;
  if (rc != INTEROP_FLAGS_OK) return 2;
  const char *usage_err = NULL;
  if (cfg.port < 0)
    usage_err = "--port is required";
  else if (cfg.use_tls && (!cfg.cert_file || !cfg.key_file))
    usage_err = "--use_tls=true needs --tls_cert_file and --tls_key_file";
  if (usage_err) {
    fprintf(stderr, "%s: %s\n", argv[0], usage_err);
    interop_flags_usage(stderr, argv[0], flags, nflags, summary);
    return 2;
  }
  if (gethostname(info.hostname, sizeof(info.hostname) - 1) != 0)
    strcpy(info.hostname, "unknown");

  /* Block the stop signals before any thread exists, so every library
   * thread inherits the mask and main alone takes them with sigwait. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);

  cgrpc_server *srv = NULL;
  char err[512];
  int port = 0;
  rc = cgrpc_server_create(&srv, NULL);
  if (rc != CGRPC_OK) {
    fprintf(stderr, "interop_server: create: %s\n", cgrpc_strerror(rc));
    return 1;
  }
  rc = interop_test_service_register(srv, &info);
  if (rc != CGRPC_OK) {
    snprintf(err, sizeof(err), "register: %s", cgrpc_strerror(rc));
  } else {
    rc = interop_server_listen(srv, &cfg, &port, err, sizeof(err));
  }
  if (rc == CGRPC_OK && (rc = cgrpc_server_start(srv)) != CGRPC_OK)
    snprintf(err, sizeof(err), "start: %s", cgrpc_strerror(rc));
  if (rc != CGRPC_OK) {
    fprintf(stderr, "interop_server: %s\n", err);
    cgrpc_server_destroy(srv);
    return 1;
  }
  printf("PORT %d\n", port);
  fflush(stdout);
  fprintf(stderr, "interop_server: serving %s on %s:%d\n",
          cfg.use_tls ? "TLS" : "h2c", cfg.host, port);

  int sig = 0;
  sigwait(&stop, &sig);
  fprintf(stderr, "interop_server: signal %d, shutting down\n", sig);
  cgrpc_server_shutdown(srv, SHUTDOWN_GRACE_MS);
  cgrpc_server_destroy(srv);
  return 0;
}
