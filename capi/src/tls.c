/* TLS credentials and the TLS io (see tls.h). */
#include "tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "transport.h"

/* ---- thread-local error detail ---- */

static __thread char last_error[512];

void cg_set_last_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof(last_error), fmt, ap);
  va_end(ap);
}

const char *cgrpc_last_error(void) { return last_error; }

static void ssl_reason(char *buf, size_t n) {
  unsigned long e = ERR_get_error();
  if (!e) {
    snprintf(buf, n, "unknown TLS error");
    return;
  }
  ERR_error_string_n(e, buf, n);
  ERR_clear_error();
}

/* ---- options ---- */

struct cgrpc_tls_options {
  char *roots_file, *roots_pem;
  size_t roots_len;
  char *chain_file, *chain_pem;
  size_t chain_len;
  char *key_file, *key_pem;
  size_t key_len;
  char *override_name;
  int skip_verify;
  int client_cert_mode;
  int64_t handshake_timeout_ms;
};

int cgrpc_tls_options_create(cgrpc_tls_options **out) {
  if (!out) return CGRPC_E_INVALID_ARG;
  cgrpc_tls_options *o = calloc(1, sizeof(*o));
  if (!(*out = o)) return CGRPC_E_NOMEM;
  o->handshake_timeout_ms = 20000;
  return CGRPC_OK;
}

void cgrpc_tls_options_destroy(cgrpc_tls_options *o) {
  if (!o) return;
  free(o->roots_file);
  free(o->roots_pem);
  free(o->chain_file);
  free(o->chain_pem);
  if (o->key_pem) OPENSSL_cleanse(o->key_pem, o->key_len);
  free(o->key_pem);
  free(o->key_file);
  free(o->override_name);
  free(o);
}

static int set_str(char **slot, const char *v) {
  if (!v || !*v) return CGRPC_E_INVALID_ARG;
  char *d = cg_strdup(v);
  if (!d) return CGRPC_E_NOMEM;
  free(*slot);
  *slot = d;
  return CGRPC_OK;
}

static int set_pem(char **slot, size_t *len, const void *pem, size_t n) {
  if (!pem || n == 0) return CGRPC_E_INVALID_ARG;
  char *d = cg_strndup(pem, n);
  if (!d) return CGRPC_E_NOMEM;
  free(*slot);
  *slot = d;
  *len = n;
  return CGRPC_OK;
}

int cgrpc_tls_options_set_root_certs_file(cgrpc_tls_options *o,
                                          const char *path) {
  return o ? set_str(&o->roots_file, path) : CGRPC_E_INVALID_ARG;
}
int cgrpc_tls_options_set_root_certs_pem(cgrpc_tls_options *o, const void *pem,
                                         size_t len) {
  return o ? set_pem(&o->roots_pem, &o->roots_len, pem, len)
           : CGRPC_E_INVALID_ARG;
}
int cgrpc_tls_options_set_cert_chain_file(cgrpc_tls_options *o,
                                          const char *path) {
  return o ? set_str(&o->chain_file, path) : CGRPC_E_INVALID_ARG;
}
int cgrpc_tls_options_set_cert_chain_pem(cgrpc_tls_options *o, const void *pem,
                                         size_t len) {
  return o ? set_pem(&o->chain_pem, &o->chain_len, pem, len)
           : CGRPC_E_INVALID_ARG;
}
int cgrpc_tls_options_set_private_key_file(cgrpc_tls_options *o,
                                           const char *path) {
  return o ? set_str(&o->key_file, path) : CGRPC_E_INVALID_ARG;
}
int cgrpc_tls_options_set_private_key_pem(cgrpc_tls_options *o,
                                          const void *pem, size_t len) {
  return o ? set_pem(&o->key_pem, &o->key_len, pem, len) : CGRPC_E_INVALID_ARG;
}
int cgrpc_tls_options_set_target_name_override(cgrpc_tls_options *o,
                                               const char *name) {
  return o ? set_str(&o->override_name, name) : CGRPC_E_INVALID_ARG;
}
int cgrpc_tls_options_set_insecure_skip_verification(cgrpc_tls_options *o,
                                                     int skip) {
  if (!o) return CGRPC_E_INVALID_ARG;
  o->skip_verify = skip != 0;
  return CGRPC_OK;
}
int cgrpc_tls_options_set_client_cert_mode(cgrpc_tls_options *o, int mode) {
  if (!o || mode < CGRPC_CLIENT_CERT_NONE || mode > CGRPC_CLIENT_CERT_REQUIRE)
    return CGRPC_E_INVALID_ARG;
  o->client_cert_mode = mode;
  return CGRPC_OK;
}
int cgrpc_tls_options_set_handshake_timeout(cgrpc_tls_options *o, int64_t ms) {
  if (!o || ms <= 0) return CGRPC_E_INVALID_ARG;
  o->handshake_timeout_ms = ms;
  return CGRPC_OK;
}

