/* The echo test service as a process (see echo_service.h):
 *   echo_server [--host 127.0.0.1] [--port 0]
 *               [--tls-cert F --tls-key F [--client-ca F]]
 * prints "PORT <n>" once listening and serves until SIGTERM or SIGINT.
 * With --tls-cert it serves TLS; --client-ca requires client
 * certificates signed by that CA (mutual TLS). */
#include <pthread.h>
#include <signal.h>

#include "echo_service.h"

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  const char *port = "0";
  const char *cert = NULL, *key = NULL, *client_ca = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0)
      host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0)
      port = argv[i + 1];
    else if (strcmp(argv[i], "--tls-cert") == 0)
      cert = argv[i + 1];
    else if (strcmp(argv[i], "--tls-key") == 0)
      key = argv[i + 1];
    else if (strcmp(argv[i], "--client-ca") == 0)
      client_ca = argv[i + 1];
    else {
      fprintf(stderr,
              "usage: %s [--host H] [--port P] [--tls-cert F --tls-key F "
              "[--client-ca F]]\n",
              argv[0]);
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
  cgrpc_credentials *creds = NULL;
  if (!rc && cert) {
    cgrpc_tls_options *to;
    rc = cgrpc_tls_options_create(&to);
    if (!rc) rc = cgrpc_tls_options_set_cert_chain_file(to, cert);
    if (!rc) rc = cgrpc_tls_options_set_private_key_file(to, key ? key : "");
    if (!rc && client_ca) {
      rc = cgrpc_tls_options_set_root_certs_file(to, client_ca);
      if (!rc)
        rc = cgrpc_tls_options_set_client_cert_mode(to,
                                                    CGRPC_CLIENT_CERT_REQUIRE);
    }
    if (!rc) rc = cgrpc_credentials_create_tls_server(&creds, to);
    cgrpc_tls_options_destroy(to);
  }
  if (!rc) rc = cgrpc_server_add_secure_listener(srv, addr, creds, &bound);
  cgrpc_credentials_destroy(creds);
  if (!rc) rc = cgrpc_server_start(srv);
  if (rc) {
    fprintf(stderr, "echo_server: %s: %s %s\n", addr, cgrpc_strerror(rc),
            cgrpc_last_error());
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
