#include "cases.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "grpc/testing/test.cgrpc.h"

#define ECHO_INITIAL_KEY "x-grpc-test-echo-initial"
#define ECHO_INITIAL_VALUE "test_initial_metadata_value"
#define ECHO_TRAILING_KEY "x-grpc-test-echo-trailing-bin"
static const uint8_t k_trailing_value[] = {0xab, 0xab, 0xab};

static const int32_t k_request_sizes[] = {27182, 8, 1828, 45904};
static const int32_t k_response_sizes[] = {31415, 9, 2653, 58979};
#define LARGE_REQUEST 271828
#define LARGE_RESPONSE 314159
#define STREAM_STEPS 4

#define STATUS_MESSAGE "test status message"
/* special_status_message: whitespace, a BMP and a non-BMP character. */
#define SPECIAL_MESSAGE \
  "\t\ntest with whitespace\r\nand Unicode BMP \xe2\x98\xba and non-BMP \xf0\x9f\x98\x88\t\n"

/* Writes the reason and returns -1, so a case can "return failf(...)". */
static int failf(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int failf(char *why, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, n, fmt, ap);
  va_end(ap);
  return -1;
}

/* A status message made printable on one line (\t, \n, \r, \xNN). */
static const char *esc(const char *s, char *buf, size_t n) {
  size_t o = 0;
  for (; s && *s && o + 5 < n; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '\n' || ch == '\r' || ch == '\t') {
      buf[o++] = '\\';
      buf[o++] = ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't';
    } else if (ch < 0x20 || ch == 0x7f) {
      o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
    } else {
      buf[o++] = (char)ch;
    }
  }
  buf[o] = '\0';
  return buf;
}

static int status_fail(char *why, size_t n, const char *what, int code,
                       const char *msg) {
  char m[256];
  return failf(why, n, "%s: status %s (%d): \"%s\"", what,
               cgrpc_status_name(code), code, esc(msg, m, sizeof(m)));
}

static int api_fail(char *why, size_t n, const char *what, int rc) {
  return failf(why, n, "%s: %s", what, cgrpc_strerror(rc));
}

/* Per-call options: the client's deadline (or timeout_ms if >= 0), and
 * the echo metadata for custom_metadata. */
static cgrpc_call_options *call_opts(const interop_client *c, int64_t timeout_ms,
                                     int echo_md) {
  cgrpc_call_options *o = NULL;
  if (cgrpc_call_options_create(&o) != CGRPC_OK) return NULL;
  if (cgrpc_call_options_set_timeout(o, timeout_ms >= 0 ? timeout_ms
                                                        : c->timeout_ms) != CGRPC_OK ||
      (echo_md &&
       (cgrpc_call_options_add_metadata(o, ECHO_INITIAL_KEY, ECHO_INITIAL_VALUE,
                                        strlen(ECHO_INITIAL_VALUE)) != CGRPC_OK ||
        cgrpc_call_options_add_metadata(o, ECHO_TRAILING_KEY, k_trailing_value,
                                        sizeof(k_trailing_value)) != CGRPC_OK))) {
    cgrpc_call_options_destroy(o);
    return NULL;
  }
  return o;
}

/* A request payload of size zero bytes (borrowing the client's zeros). */
static Grpc__Testing__Payload zeros_payload(const interop_client *c, int32_t size) {
  Grpc__Testing__Payload p = GRPC__TESTING__PAYLOAD__INIT;
  p.body.data = (uint8_t *)c->zeros;
  p.body.len = (size_t)size;
  return p;
}

/* The response payload has exactly want bytes, all zero. */
static int check_payload(const Grpc__Testing__Payload *p, size_t want,
                         const char *what, char *why, size_t n) {
  size_t len = p ? p->body.len : 0;
  if (len != want)
    return failf(why, n, "%s: payload of %zu bytes, want %zu", what, len, want);
  for (size_t i = 0; i < len; i++)
    if (p->body.data[i] != 0)
      return failf(why, n, "%s: payload byte %zu is 0x%02x, want 0", what, i,
                   p->body.data[i]);
  return 0;
}

