/* TLS and mutual TLS: identity in handlers, every bad certificate and
 * protocol mismatch, credential errors, grpcio over TLS both ways.
 * Certificates come from tests/tls/gen-certs.sh ($CGRPC_TEST_CERTS). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

static const char *cert(const char *name) {
  static __thread char buf[8][512];
  static __thread int k;
  const char *dir = getenv("CGRPC_TEST_CERTS");
  ck_assert_msg(dir != NULL, "CGRPC_TEST_CERTS is not set");
  char *b = buf[k++ % 8];
  snprintf(b, 512, "%s/%s", dir, name);
  return b;
}

static cgrpc_credentials *server_creds(const char *leaf, int client_mode) {
  cgrpc_tls_options *o;
  ck_rc(cgrpc_tls_options_create(&o));
  char c[64], k[64];
  snprintf(c, sizeof(c), "%s.pem", leaf);
  snprintf(k, sizeof(k), "%s.key", leaf);
  ck_rc(cgrpc_tls_options_set_cert_chain_file(o, cert(c)));
  ck_rc(cgrpc_tls_options_set_private_key_file(o, cert(k)));
  ck_rc(cgrpc_tls_options_set_handshake_timeout(o, 500));
  if (client_mode) {
    ck_rc(cgrpc_tls_options_set_root_certs_file(o, cert("ca.pem")));
    ck_rc(cgrpc_tls_options_set_client_cert_mode(o, client_mode));
  }
  cgrpc_credentials *cr;
  int rc = cgrpc_credentials_create_tls_server(&cr, o);
  ck_assert_msg(rc == 0, "server creds: %s", cgrpc_last_error());
  cgrpc_tls_options_destroy(o);
  return cr;
}

/* roots: file name in the cert dir; client: leaf name or NULL. */
static cgrpc_channel *tls_channel(const char *target, const char *roots,
                                  const char *client, const char *override) {
  cgrpc_tls_options *o;
  ck_rc(cgrpc_tls_options_create(&o));
  ck_rc(cgrpc_tls_options_set_root_certs_file(o, cert(roots)));
  if (client) {
    char c[64], k[64];
    snprintf(c, sizeof(c), "%s.pem", client);
    snprintf(k, sizeof(k), "%s.key", client);
    ck_rc(cgrpc_tls_options_set_cert_chain_file(o, cert(c)));
    ck_rc(cgrpc_tls_options_set_private_key_file(o, cert(k)));
  }
  if (override) ck_rc(cgrpc_tls_options_set_target_name_override(o, override));
  cgrpc_credentials *cr;
  ck_rc(cgrpc_credentials_create_tls_client(&cr, o));
  cgrpc_tls_options_destroy(o);
  cgrpc_channel_options *co;
  ck_rc(cgrpc_channel_options_create(&co));
  ck_rc(cgrpc_channel_options_set_credentials(co, cr));
  ck_rc(cgrpc_channel_options_set_connect_timeout(co, 2000));
  cgrpc_credentials_destroy(cr); /* the options hold a reference */
  cgrpc_channel *ch;
  ck_rc(cgrpc_channel_create(&ch, target, co));
  cgrpc_channel_options_destroy(co);
  return ch;
}

typedef struct tls_server {
  cgrpc_server *srv;
  int port;
  char target[64];
} tls_server;

#include "echo_service.h"
#include "probes.h"

static void tls_start(tls_server *s, const char *leaf, int client_mode) {
  memset(s, 0, sizeof(*s));
  ck_rc(cgrpc_server_create(&s->srv, NULL));
  ck_rc(echo_register(s->srv));
  ck_rc(probes_register(s->srv));
  cgrpc_credentials *cr = server_creds(leaf, client_mode);
  ck_rc(cgrpc_server_add_secure_listener(s->srv, "127.0.0.1:0", cr, &s->port));
  cgrpc_credentials_destroy(cr);
  ck_rc(cgrpc_server_start(s->srv));
  snprintf(s->target, sizeof(s->target), "127.0.0.1:%d", s->port);
}

