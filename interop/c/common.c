#include "common.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int interop_host_port(char *out, size_t n, const char *host, int port) {
  int bracket = strchr(host, ':') != NULL && host[0] != '[';
  int w = snprintf(out, n, bracket ? "[%s]:%d" : "%s:%d", host, port);
  return w < 0 || (size_t)w >= n ? -1 : 0;
}

int64_t interop_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set_err(char *err, size_t errn, int rc, const char *what) {
  const char *detail = cgrpc_last_error();
  snprintf(err, errn, "%s: %s%s%s", what, cgrpc_strerror(rc),
           detail[0] ? ": " : "", detail);
  return rc;
}

static int has(const char *s) { return s && s[0]; }

static int client_tls(cgrpc_credentials **out, const interop_client_config *cfg,
                      char *err, size_t errn) {
  cgrpc_tls_options *tls = NULL;
  int rc = cgrpc_tls_options_create(&tls);
  if (rc != CGRPC_OK) return set_err(err, errn, rc, "TLS options");
  /* --use_test_ca swaps the system roots for the test CA; grpc's own
   * ca.pem is not built in, so it comes from --ca_file.  A --ca_file
   * without --use_test_ca is honoured too: it only narrows trust. */
  if (has(cfg->ca_file))
    rc = cgrpc_tls_options_set_root_certs_file(tls, cfg->ca_file);
  if (rc == CGRPC_OK && has(cfg->server_host_override))
    rc = cgrpc_tls_options_set_target_name_override(tls,
                                                    cfg->server_host_override);
  if (rc == CGRPC_OK) rc = cgrpc_credentials_create_tls_client(out, tls);
  cgrpc_tls_options_destroy(tls);
  return rc == CGRPC_OK ? rc : set_err(err, errn, rc, "TLS credentials");
}

int interop_channel_create(cgrpc_channel **out, const interop_client_config *cfg,
                           char *err, size_t errn) {
  char target[300];
  cgrpc_channel_options *opts = NULL;
  cgrpc_credentials *creds = NULL;
  int rc;
  *out = NULL;
  if (interop_host_port(target, sizeof(target), cfg->server_host,
                        cfg->server_port) != 0) {
    snprintf(err, errn, "server host too long");
    return CGRPC_E_INVALID_ARG;
  }
  rc = cgrpc_channel_options_create(&opts);
  if (rc != CGRPC_OK) return set_err(err, errn, rc, "channel options");
  rc = cgrpc_channel_options_set_user_agent(opts, "cgrpc-interop-client");
  if (rc == CGRPC_OK && cfg->use_tls) {
    rc = client_tls(&creds, cfg, err, errn);
    if (rc != CGRPC_OK) goto out; /* err already says why */
    rc = cgrpc_channel_options_set_credentials(opts, creds);
  } else if (rc == CGRPC_OK && has(cfg->server_host_override)) {
    /* Plaintext: the override is only the :authority. */
    rc = cgrpc_channel_options_set_authority(opts, cfg->server_host_override);
  }
  if (rc == CGRPC_OK) rc = cgrpc_channel_create(out, target, opts);
  if (rc != CGRPC_OK) set_err(err, errn, rc, "channel");
out:
  cgrpc_credentials_destroy(creds);
  cgrpc_channel_options_destroy(opts);
  return rc;
}

int interop_server_listen(cgrpc_server *srv, const interop_server_config *cfg,
                          int *bound, char *err, size_t errn) {
  char addr[300];
  int rc;
  if (interop_host_port(addr, sizeof(addr), cfg->host, cfg->port) != 0) {
    snprintf(err, errn, "host too long");
    return CGRPC_E_INVALID_ARG;
  }
  if (!cfg->use_tls) {
    rc = cgrpc_server_add_listener(srv, addr, bound);
    return rc == CGRPC_OK ? rc : set_err(err, errn, rc, addr);
  }
  cgrpc_tls_options *tls = NULL;
  cgrpc_credentials *creds = NULL;
  rc = cgrpc_tls_options_create(&tls);
  if (rc == CGRPC_OK)
    rc = cgrpc_tls_options_set_cert_chain_file(tls, cfg->cert_file);
  if (rc == CGRPC_OK)
    rc = cgrpc_tls_options_set_private_key_file(tls, cfg->key_file);
  if (rc == CGRPC_OK) rc = cgrpc_credentials_create_tls_server(&creds, tls);
  cgrpc_tls_options_destroy(tls);
  if (rc != CGRPC_OK) return set_err(err, errn, rc, "TLS server credentials");
  rc = cgrpc_server_add_secure_listener(srv, addr, creds, bound);
  cgrpc_credentials_destroy(creds);
  return rc == CGRPC_OK ? rc : set_err(err, errn, rc, addr);
}