/* The echoed initial and trailing metadata of custom_metadata. */
static int check_echo(cgrpc_call *call, const cgrpc_metadata *trailers,
                      const char *what, char *why, size_t n) {
  const cgrpc_metadata *md = NULL;
  const uint8_t *v;
  size_t len;
  if (cgrpc_call_initial_metadata(call, &md) != CGRPC_OK ||
      !(v = cgrpc_metadata_get(md, ECHO_INITIAL_KEY, &len)))
    return failf(why, n, "%s: no %s in the initial metadata", what, ECHO_INITIAL_KEY);
  if (len != strlen(ECHO_INITIAL_VALUE) || memcmp(v, ECHO_INITIAL_VALUE, len) != 0)
    return failf(why, n, "%s: %s is \"%.*s\"", what, ECHO_INITIAL_KEY, (int)len, v);
  if (!(v = cgrpc_metadata_get(trailers, ECHO_TRAILING_KEY, &len)))
    return failf(why, n, "%s: no %s in the trailers", what, ECHO_TRAILING_KEY);
  if (len != sizeof(k_trailing_value) || memcmp(v, k_trailing_value, len) != 0)
    return failf(why, n, "%s: %s has %zu bytes, not 0xababab", what,
                 ECHO_TRAILING_KEY, len);
  return 0;
}

/* Reads the end of a stream: no further message, then the status, which
 * must be want_code (and want_msg unless NULL). */
static int expect_end(cgrpc_call *call, int want_code, const char *want_msg,
                      const cgrpc_metadata **trailers, const char *what,
                      char *why, size_t n) {
  Grpc__Testing__StreamingOutputCallResponse *extra = NULL;
  int rc = cgrpc_pbc_recv(call, &grpc__testing__streaming_output_call_response__descriptor,
                          (ProtobufCMessage **)&extra);
  int code = -1;
  const char *msg = "";
  if (rc == CGRPC_OK) {
    grpc__testing__streaming_output_call_response__free_unpacked(extra, NULL);
    return failf(why, n, "%s: a response more than expected", what);
  }
  cgrpc_call_status(call, &code, &msg, trailers);
  if (rc != CGRPC_DONE && rc != CGRPC_E_PARSE)
    return api_fail(why, n, what, rc);
  if (code != want_code || (want_msg && strcmp(msg, want_msg) != 0)) {
    char m[256], w[256];
    return failf(why, n, "%s: status %s (%d) \"%s\", want %s (%d)%s%s%s", what,
                 cgrpc_status_name(code), code, esc(msg, m, sizeof(m)),
                 cgrpc_status_name(want_code), want_code, want_msg ? " \"" : "",
                 want_msg ? esc(want_msg, w, sizeof(w)) : "", want_msg ? "\"" : "");
  }
  return 0;
}

/* Receives one streamed response of want bytes. */
static int recv_sized(cgrpc_call *call, int32_t want, const char *what, char *why,
                      size_t n) {
  Grpc__Testing__StreamingOutputCallResponse *resp = NULL;
  /* StreamingOutputCall, FullDuplexCall and HalfDuplexCall stream the
   * same type, so the untyped-call helper serves all three. */
  int rc = cgrpc_pbc_recv(call, &grpc__testing__streaming_output_call_response__descriptor,
                          (ProtobufCMessage **)&resp);
  if (rc != CGRPC_OK) {
    int code = -1;
    const char *msg = "";
    if (rc == CGRPC_DONE || rc == CGRPC_E_PARSE) {
      cgrpc_call_status(call, &code, &msg, NULL);
      return status_fail(why, n, what, code, msg);
    }
    return api_fail(why, n, what, rc);
  }
  int r = check_payload(resp->payload, (size_t)want, what, why, n);
  grpc__testing__streaming_output_call_response__free_unpacked(resp, NULL);
  return r;
}

/* ---------------------------------------------------------------- */