static void tls_stop(tls_server *s) {
  cgrpc_server_shutdown(s->srv, 500);
  cgrpc_server_destroy(s->srv);
}

static int echo_ok(cgrpc_channel *ch, char **msg) {
  char *reply = NULL;
  int code = do_unary(ch, "/cgrpc.test.Echo/Unary", "secret", NULL, &reply, msg);
  int ok = code == 0 && reply && strcmp(reply, "secret") == 0;
  free(reply);
  return ok ? 0 : code;
}

START_TEST(tls_unary_bidi_and_identity) {
  tls_server s;
  tls_start(&s, "server", 0);
  cgrpc_channel *ch = tls_channel(s.target, "ca.pem", NULL, NULL);
  ck_assert_int_eq(echo_ok(ch, NULL), 0);
  cgrpc_call *c;
  ck_rc(cgrpc_call_start(&c, ch, "/cgrpc.test.Echo/Bidi", NULL));
  for (int i = 0; i < 10; i++) {
    ck_rc(cgrpc_call_send(c, "p", 1, 0));
    cgrpc_buffer *b;
    ck_rc(cgrpc_call_recv(c, &b));
    cgrpc_buffer_free(b);
  }
  ck_rc(cgrpc_call_close_send(c));
  const cgrpc_metadata *auth;
  ck_rc(cgrpc_call_auth_context(c, &auth));
  ck_assert_str_eq((const char *)cgrpc_metadata_get(auth, "transport_security_type", NULL), "ssl");
  ck_assert_str_eq((const char *)cgrpc_metadata_get(auth, "x509_common_name", NULL),
                   "cgrpc-test-server");
  int code;
  ck_rc(cgrpc_call_status(c, &code, NULL, NULL));
  ck_assert_int_eq(code, 0);
  cgrpc_call_destroy(c);
  char *reply;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Probe/Info", "", NULL, &reply, NULL), 0);
  ck_assert_ptr_nonnull(strstr(reply, "auth=transport_security_type=ssl,"));
  ck_assert_ptr_null(strstr(reply, "x509_common_name")); /* no client cert */
  free(reply);
  cgrpc_channel_destroy(ch);
  /* By DNS name (verified against the localhost SAN). */
  char target[64];
  snprintf(target, sizeof(target), "localhost:%d", s.port);
  ch = tls_channel(target, "ca.pem", NULL, NULL);
  ck_assert_int_eq(echo_ok(ch, NULL), 0);
  cgrpc_channel_destroy(ch);
  tls_stop(&s);
}
END_TEST

START_TEST(mutual_tls) {
  tls_server s;
  tls_start(&s, "server", CGRPC_CLIENT_CERT_REQUIRE);
  cgrpc_channel *ch = tls_channel(s.target, "ca.pem", "client", NULL);
  char *reply;
  ck_assert_int_eq(do_unary(ch, "/cgrpc.test.Probe/Info", "", NULL, &reply, NULL), 0);
  ck_assert_ptr_nonnull(strstr(reply, "x509_common_name=cgrpc-test-client,"));
  ck_assert_ptr_nonnull(strstr(reply, "x509_subject_alternative_name=client.cgrpc.test,"));
  ck_assert_ptr_nonnull(strstr(reply, "x509_subject_alternative_name=spiffe://cgrpc/test-client,"));
  free(reply);
  cgrpc_channel_destroy(ch);
  /* No client certificate, or one from another CA: refused. */
  const char *bad[] = {NULL, "other-client"};
  for (int i = 0; i < 2; i++) {
    ch = tls_channel(s.target, "ca.pem", bad[i], NULL);
    char *msg;
    int code = echo_ok(ch, &msg);
    ck_assert_msg(code == CGRPC_STATUS_UNAVAILABLE, "client %s: %d %s",
                  bad[i] ? bad[i] : "(none)", code, msg);
    free(msg);
    cgrpc_channel_destroy(ch);
  }
  /* The server still serves good clients. */
  ch = tls_channel(s.target, "ca.pem", "client", NULL);
  ck_assert_int_eq(echo_ok(ch, NULL), 0);
  cgrpc_channel_destroy(ch);
  tls_stop(&s);
}
END_TEST

