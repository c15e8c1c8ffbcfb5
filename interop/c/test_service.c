#include "test_service.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grpc/testing/test.cgrpc.h"

#define ECHO_INITIAL_KEY "x-grpc-test-echo-initial"
#define ECHO_TRAILING_KEY "x-grpc-test-echo-trailing-bin"

/* Bounds on what one RPC can make the server allocate, send or wait for. */
#define MAX_RESPONSE_SIZE (16 * 1024 * 1024)
#define MAX_PARAMS_PER_REQUEST 10000
#define MAX_INTERVAL_US 10000000
#define MAX_STREAM_REQUESTS 100000
#define MAX_HALF_DUPLEX_REQUESTS 1000

/* One RPC: its call and the trailers it ends with (the echoed
 * x-grpc-test-echo-trailing-bin, if the client sent one). */
typedef struct rpc {
  cgrpc_call *call;
  cgrpc_metadata *trailers;
  const interop_server_info *info;
} rpc;

/* Echo Metadata: the initial key goes back at once as response headers,
 * the trailing key is kept for the status. */
static void rpc_begin(rpc *r, cgrpc_call *call, void *ud) {
  const cgrpc_metadata *md = NULL;
  const uint8_t *v;
  size_t len;
  r->call = call;
  r->trailers = NULL;
  r->info = ud;
  if (cgrpc_call_initial_metadata(call, &md) != CGRPC_OK) return;
  if ((v = cgrpc_metadata_get(md, ECHO_INITIAL_KEY, &len)) != NULL) {
    cgrpc_metadata *out;
    if (cgrpc_metadata_create(&out) == CGRPC_OK) {
      if (cgrpc_metadata_add(out, ECHO_INITIAL_KEY, v, len) == CGRPC_OK)
        cgrpc_call_send_initial_metadata(call, out);
      cgrpc_metadata_destroy(out);
    }
  }
  if ((v = cgrpc_metadata_get(md, ECHO_TRAILING_KEY, &len)) != NULL &&
      cgrpc_metadata_create(&r->trailers) == CGRPC_OK &&
      cgrpc_metadata_add(r->trailers, ECHO_TRAILING_KEY, v, len) != CGRPC_OK) {
    cgrpc_metadata_destroy(r->trailers);
    r->trailers = NULL;
  }
}

/* Ends the RPC with code/message and the echoed trailers; returns code
 * (what the skeleton expects; its own finish is then a no-op). */
static int rpc_end(rpc *r, int code, const char *message) {
  if (code < 0 || code > 16) code = CGRPC_STATUS_UNKNOWN;
  cgrpc_call_finish(r->call, code, message, r->trailers);
  cgrpc_metadata_destroy(r->trailers);
  r->trailers = NULL;
  return code;
}

/* Sends the single reply, then OK with the trailers. */
static int rpc_reply(rpc *r, const ProtobufCMessage *reply) {
  int rc = cgrpc_pbc_send(r->call, reply, 0);
  if (rc == CGRPC_E_CANCELLED) return rpc_end(r, CGRPC_STATUS_CANCELLED, NULL);
  if (rc != CGRPC_OK)
    return rpc_end(r, CGRPC_STATUS_INTERNAL, cgrpc_strerror(rc));
  return rpc_end(r, CGRPC_STATUS_OK, NULL);
}

/* Echo Status: a response_status with a non-OK code ends the RPC. */
static int wants_status(const Grpc__Testing__EchoStatus *st) {
  return st && st->code != 0;
}

static int bad_type(Grpc__Testing__PayloadType t) {
  return t != GRPC__TESTING__PAYLOAD_TYPE__COMPRESSABLE;
}

static int bad_size(int32_t size) {
  return size < 0 || size > MAX_RESPONSE_SIZE;
}

/* Fills p with size zero bytes (malloc'd: unary replies are freed as
 * unpacked messages are).  Returns 0 or -1 (no memory). */
static int zero_payload(Grpc__Testing__Payload *p, int32_t size) {
  grpc__testing__payload__init(p);
  if (size == 0) return 0;
  p->body.data = calloc(1, (size_t)size);
  if (!p->body.data) return -1;
  p->body.len = (size_t)size;
  return 0;
}

/* Observe ResponseParameters.interval_us: sleeps before a response, but
 * wakes when the RPC is cancelled.  Returns 0, or -1 if cancelled. */
static int pause_us(cgrpc_call *call, int32_t us) {
  unsigned ready = 0;
  if (us <= 0) return 0;
  if (us > MAX_INTERVAL_US) us = MAX_INTERVAL_US;
  if (us >= 1000 &&
      cgrpc_call_wait(call, CGRPC_EVENT_DONE, us / 1000, &ready) == CGRPC_OK &&
      (ready & CGRPC_EVENT_DONE))
    return -1;
  struct timespec ts = {0, (long)(us % 1000) * 1000};
  nanosleep(&ts, NULL);
  return cgrpc_call_is_cancelled(call) ? -1 : 0;
}

