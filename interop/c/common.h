/* Set-up shared by the interop client and server: targets, TLS
 * credentials, the channel and the listener. */
#ifndef INTEROP_COMMON_H
#define INTEROP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "cgrpc.h"

/* "host:port", with brackets around an IPv6 literal.  Returns 0, or -1 if
 * it does not fit. */
int interop_host_port(char *out, size_t n, const char *host, int port);

typedef struct interop_client_config {
  const char *server_host;
  int server_port;
  const char *server_host_override; /* NULL or "": none */
  int use_tls;
  int use_test_ca;
  const char *ca_file; /* NULL or "": system roots */
} interop_client_config;

/* Creates the channel the client's cases share.  On error writes a reason
 * to err and returns a cgrpc error code. */
int interop_channel_create(cgrpc_channel **out, const interop_client_config *cfg,
                           char *err, size_t errn);

typedef struct interop_server_config {
  const char *host;
  int port;
  int use_tls;
  const char *cert_file;
  const char *key_file;
} interop_server_config;

/* Adds the server's listener (h2c or TLS); *bound gets the port.  On
 * error writes a reason to err and returns a cgrpc error code. */
int interop_server_listen(cgrpc_server *srv, const interop_server_config *cfg,
                          int *bound, char *err, size_t errn);

/* Monotonic milliseconds. */
int64_t interop_now_ms(void);

#endif