/* ---- credentials ---- */

void cg_creds_ref(cgrpc_credentials *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void cg_creds_unref(cgrpc_credentials *c) {
  if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
    return;
  if (c->ctx) SSL_CTX_free(c->ctx);
  free(c->override_name);
  free(c);
}

void cgrpc_credentials_destroy(cgrpc_credentials *c) { cg_creds_unref(c); }

int cgrpc_credentials_create_insecure(cgrpc_credentials **out) {
  if (!out) return CGRPC_E_INVALID_ARG;
  cgrpc_credentials *c = calloc(1, sizeof(*c));
  if (!(*out = c)) return CGRPC_E_NOMEM;
  atomic_init(&c->refs, 1);
  return CGRPC_OK;
}

static BIO *pem_bio(const char *pem, size_t len) {
  return BIO_new_mem_buf(pem, (int)len);
}

static int load_roots(SSL_CTX *ctx, const cgrpc_tls_options *o, int dflt) {
  if (o->roots_file) {
    if (SSL_CTX_load_verify_locations(ctx, o->roots_file, NULL) != 1)
      return -1;
  } else if (o->roots_pem) {
    BIO *b = pem_bio(o->roots_pem, o->roots_len);
    STACK_OF(X509_INFO) *infos =
        b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!infos) return -1;
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
      X509_INFO *xi = sk_X509_INFO_value(infos, i);
      if (xi->x509 && X509_STORE_add_cert(store, xi->x509) == 1) n++;
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    if (n == 0) return -1;
  } else if (dflt) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) return -1;
  }
  return 0;
}

static int load_identity(SSL_CTX *ctx, const cgrpc_tls_options *o) {
  if (o->chain_file) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o->chain_file) != 1) return -1;
  } else if (o->chain_pem) {
    BIO *b = pem_bio(o->chain_pem, o->chain_len);
    X509 *leaf = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1;
    X509_free(leaf);
    X509 *extra;
    while (ok && (extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
      if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
        X509_free(extra);
        ok = 0;
      }
    ERR_clear_error(); /* the end of the chain reads as an error */
    BIO_free(b);
    if (!ok) return -1;
  }
  if (o->key_file) {
    if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1)
      return -2;
  } else if (o->key_pem) {
    BIO *b = pem_bio(o->key_pem, o->key_len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    int ok = k && SSL_CTX_use_PrivateKey(ctx, k) == 1;
    EVP_PKEY_free(k);
    if (!ok) return -2;
  }
  return 0;
}

