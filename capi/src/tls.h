/* TLS with OpenSSL: credentials (an SSL_CTX plus settings, shared and
 * immutable) and the TLS byte-stream I/O that sits under a transport,
 * with a non-blocking handshake driven by the loop. */
#ifndef CG_TLS_H
#define CG_TLS_H

#include "internal.h"
#include "metadata.h"

struct cg_io;

struct cgrpc_credentials {
  atomic_int refs;
  int tls;       /* 0: insecure (plaintext h2c) */
  int is_server;
  void *ctx;     /* SSL_CTX */
  char *override_name;
  int skip_verify;
  int64_t handshake_timeout_ms;
};

void cg_creds_ref(cgrpc_credentials *c);
void cg_creds_unref(cgrpc_credentials *c);

/* A TLS io over fd (takes the fd).  server_name: the name to verify and
 * send as SNI (client; NULL on servers).  Returns NULL on failure. */
struct cg_io *cg_io_tls_new(int fd, const cgrpc_credentials *c,
                            const char *server_name);

/* Sets the thread's cgrpc_last_error() text. */
void cg_set_last_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