static int empty_unary(const interop_client *c, char *why, size_t n) {
  Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *reply = NULL;
  cgrpc_call_options *o = call_opts(c, -1, 0);
  char *msg = NULL;
  int code = -1, r = 0;
  if (!o) return failf(why, n, "no memory");
  int rc = grpc_testing_test_service_empty_call(c->test, &req, &reply, o, &code, &msg);
  if (rc != CGRPC_OK) r = api_fail(why, n, "EmptyCall", rc);
  else if (code != CGRPC_STATUS_OK) r = status_fail(why, n, "EmptyCall", code, msg);
  else if (!reply) r = failf(why, n, "EmptyCall: no response");
  if (reply) grpc__testing__empty__free_unpacked(reply, NULL);
  cgrpc_free(msg);
  cgrpc_call_options_destroy(o);
  return r;
}

static Grpc__Testing__SimpleRequest large_request(Grpc__Testing__Payload *p) {
  Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
  req.response_size = LARGE_RESPONSE;
  req.payload = p;
  return req;
}

static int large_unary(const interop_client *c, char *why, size_t n) {
  Grpc__Testing__Payload p = zeros_payload(c, LARGE_REQUEST);
  Grpc__Testing__SimpleRequest req = large_request(&p);
  Grpc__Testing__SimpleResponse *reply = NULL;
  cgrpc_call_options *o = call_opts(c, -1, 0);
  char *msg = NULL;
  int code = -1, r = 0;
  if (!o) return failf(why, n, "no memory");
  int rc = grpc_testing_test_service_unary_call(c->test, &req, &reply, o, &code, &msg);
  if (rc != CGRPC_OK) r = api_fail(why, n, "UnaryCall", rc);
  else if (code != CGRPC_STATUS_OK) r = status_fail(why, n, "UnaryCall", code, msg);
  else r = check_payload(reply->payload, LARGE_RESPONSE, "UnaryCall", why, n);
  if (reply) grpc__testing__simple_response__free_unpacked(reply, NULL);
  cgrpc_free(msg);
  cgrpc_call_options_destroy(o);
  return r;
}