static int alpn_select(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
  CG_UNUSED(ssl);
  CG_UNUSED(arg);
  for (unsigned int i = 0; i + 1 <= inlen;) {
    unsigned int n = in[i];
    if (i + 1 + n > inlen) break;
    if (n == 2 && memcmp(in + i + 1, "h2", 2) == 0) {
      *out = in + i + 1;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + n;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL; /* gRPC needs HTTP/2 */
}

static int make_creds(cgrpc_credentials **out, const cgrpc_tls_options *o,
                      int is_server) {
  if (!out) return CGRPC_E_INVALID_ARG;
  *out = NULL;
  if (!o) return CGRPC_E_INVALID_ARG;
  int has_cert = o->chain_file || o->chain_pem;
  int has_key = o->key_file || o->key_pem;
  if (has_cert != has_key || (is_server && !has_cert)) {
    cg_set_last_error(is_server ? "a TLS server needs a certificate chain and "
                                  "its private key"
                                : "a client certificate needs its private key "
                                  "(and the reverse)");
    return CGRPC_E_TLS;
  }
  if (is_server && o->client_cert_mode != CGRPC_CLIENT_CERT_NONE &&
      !o->roots_file && !o->roots_pem) {
    cg_set_last_error("verifying client certificates needs root "
                      "certificates (the client CA)");
    return CGRPC_E_TLS;
  }
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(is_server ? TLS_server_method() : TLS_client_method());
  if (!ctx) return CGRPC_E_NOMEM;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  /* RFC 7540 9.2.2: TLS 1.2 with ephemeral key exchange and AEAD only. */
  SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  const char *what = "the certificate or key";
  int bad = 0;
  int id = load_identity(ctx, o);
  if (id != 0) {
    bad = 1;
    if (id == -2) {
      what = "the private key";
      if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
        what = "the private key (it does not match the certificate)";
    }
  } else if (has_cert && SSL_CTX_check_private_key(ctx) != 1) {
    bad = 1;
    what = "the private key (it does not match the certificate)";
  } else if (load_roots(ctx, o, !is_server) != 0) {
    bad = 1;
    what = "the root certificates";
  }
  if (bad) {
    char r[256];
    ssl_reason(r, sizeof(r));
    cg_set_last_error("cannot use %s: %s", what, r);
    SSL_CTX_free(ctx);
    return CGRPC_E_TLS;
  }
  cgrpc_credentials *c = calloc(1, sizeof(*c));
  if (!c) {
    SSL_CTX_free(ctx);
    return CGRPC_E_NOMEM;
  }
  atomic_init(&c->refs, 1);
  c->tls = 1;
  c->is_server = is_server;
  c->ctx = ctx;
  c->skip_verify = o->skip_verify;
  c->handshake_timeout_ms = o->handshake_timeout_ms;
  if (o->override_name && !(c->override_name = cg_strdup(o->override_name))) {
    cg_creds_unref(c);
    return CGRPC_E_NOMEM;
  }
  if (is_server) {
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    int mode = o->client_cert_mode == CGRPC_CLIENT_CERT_REQUIRE
                   ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
               : o->client_cert_mode == CGRPC_CLIENT_CERT_REQUEST
                   ? SSL_VERIFY_PEER
                   : SSL_VERIFY_NONE;
    SSL_CTX_set_verify(ctx, mode, NULL);
    if (mode != SSL_VERIFY_NONE && (o->roots_file || o->roots_pem)) {
      /* Name the acceptable CAs in the CertificateRequest. */
      STACK_OF(X509_NAME) *names =
          o->roots_file ? SSL_load_client_CA_file(o->roots_file) : NULL;
      if (names) SSL_CTX_set_client_CA_list(ctx, names);
    }
    static const unsigned char sid[] = "cgrpc";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
  } else {
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
    SSL_CTX_set_verify(ctx, o->skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       NULL);
  }
  ERR_clear_error();
  *out = c;
  return CGRPC_OK;
}

int cgrpc_credentials_create_tls_client(cgrpc_credentials **out,
                                        const cgrpc_tls_options *o) {
  return make_creds(out, o, 0);
}

int cgrpc_credentials_create_tls_server(cgrpc_credentials **out,
                                        const cgrpc_tls_options *o) {
  return make_creds(out, o, 1);
}

/* ---- the TLS io ---- */

typedef struct tls_io {
  cg_io io;
  SSL *ssl;
  int is_server;
} tls_io;

static ssize_t tls_read(cg_io *io, void *buf, size_t n) {
  tls_io *t = (tls_io *)io;
  ERR_clear_error();
  int r = SSL_read(t->ssl, buf, (int)CG_MIN(n, (size_t)INT32_MAX));
  if (r > 0) return r;
  int e = SSL_get_error(t->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (e == SSL_ERROR_ZERO_RETURN) return 0; /* close_notify */
  if (e == SSL_ERROR_SSL) ssl_reason(io->err, sizeof(io->err));
  errno = ECONNRESET;
  return e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 ? 0 : -1;
}

static ssize_t tls_write(cg_io *io, const void *buf, size_t n) {
  tls_io *t = (tls_io *)io;
  ERR_clear_error();
  int w = SSL_write(t->ssl, buf, (int)CG_MIN(n, (size_t)INT32_MAX));
  if (w > 0) return w;
  int e = SSL_get_error(t->ssl, w);
  errno = (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? EAGAIN
                                                                   : EPIPE;
  return -1;
}

static void tls_destroy(cg_io *io) {
  tls_io *t = (tls_io *)io;
  if (t->ssl) SSL_free(t->ssl);
  if (io->fd >= 0) close(io->fd);
  free(t);
}

static int tls_handshake(cg_io *io, uint32_t *want, char *err, size_t n) {
  tls_io *t = (tls_io *)io;
  ERR_clear_error();
  int r = SSL_do_handshake(t->ssl);
  if (r == 1) {
    const unsigned char *proto = NULL;
    unsigned int plen = 0;
    SSL_get0_alpn_selected(t->ssl, &proto, &plen);
    if (!t->is_server && !(plen == 2 && memcmp(proto, "h2", 2) == 0)) {
      snprintf(err, n, "the server did not select HTTP/2 (ALPN h2)");
      return -1;
    }
    return 1;
  }
  int e = SSL_get_error(t->ssl, r);
  if (e == SSL_ERROR_WANT_READ) {
    *want = EPOLLIN;
    return 0;
  }
  if (e == SSL_ERROR_WANT_WRITE) {
    *want = EPOLLIN | EPOLLOUT;
    return 0;
  }
  long vr = SSL_get_verify_result(t->ssl);
  char reason[256];
  if (vr != X509_V_OK) {
    snprintf(reason, sizeof(reason), "certificate verify failed: %s",
             X509_verify_cert_error_string(vr));
  } else if (ERR_peek_error()) {
    ssl_reason(reason, sizeof(reason));
  } else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
    snprintf(reason, sizeof(reason), "connection closed during the handshake");
  } else {
    snprintf(reason, sizeof(reason), "TLS error %d", e);
  }
  snprintf(err, n, "%s", reason);
  ERR_clear_error();
  return -1;
}

static void add_str(cgrpc_metadata *md, const char *k, const char *v,
                    size_t len) {
  cg_md_append(md, k, strlen(k), v, len);
}

static void tls_auth(cg_io *io, cgrpc_metadata *md) {
  tls_io *t = (tls_io *)io;
  add_str(md, "transport_security_type", "ssl", 3);
  X509 *cert = SSL_get1_peer_certificate(t->ssl);
  if (!cert) return;
  char buf[1024];
  BIO *b = BIO_new(BIO_s_mem());
  if (b && X509_NAME_print_ex(b, X509_get_subject_name(cert), 0,
                              XN_FLAG_RFC2253) >= 0) {
    int len = BIO_read(b, buf, sizeof(buf) - 1);
    if (len > 0) add_str(md, "x509_subject", buf, (size_t)len);
  }
  BIO_free(b);
  int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                      NID_commonName, buf, sizeof(buf));
  if (len > 0) add_str(md, "x509_common_name", buf, (size_t)len);
  GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
  for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
    GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
    if (g->type == GEN_DNS || g->type == GEN_URI || g->type == GEN_EMAIL) {
      ASN1_IA5STRING *s = g->d.ia5;
      add_str(md, "x509_subject_alternative_name", (const char *)s->data,
              (size_t)s->length);
    } else if (g->type == GEN_IPADD) {
      ASN1_OCTET_STRING *ip = g->d.ip;
      char txt[INET6_ADDRSTRLEN] = "";
      if (ip->length == 4 || ip->length == 16)
        inet_ntop(ip->length == 4 ? AF_INET : AF_INET6, ip->data, txt,
                  sizeof(txt));
      add_str(md, "x509_subject_alternative_name", txt, strlen(txt));
    }
  }
  GENERAL_NAMES_free(sans);
  b = BIO_new(BIO_s_mem());
  if (b && PEM_write_bio_X509(b, cert) == 1) {
    char *p;
    long n = BIO_get_mem_data(b, &p);
    if (n > 0) add_str(md, "x509_pem_cert", p, (size_t)n);
  }
  BIO_free(b);
  X509_free(cert);
}

cg_io *cg_io_tls_new(int fd, const cgrpc_credentials *c,
                     const char *server_name) {
  tls_io *t = calloc(1, sizeof(*t));
  if (!t) return NULL;
  t->io.read = tls_read;
  t->io.write = tls_write;
  t->io.destroy = tls_destroy;
  t->io.handshake = tls_handshake;
  t->io.auth = tls_auth;
  t->io.fd = fd;
  t->is_server = c->is_server;
  t->ssl = SSL_new(c->ctx);
  if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
    t->io.fd = -1; /* the caller still owns fd on failure */
    tls_destroy(&t->io);
    return NULL;
  }
  if (c->is_server) {
    SSL_set_accept_state(t->ssl);
    return &t->io;
  }
  SSL_set_connect_state(t->ssl);
  const char *name = c->override_name ? c->override_name : server_name;
  unsigned char ip[16];
  int is_ip = name && (inet_pton(AF_INET, name, ip) == 1 ||
                       inet_pton(AF_INET6, name, ip) == 1);
  if (name && !is_ip) SSL_set_tlsext_host_name(t->ssl, name); /* SNI */
  if (name && !c->skip_verify) {
    X509_VERIFY_PARAM *p = SSL_get0_param(t->ssl);
    X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(p, name)
                   : X509_VERIFY_PARAM_set1_host(p, name, 0);
    if (ok != 1) {
      t->io.fd = -1;
      tls_destroy(&t->io);
      return NULL;
    }
  }
  return &t->io;
}