static const struct {
  const char *leaf, *roots, *override;
  const char *want; /* in the status message; NULL: must succeed */
} server_cases[] = {
    {"server", "other-ca.pem", NULL, "certificate verify failed"},
    {"expired", "ca.pem", NULL, "expired"},
    {"otherhost", "ca.pem", NULL, "mismatch"},
    {"otherhost", "ca.pem", "other.example", NULL},
    {"server", "ca.pem", "foo.test.google.fr", NULL},
    {"server", "ca.pem", "wrong.example", "mismatch"},
};

START_TEST(bad_server_certificates) {
  tls_server s;
  tls_start(&s, server_cases[_i].leaf, 0);
  cgrpc_channel *ch = tls_channel(s.target, server_cases[_i].roots, NULL,
                                  server_cases[_i].override);
  char *msg = NULL;
  int code = echo_ok(ch, &msg);
  if (!server_cases[_i].want) {
    ck_assert_msg(code == 0, "case %d: %d %s", _i, code, msg);
  } else {
    ck_assert_msg(code == CGRPC_STATUS_UNAVAILABLE &&
                      strstr(msg, server_cases[_i].want) != NULL,
                  "case %d: status %d '%s', want UNAVAILABLE with '%s'", _i,
                  code, msg, server_cases[_i].want);
  }
  free(msg);
  cgrpc_channel_destroy(ch);
  tls_stop(&s);
}
END_TEST

static int raw_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

/* Waits (2 s at most) for the server to close fd; returns 1 if it did. */
static int closed_by_peer(int fd, int ms) {
  char buf[512];
  int64_t until = now_ms() + ms;
  while (now_ms() < until) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r <= 0) return 1;
  }
  return 0;
}

START_TEST(protocol_mismatches_and_garbage) {
  tls_server s;
  tls_start(&s, "server", 0);
  test_server plain;
  ts_start(&plain);
  /* Plaintext client against the TLS port. */
  cgrpc_channel *ch = chan(s.target);
  char *msg;
  ck_assert_int_eq(echo_ok(ch, &msg), CGRPC_STATUS_UNAVAILABLE);
  free(msg);
  cgrpc_channel_destroy(ch);
  /* TLS client against the h2c port. */
  ch = tls_channel(plain.target, "ca.pem", NULL, NULL);
  ck_assert_int_eq(echo_ok(ch, &msg), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_msg(strstr(msg, "TLS") != NULL, "message: %s", msg);
  free(msg);
  cgrpc_channel_destroy(ch);
  /* Garbage instead of a ClientHello: that connection is closed. */
  int fd = raw_connect(s.port);
  const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n\x01\x02\x03";
  ck_assert_int_eq((int)send(fd, junk, sizeof(junk), MSG_NOSIGNAL), (int)sizeof(junk));
  ck_assert(closed_by_peer(fd, 2000));
  close(fd);
  /* A client that stops mid-handshake is cut off by the timeout... */
  int idle = raw_connect(s.port);
  /* ...while the server keeps serving everyone else. */
  ch = tls_channel(s.target, "ca.pem", NULL, NULL);
  ck_assert_int_eq(echo_ok(ch, NULL), 0);
  cgrpc_channel_destroy(ch);
  ck_assert(closed_by_peer(idle, 3000));
  close(idle);
  ts_stop(&plain);
  tls_stop(&s);
}
END_TEST

START_TEST(server_that_never_answers_the_handshake) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
  ck_assert_int_eq(listen(lfd, 8), 0); /* the kernel accepts; nobody talks */
  socklen_t len = sizeof(a);
  getsockname(lfd, (struct sockaddr *)&a, &len);
  char target[64];
  snprintf(target, sizeof(target), "127.0.0.1:%d", ntohs(a.sin_port));
  cgrpc_channel *ch = tls_channel(target, "ca.pem", NULL, NULL);
  int64_t t0 = now_ms();
  char *msg;
  ck_assert_int_eq(echo_ok(ch, &msg), CGRPC_STATUS_UNAVAILABLE);
  ck_assert_msg(strstr(msg, "timed out") != NULL, "message: %s", msg);
  ck_assert_int_lt(now_ms() - t0, 5000);
  free(msg);
  cgrpc_channel_destroy(ch);
  close(lfd);
}
END_TEST