/* Sends one response per ResponseParameters.  Returns CGRPC_STATUS_OK to
 * go on, or the code the RPC was ended with. */
static int send_responses(rpc *r, const Grpc__Testing__StreamingOutputCallRequest *req) {
  if (bad_type(req->response_type))
    return rpc_end(r, CGRPC_STATUS_INVALID_ARGUMENT, "unsupported response_type");
  if (req->n_response_parameters > MAX_PARAMS_PER_REQUEST)
    return rpc_end(r, CGRPC_STATUS_INVALID_ARGUMENT,
                   "too many response_parameters");
  for (size_t i = 0; i < req->n_response_parameters; i++) {
    const Grpc__Testing__ResponseParameters *p = req->response_parameters[i];
    Grpc__Testing__StreamingOutputCallResponse resp =
        GRPC__TESTING__STREAMING_OUTPUT_CALL_RESPONSE__INIT;
    Grpc__Testing__Payload payload;
    int rc;
    if (bad_size(p->size))
      return rpc_end(r, CGRPC_STATUS_INVALID_ARGUMENT,
                     "response size out of range");
    /* We cannot compress, and a response may always go uncompressed, so
     * parameters.compressed is not an error. */
    if (pause_us(r->call, p->interval_us) != 0)
      return rpc_end(r, CGRPC_STATUS_CANCELLED, NULL);
    if (zero_payload(&payload, p->size) != 0)
      return rpc_end(r, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    resp.payload = &payload;
    rc = cgrpc_pbc_send(r->call, &resp.base, 0);
    free(payload.body.data);
    if (rc == CGRPC_E_CANCELLED) return rpc_end(r, CGRPC_STATUS_CANCELLED, NULL);
    if (rc != CGRPC_OK)
      return rpc_end(r, CGRPC_STATUS_INTERNAL, cgrpc_strerror(rc));
  }
  return CGRPC_STATUS_OK;
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

/* ---------------------------------------------------------------- */

static int empty_call(cgrpc_call *call, const Grpc__Testing__Empty *req,
                      Grpc__Testing__Empty *reply, void *ud) {
  rpc r;
  (void)req;
  rpc_begin(&r, call, ud);
  return rpc_reply(&r, &reply->base);
}

static int unary_call(cgrpc_call *call, const Grpc__Testing__SimpleRequest *req,
                      Grpc__Testing__SimpleResponse *reply, void *ud) {
  rpc r;
  rpc_begin(&r, call, ud);
  if (req->expect_compressed && req->expect_compressed->value)
    return rpc_end(&r, CGRPC_STATUS_INVALID_ARGUMENT,
                   "expected a compressed request; this server has no compression");
  if (wants_status(req->response_status))
    return rpc_end(&r, req->response_status->code, req->response_status->message);
  if (bad_type(req->response_type))
    return rpc_end(&r, CGRPC_STATUS_INVALID_ARGUMENT, "unsupported response_type");
  if (bad_size(req->response_size))
    return rpc_end(&r, CGRPC_STATUS_INVALID_ARGUMENT, "response_size out of range");
  /* The reply is freed as an unpacked message: everything from malloc. */
  reply->payload = malloc(sizeof(*reply->payload));
  if (!reply->payload || zero_payload(reply->payload, req->response_size) != 0)
    return rpc_end(&r, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  if (req->fill_server_id) {
    reply->server_id = dup_str(r.info->server_id);
    reply->hostname = dup_str(r.info->hostname);
    if (!reply->server_id || !reply->hostname)
      return rpc_end(&r, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  }
  if (req->fill_username) {
    /* The authenticated source: a client certificate's common name (there
     * is none without mutual TLS; then the field stays empty). */
    const cgrpc_metadata *auth;
    const uint8_t *cn = NULL;
    if (cgrpc_call_auth_context(call, &auth) == CGRPC_OK)
      cn = cgrpc_metadata_get(auth, "x509_common_name", NULL);
    if (cn && !(reply->username = dup_str((const char *)cn)))
      return rpc_end(&r, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  }
  /* fill_oauth_scope and fill_grpclb_route_type: no OAuth, no grpclb
   * here; the fields stay at their defaults. */
  return rpc_reply(&r, &reply->base);
}

static int streaming_output_call(cgrpc_call *call,
                                 const Grpc__Testing__StreamingOutputCallRequest *req,
                                 void *ud) {
  rpc r;
  int code;
  rpc_begin(&r, call, ud);
  if (wants_status(req->response_status))
    return rpc_end(&r, req->response_status->code, req->response_status->message);
  if ((code = send_responses(&r, req)) != CGRPC_STATUS_OK) return code;
  return rpc_end(&r, CGRPC_STATUS_OK, NULL);
}

static int streaming_input_call(cgrpc_call *call,
                                Grpc__Testing__StreamingInputCallResponse *reply,
                                void *ud) {
  rpc r;
  int64_t sum = 0;
  int rc = CGRPC_OK;
  rpc_begin(&r, call, ud);
  for (int n = 0; n < MAX_STREAM_REQUESTS; n++) {
    Grpc__Testing__StreamingInputCallRequest *req;
    rc = grpc_testing_test_service_streaming_input_call_recv_request(call, &req);
    if (rc != CGRPC_OK) break;
    int compressed = req->expect_compressed && req->expect_compressed->value;
    if (req->payload) sum += (int64_t)req->payload->body.len;
    grpc__testing__streaming_input_call_request__free_unpacked(req, NULL);
    if (compressed)
      return rpc_end(&r, CGRPC_STATUS_INVALID_ARGUMENT,
                     "expected a compressed request; this server has no compression");
    if (sum > INT32_MAX)
      return rpc_end(&r, CGRPC_STATUS_OUT_OF_RANGE, "aggregated size overflows int32");
  }
  if (rc == CGRPC_OK)
    return rpc_end(&r, CGRPC_STATUS_RESOURCE_EXHAUSTED, "too many requests");
  if (rc == CGRPC_E_PARSE) return rpc_end(&r, CGRPC_STATUS_INTERNAL, NULL);
  if (rc != CGRPC_DONE) return rpc_end(&r, CGRPC_STATUS_CANCELLED, NULL);
  reply->aggregated_payload_size = (int32_t)sum;
  return rpc_reply(&r, &reply->base);
}

static int full_duplex_call(cgrpc_call *call, void *ud) {
  rpc r;
  int rc = CGRPC_OK;
  rpc_begin(&r, call, ud);
  for (int n = 0; n < MAX_STREAM_REQUESTS; n++) {
    Grpc__Testing__StreamingOutputCallRequest *req;
    int code;
    rc = grpc_testing_test_service_full_duplex_call_recv_request(call, &req);
    if (rc != CGRPC_OK) break;
    if (wants_status(req->response_status))
      code = rpc_end(&r, req->response_status->code, req->response_status->message);
    else
      code = send_responses(&r, req);
    grpc__testing__streaming_output_call_request__free_unpacked(req, NULL);
    if (code != CGRPC_STATUS_OK) return code;
  }
  if (rc == CGRPC_OK)
    return rpc_end(&r, CGRPC_STATUS_RESOURCE_EXHAUSTED, "too many requests");
  if (rc == CGRPC_E_PARSE) return rpc_end(&r, CGRPC_STATUS_INTERNAL, NULL);
  if (rc != CGRPC_DONE) return rpc_end(&r, CGRPC_STATUS_CANCELLED, NULL);
  return rpc_end(&r, CGRPC_STATUS_OK, NULL);
}

/* As FullDuplexCall, but answers only after the client half-closes. */
static int half_duplex_call(cgrpc_call *call, void *ud) {
  rpc r;
  Grpc__Testing__StreamingOutputCallRequest **reqs;
  size_t n = 0;
  int rc = CGRPC_OK, code = CGRPC_STATUS_OK;
  rpc_begin(&r, call, ud);
  reqs = calloc(MAX_HALF_DUPLEX_REQUESTS, sizeof(*reqs));
  if (!reqs) return rpc_end(&r, CGRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  while (n < MAX_HALF_DUPLEX_REQUESTS) {
    rc = grpc_testing_test_service_half_duplex_call_recv_request(call, &reqs[n]);
    if (rc != CGRPC_OK) break;
    if (wants_status(reqs[n]->response_status)) {
      code = rpc_end(&r, reqs[n]->response_status->code,
                     reqs[n]->response_status->message);
      n++;
      goto out;
    }
    n++;
  }
  if (rc == CGRPC_OK)
    code = rpc_end(&r, CGRPC_STATUS_RESOURCE_EXHAUSTED, "too many requests");
  else if (rc == CGRPC_E_PARSE)
    code = rpc_end(&r, CGRPC_STATUS_INTERNAL, NULL);
  else if (rc != CGRPC_DONE)
    code = rpc_end(&r, CGRPC_STATUS_CANCELLED, NULL);
  for (size_t i = 0; code == CGRPC_STATUS_OK && i < n; i++)
    code = send_responses(&r, reqs[i]);
  if (code == CGRPC_STATUS_OK) code = rpc_end(&r, CGRPC_STATUS_OK, NULL);
out:
  for (size_t i = 0; i < n; i++)
    grpc__testing__streaming_output_call_request__free_unpacked(reqs[i], NULL);
  free(reqs);
  return code;
}

int interop_test_service_register(cgrpc_server *srv,
                                  const interop_server_info *info) {
  grpc_testing_test_service_impl impl = {0};
  impl.empty_call = empty_call;
  impl.unary_call = unary_call;
  impl.streaming_output_call = streaming_output_call;
  impl.streaming_input_call = streaming_input_call;
  impl.full_duplex_call = full_duplex_call;
  impl.half_duplex_call = half_duplex_call;
  /* cacheable_unary_call and unimplemented_call stay NULL: UNIMPLEMENTED. */
  return grpc_testing_test_service_register(srv, &impl, (void *)info, NULL);
}