static int client_streaming(const interop_client *c, char *why, size_t n) {
  cgrpc_call_options *o = call_opts(c, -1, 0);
  cgrpc_call *call = NULL;
  Grpc__Testing__StreamingInputCallResponse *reply = NULL;
  char *msg = NULL;
  int code = -1, r = 0, rc;
  if (!o) return failf(why, n, "no memory");
  rc = grpc_testing_test_service_streaming_input_call_start(&call, c->test, o);
  if (rc != CGRPC_OK) {
    r = api_fail(why, n, "StreamingInputCall start", rc);
    goto out;
  }
  for (int i = 0; i < STREAM_STEPS; i++) {
    Grpc__Testing__Payload p = zeros_payload(c, k_request_sizes[i]);
    Grpc__Testing__StreamingInputCallRequest req =
        GRPC__TESTING__STREAMING_INPUT_CALL_REQUEST__INIT;
    req.payload = &p;
    rc = grpc_testing_test_service_streaming_input_call_send(call, &req, 0);
    if (rc == CGRPC_E_CLOSED) break; /* the status below says why */
    if (rc != CGRPC_OK) {
      r = api_fail(why, n, "StreamingInputCall send", rc);
      goto out;
    }
  }
  rc = grpc_testing_test_service_streaming_input_call_close_and_recv(call, &reply,
                                                                     &code, &msg);
  if (rc != CGRPC_OK) r = api_fail(why, n, "StreamingInputCall", rc);
  else if (code != CGRPC_STATUS_OK)
    r = status_fail(why, n, "StreamingInputCall", code, msg);
  else if (reply->aggregated_payload_size != 74922)
    r = failf(why, n, "aggregated_payload_size %d, want 74922",
              (int)reply->aggregated_payload_size);
out:
  if (reply) grpc__testing__streaming_input_call_response__free_unpacked(reply, NULL);
  cgrpc_free(msg);
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

static int server_streaming(const interop_client *c, char *why, size_t n) {
  Grpc__Testing__ResponseParameters params[STREAM_STEPS], *pp[STREAM_STEPS];
  Grpc__Testing__StreamingOutputCallRequest req =
      GRPC__TESTING__STREAMING_OUTPUT_CALL_REQUEST__INIT;
  cgrpc_call_options *o = call_opts(c, -1, 0);
  cgrpc_call *call = NULL;
  int r = 0, rc;
  if (!o) return failf(why, n, "no memory");
  for (int i = 0; i < STREAM_STEPS; i++) {
    grpc__testing__response_parameters__init(&params[i]);
    params[i].size = k_response_sizes[i];
    pp[i] = &params[i];
  }
  req.n_response_parameters = STREAM_STEPS;
  req.response_parameters = pp;
  rc = grpc_testing_test_service_streaming_output_call_start(&call, c->test, &req, o);
  if (rc != CGRPC_OK) {
    r = api_fail(why, n, "StreamingOutputCall start", rc);
    goto out;
  }
  for (int i = 0; i < STREAM_STEPS && r == 0; i++) {
    char what[48];
    snprintf(what, sizeof(what), "response %d", i + 1);
    r = recv_sized(call, k_response_sizes[i], what, why, n);
  }
  if (r == 0) r = expect_end(call, CGRPC_STATUS_OK, NULL, NULL, "end", why, n);
out:
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

/* A FullDuplexCall request asking for one response of resp bytes, with a
 * payload of req bytes. */
static Grpc__Testing__StreamingOutputCallRequest duplex_request(
    const interop_client *c, Grpc__Testing__ResponseParameters *param,
    Grpc__Testing__ResponseParameters **pp, Grpc__Testing__Payload *p,
    int32_t resp, int32_t req_size) {
  Grpc__Testing__StreamingOutputCallRequest req =
      GRPC__TESTING__STREAMING_OUTPUT_CALL_REQUEST__INIT;
  grpc__testing__response_parameters__init(param);
  param->size = resp;
  *pp = param;
  *p = zeros_payload(c, req_size);
  req.n_response_parameters = 1;
  req.response_parameters = pp;
  req.payload = p;
  return req;
}

static int duplex_start(const interop_client *c, cgrpc_call **call,
                        const cgrpc_call_options *o, char *why, size_t n) {
  int rc = grpc_testing_test_service_full_duplex_call_start(call, c->test, o);
  return rc == CGRPC_OK ? 0 : api_fail(why, n, "FullDuplexCall start", rc);
}

/* Sends one request; a call that already ended is not an error here (its
 * status is checked next). */
static int duplex_send(cgrpc_call *call, const Grpc__Testing__StreamingOutputCallRequest *req,
                       unsigned flags, char *why, size_t n) {
  int rc = grpc_testing_test_service_full_duplex_call_send(call, req, flags);
  return rc == CGRPC_OK || rc == CGRPC_E_CLOSED ? 0
                                                : api_fail(why, n, "FullDuplexCall send", rc);
}

static int ping_pong(const interop_client *c, char *why, size_t n) {
  cgrpc_call_options *o = call_opts(c, -1, 0);
  cgrpc_call *call = NULL;
  int r;
  if (!o) return failf(why, n, "no memory");
  r = duplex_start(c, &call, o, why, n);
  for (int i = 0; i < STREAM_STEPS && r == 0; i++) {
    Grpc__Testing__ResponseParameters param, *pp;
    Grpc__Testing__Payload p;
    Grpc__Testing__StreamingOutputCallRequest req =
        duplex_request(c, &param, &pp, &p, k_response_sizes[i], k_request_sizes[i]);
    char what[48];
    snprintf(what, sizeof(what), "response %d", i + 1);
    r = duplex_send(call, &req, 0, why, n);
    if (r == 0) r = recv_sized(call, k_response_sizes[i], what, why, n);
  }
  if (r == 0 && cgrpc_call_close_send(call) != CGRPC_OK)
    r = failf(why, n, "close_send failed");
  if (r == 0) r = expect_end(call, CGRPC_STATUS_OK, NULL, NULL, "end", why, n);
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

static int empty_stream(const interop_client *c, char *why, size_t n) {
  cgrpc_call_options *o = call_opts(c, -1, 0);
  cgrpc_call *call = NULL;
  int r;
  if (!o) return failf(why, n, "no memory");
  r = duplex_start(c, &call, o, why, n);
  if (r == 0 && cgrpc_call_close_send(call) != CGRPC_OK)
    r = failf(why, n, "close_send failed");
  if (r == 0) r = expect_end(call, CGRPC_STATUS_OK, NULL, NULL, "FullDuplexCall", why, n);
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

static int cancel_after_begin(const interop_client *c, char *why, size_t n) {
  cgrpc_call_options *o = call_opts(c, -1, 0);
  cgrpc_call *call = NULL;
  int code = -1, r = 0;
  const char *msg = "";
  if (!o) return failf(why, n, "no memory");
  int rc = grpc_testing_test_service_streaming_input_call_start(&call, c->test, o);
  if (rc != CGRPC_OK) {
    r = api_fail(why, n, "StreamingInputCall start", rc);
  } else {
    cgrpc_call_cancel(call);
    cgrpc_call_status(call, &code, &msg, NULL);
    if (code != CGRPC_STATUS_CANCELLED)
      r = status_fail(why, n, "want CANCELLED", code, msg);
  }
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

static int cancel_after_first_response(const interop_client *c, char *why, size_t n) {
  cgrpc_call_options *o = call_opts(c, -1, 0);
  cgrpc_call *call = NULL;
  Grpc__Testing__ResponseParameters param, *pp;
  Grpc__Testing__Payload p;
  Grpc__Testing__StreamingOutputCallRequest req =
      duplex_request(c, &param, &pp, &p, 31415, 27182);
  int code = -1, r;
  const char *msg = "";
  if (!o) return failf(why, n, "no memory");
  r = duplex_start(c, &call, o, why, n);
  if (r == 0) r = duplex_send(call, &req, 0, why, n);
  if (r == 0) r = recv_sized(call, 31415, "first response", why, n);
  if (r == 0) {
    cgrpc_call_cancel(call);
    cgrpc_call_status(call, &code, &msg, NULL);
    if (code != CGRPC_STATUS_CANCELLED)
      r = status_fail(why, n, "want CANCELLED", code, msg);
  }
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

static int timeout_on_sleeping_server(const interop_client *c, char *why, size_t n) {
  cgrpc_call_options *o = call_opts(c, 1, 0); /* the doc's 1 ms deadline */
  cgrpc_call *call = NULL;
  Grpc__Testing__Payload p = zeros_payload(c, 27182);
  Grpc__Testing__StreamingOutputCallRequest req =
      GRPC__TESTING__STREAMING_OUTPUT_CALL_REQUEST__INIT;
  int r;
  if (!o) return failf(why, n, "no memory");
  req.payload = &p;
  r = duplex_start(c, &call, o, why, n);
  if (r == 0) r = duplex_send(call, &req, 0, why, n);
  /* The server sends nothing, so the only way out is the deadline. */
  if (r == 0)
    r = expect_end(call, CGRPC_STATUS_DEADLINE_EXCEEDED, NULL, NULL, "FullDuplexCall",
                   why, n);
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

/* custom_metadata step 1: UnaryCall in two steps (_start/_finish), to
 * read its headers and trailers from the call. */
static int custom_metadata_unary(const interop_client *c, char *why, size_t n) {
  Grpc__Testing__Payload p = zeros_payload(c, LARGE_REQUEST);
  Grpc__Testing__SimpleRequest req = large_request(&p);
  Grpc__Testing__SimpleResponse *reply = NULL;
  cgrpc_call_options *o = call_opts(c, -1, 1);
  cgrpc_call *call = NULL;
  const cgrpc_metadata *trailers = NULL;
  char *msg = NULL;
  int code = -1, r = 0, rc;
  if (!o) return failf(why, n, "no memory");
  rc = grpc_testing_test_service_unary_call_start(&call, c->test, &req, o);
  if (rc != CGRPC_OK) {
    r = api_fail(why, n, "UnaryCall start", rc);
    goto out;
  }
  rc = grpc_testing_test_service_unary_call_finish(call, &reply, &code, &msg);
  if (rc != CGRPC_OK) r = api_fail(why, n, "UnaryCall finish", rc);
  else if (code != CGRPC_STATUS_OK) r = status_fail(why, n, "UnaryCall", code, msg);
  else r = check_payload(reply->payload, LARGE_RESPONSE, "UnaryCall", why, n);
  if (r == 0) {
    cgrpc_call_status(call, NULL, NULL, &trailers);
    r = check_echo(call, trailers, "UnaryCall", why, n);
  }
out:
  if (reply) grpc__testing__simple_response__free_unpacked(reply, NULL);
  cgrpc_free(msg);
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

static int custom_metadata(const interop_client *c, char *why, size_t n) {
  cgrpc_call_options *o;
  cgrpc_call *call = NULL;
  Grpc__Testing__ResponseParameters param, *pp;
  Grpc__Testing__Payload p;
  Grpc__Testing__StreamingOutputCallRequest req =
      duplex_request(c, &param, &pp, &p, LARGE_RESPONSE, LARGE_REQUEST);
  const cgrpc_metadata *trailers = NULL;
  int r = custom_metadata_unary(c, why, n);
  if (r != 0) return r;
  if (!(o = call_opts(c, -1, 1))) return failf(why, n, "no memory");
  r = duplex_start(c, &call, o, why, n);
  if (r == 0) r = duplex_send(call, &req, CGRPC_SEND_LAST, why, n);
  if (r == 0) r = recv_sized(call, LARGE_RESPONSE, "FullDuplexCall", why, n);
  if (r == 0)
    r = expect_end(call, CGRPC_STATUS_OK, NULL, &trailers, "FullDuplexCall", why, n);
  if (r == 0) r = check_echo(call, trailers, "FullDuplexCall", why, n);
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

/* UnaryCall with response_status {code, message}: that status comes back. */
static int unary_echo_status(const interop_client *c, int code_in, const char *text,
                             char *why, size_t n) {
  Grpc__Testing__EchoStatus st = GRPC__TESTING__ECHO_STATUS__INIT;
  Grpc__Testing__SimpleRequest req = GRPC__TESTING__SIMPLE_REQUEST__INIT;
  Grpc__Testing__SimpleResponse *reply = NULL;
  cgrpc_call_options *o = call_opts(c, -1, 0);
  char *msg = NULL;
  int code = -1, r = 0;
  if (!o) return failf(why, n, "no memory");
  st.code = code_in;
  st.message = (char *)text;
  req.response_status = &st;
  int rc = grpc_testing_test_service_unary_call(c->test, &req, &reply, o, &code, &msg);
  if (rc != CGRPC_OK) {
    r = api_fail(why, n, "UnaryCall", rc);
  } else if (code != code_in || strcmp(msg ? msg : "", text) != 0) {
    char m[256], w[256];
    r = failf(why, n, "UnaryCall: status %d \"%s\", want %d \"%s\"", code,
              esc(msg, m, sizeof(m)), code_in, esc(text, w, sizeof(w)));
  }
  if (reply) grpc__testing__simple_response__free_unpacked(reply, NULL);
  cgrpc_free(msg);
  cgrpc_call_options_destroy(o);
  return r;
}

static int status_code_and_message(const interop_client *c, char *why, size_t n) {
  Grpc__Testing__EchoStatus st = GRPC__TESTING__ECHO_STATUS__INIT;
  Grpc__Testing__StreamingOutputCallRequest req =
      GRPC__TESTING__STREAMING_OUTPUT_CALL_REQUEST__INIT;
  cgrpc_call_options *o;
  cgrpc_call *call = NULL;
  int r = unary_echo_status(c, CGRPC_STATUS_UNKNOWN, STATUS_MESSAGE, why, n);
  if (r != 0) return r;
  if (!(o = call_opts(c, -1, 0))) return failf(why, n, "no memory");
  st.code = CGRPC_STATUS_UNKNOWN;
  st.message = STATUS_MESSAGE;
  req.response_status = &st;
  r = duplex_start(c, &call, o, why, n);
  if (r == 0) r = duplex_send(call, &req, CGRPC_SEND_LAST, why, n);
  if (r == 0)
    r = expect_end(call, CGRPC_STATUS_UNKNOWN, STATUS_MESSAGE, NULL, "FullDuplexCall",
                   why, n);
  cgrpc_call_destroy(call);
  cgrpc_call_options_destroy(o);
  return r;
}

static int special_status_message(const interop_client *c, char *why, size_t n) {
  return unary_echo_status(c, CGRPC_STATUS_UNKNOWN, SPECIAL_MESSAGE, why, n);
}

static int want_unimplemented(int rc, int code, char *msg, const char *what,
                              char *why, size_t n) {
  int r = 0;
  if (rc != CGRPC_OK) r = api_fail(why, n, what, rc);
  else if (code != CGRPC_STATUS_UNIMPLEMENTED) r = status_fail(why, n, what, code, msg);
  cgrpc_free(msg);
  return r;
}

static int unimplemented_method(const interop_client *c, char *why, size_t n) {
  Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *reply = NULL;
  cgrpc_call_options *o = call_opts(c, -1, 0);
  char *msg = NULL;
  int code = -1;
  if (!o) return failf(why, n, "no memory");
  int rc = grpc_testing_test_service_unimplemented_call(c->test, &req, &reply, o,
                                                        &code, &msg);
  if (reply) grpc__testing__empty__free_unpacked(reply, NULL);
  cgrpc_call_options_destroy(o);
  return want_unimplemented(rc, code, msg, "TestService/UnimplementedCall", why, n);
}

static int unimplemented_service(const interop_client *c, char *why, size_t n) {
  Grpc__Testing__Empty req = GRPC__TESTING__EMPTY__INIT, *reply = NULL;
  cgrpc_call_options *o = call_opts(c, -1, 0);
  char *msg = NULL;
  int code = -1;
  if (!o) return failf(why, n, "no memory");
  int rc = grpc_testing_unimplemented_service_unimplemented_call(c->unimpl, &req, &reply,
                                                                 o, &code, &msg);
  if (reply) grpc__testing__empty__free_unpacked(reply, NULL);
  cgrpc_call_options_destroy(o);
  return want_unimplemented(rc, code, msg, "UnimplementedService/UnimplementedCall",
                            why, n);
}

static const interop_case k_cases[] = {
    {"empty_unary", empty_unary},
    {"large_unary", large_unary},
    {"client_streaming", client_streaming},
    {"server_streaming", server_streaming},
    {"ping_pong", ping_pong},
    {"empty_stream", empty_stream},
    {"cancel_after_begin", cancel_after_begin},
    {"cancel_after_first_response", cancel_after_first_response},
    {"timeout_on_sleeping_server", timeout_on_sleeping_server},
    {"custom_metadata", custom_metadata},
    {"status_code_and_message", status_code_and_message},
    {"special_status_message", special_status_message},
    {"unimplemented_method", unimplemented_method},
    {"unimplemented_service", unimplemented_service},
};

const interop_case *interop_cases(size_t *n) {
  *n = sizeof(k_cases) / sizeof(k_cases[0]);
  return k_cases;
}

const interop_case *interop_case_find(const char *name) {
  for (size_t i = 0; i < sizeof(k_cases) / sizeof(k_cases[0]); i++)
    if (strcmp(k_cases[i].name, name) == 0) return &k_cases[i];
  return NULL;
}