START_TEST(credential_errors) {
  cgrpc_tls_options *o;
  cgrpc_credentials *cr = NULL;
  ck_rc(cgrpc_tls_options_create(&o));
  ck_rc(cgrpc_tls_options_set_cert_chain_file(o, cert("server.pem")));
  ck_rc(cgrpc_tls_options_set_private_key_file(o, cert("client.key")));
  ck_assert_int_eq(cgrpc_credentials_create_tls_server(&cr, o), CGRPC_E_TLS);
  ck_assert_ptr_null(cr);
  ck_assert_ptr_nonnull(strstr(cgrpc_last_error(), "does not match"));
  ck_rc(cgrpc_tls_options_set_private_key_file(o, cert("missing.key")));
  ck_assert_int_eq(cgrpc_credentials_create_tls_server(&cr, o), CGRPC_E_TLS);
  ck_rc(cgrpc_tls_options_set_private_key_file(o, cert("server.key")));
  ck_rc(cgrpc_tls_options_set_client_cert_mode(o, CGRPC_CLIENT_CERT_REQUIRE));
  ck_assert_int_eq(cgrpc_credentials_create_tls_server(&cr, o), CGRPC_E_TLS);
  ck_assert_ptr_nonnull(strstr(cgrpc_last_error(), "root"));
  ck_assert_int_eq(cgrpc_tls_options_set_client_cert_mode(o, 7),
                   CGRPC_E_INVALID_ARG);
  cgrpc_tls_options_destroy(o);
  ck_rc(cgrpc_tls_options_create(&o));
  ck_assert_int_eq(cgrpc_credentials_create_tls_server(&cr, o), CGRPC_E_TLS);
  ck_rc(cgrpc_tls_options_set_root_certs_pem(o, "not a pem", 9));
  ck_assert_int_eq(cgrpc_credentials_create_tls_client(&cr, o), CGRPC_E_TLS);
  ck_assert_int_eq(cgrpc_tls_options_set_root_certs_pem(o, NULL, 0),
                   CGRPC_E_INVALID_ARG);
  cgrpc_tls_options_destroy(o);
  /* Roles: server credentials cannot go on a channel and the reverse. */
  cgrpc_credentials *srv = server_creds("server", 0);
  cgrpc_channel_options *co;
  ck_rc(cgrpc_channel_options_create(&co));
  ck_assert_int_eq(cgrpc_channel_options_set_credentials(co, srv),
                   CGRPC_E_INVALID_ARG);
  cgrpc_channel_options_destroy(co);
  ck_rc(cgrpc_tls_options_create(&o));
  ck_rc(cgrpc_credentials_create_tls_client(&cr, o)); /* system roots */
  cgrpc_tls_options_destroy(o);
  cgrpc_server *s;
  ck_rc(cgrpc_server_create(&s, NULL));
  ck_assert_int_eq(cgrpc_server_add_secure_listener(s, "127.0.0.1:0", cr, NULL),
                   CGRPC_E_INVALID_ARG);
  cgrpc_server_destroy(s);
  cgrpc_credentials_destroy(cr);
  cgrpc_credentials_destroy(srv);
}
END_TEST

START_TEST(pem_bytes_and_mixed_listeners) {
  /* Credentials from PEM bytes; one server with h2c and TLS listeners. */
  char *pem[3];
  const char *names[] = {"server.pem", "server.key", "ca.pem"};
  size_t len[3];
  for (int i = 0; i < 3; i++) {
    FILE *f = fopen(cert(names[i]), "rb");
    ck_assert_ptr_nonnull(f);
    pem[i] = calloc(1, 16384);
    len[i] = fread(pem[i], 1, 16383, f);
    fclose(f);
  }
  cgrpc_tls_options *o;
  ck_rc(cgrpc_tls_options_create(&o));
  ck_rc(cgrpc_tls_options_set_cert_chain_pem(o, pem[0], len[0]));
  ck_rc(cgrpc_tls_options_set_private_key_pem(o, pem[1], len[1]));
  cgrpc_credentials *sc;
  ck_rc(cgrpc_credentials_create_tls_server(&sc, o));
  cgrpc_tls_options_destroy(o);
  cgrpc_server *srv;
  ck_rc(cgrpc_server_create(&srv, NULL));
  ck_rc(echo_register(srv));
  int tls_port, plain_port;
  ck_rc(cgrpc_server_add_secure_listener(srv, "127.0.0.1:0", sc, &tls_port));
  ck_rc(cgrpc_server_add_listener(srv, "127.0.0.1:0", &plain_port));
  cgrpc_credentials_destroy(sc);
  ck_rc(cgrpc_server_start(srv));

  ck_rc(cgrpc_tls_options_create(&o));
  ck_rc(cgrpc_tls_options_set_root_certs_pem(o, pem[2], len[2]));
  cgrpc_credentials *cc;
  ck_rc(cgrpc_credentials_create_tls_client(&cc, o));
  cgrpc_tls_options_destroy(o);
  cgrpc_channel_options *co;
  ck_rc(cgrpc_channel_options_create(&co));
  ck_rc(cgrpc_channel_options_set_credentials(co, cc));
  cgrpc_credentials_destroy(cc);
  char target[64];
  snprintf(target, sizeof(target), "127.0.0.1:%d", tls_port);
  cgrpc_channel *ch;
  ck_rc(cgrpc_channel_create(&ch, target, co));
  cgrpc_channel_options_destroy(co);
  ck_assert_int_eq(echo_ok(ch, NULL), 0);
  cgrpc_channel_destroy(ch);
  snprintf(target, sizeof(target), "127.0.0.1:%d", plain_port);
  ch = chan(target);
  ck_assert_int_eq(echo_ok(ch, NULL), 0);
  cgrpc_channel_destroy(ch);
  cgrpc_server_shutdown(srv, 500);
  cgrpc_server_destroy(srv);
  for (int i = 0; i < 3; i++) free(pem[i]);
}
END_TEST

START_TEST(grpcio_server_over_tls) {
  /* _i = 0: TLS; 1: mutual TLS. */
  test_proc p;
  const char *args[] = {"--host", "127.0.0.1", "--port", "0",
                        "--tls-cert", cert("server.pem"),
                        "--tls-key", cert("server.key"),
                        _i ? "--client-ca" : NULL, cert("ca.pem"), NULL};
  ck_assert_msg(tp_start_python(&p, interop_path("echo_grpcio_server.py"),
                                args) == 0,
                "cannot start the grpcio TLS server");
  cgrpc_channel *ch = tls_channel(p.target, "ca.pem", _i ? "client" : NULL, NULL);
  char *msg = NULL;
  int code = echo_ok(ch, &msg);
  ck_assert_msg(code == 0, "grpcio over TLS: %d %s", code, msg);
  free(msg);
  cgrpc_channel_destroy(ch);
  if (_i) { /* without a client certificate grpcio refuses us */
    ch = tls_channel(p.target, "ca.pem", NULL, NULL);
    ck_assert_int_eq(echo_ok(ch, NULL), CGRPC_STATUS_UNAVAILABLE);
    cgrpc_channel_destroy(ch);
  }
  tp_stop(&p);
}
END_TEST

Suite *tls_suite(void) {
  Suite *s = suite_create("tls");
  TCase *tc = tcase_create("tls");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, tls_unary_bidi_and_identity);
  tcase_add_test(tc, mutual_tls);
  tcase_add_loop_test(tc, bad_server_certificates, 0,
                      (int)(sizeof(server_cases) / sizeof(server_cases[0])));
  tcase_add_test(tc, protocol_mismatches_and_garbage);
  tcase_add_test(tc, server_that_never_answers_the_handshake);
  tcase_add_test(tc, credential_errors);
  tcase_add_test(tc, pem_bytes_and_mixed_listeners);
  tcase_add_loop_test(tc, grpcio_server_over_tls, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}
