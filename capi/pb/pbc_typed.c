/* Typed protobuf-c messages on calls (cgrpc_protobuf_c.h): pack with the
 * message's own descriptor, unpack with the one the caller expects, and
 * end the call with INTERNAL when received bytes do not parse, as grpc's
 * generated code does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "pb_internal.h"
#include "cgrpc_protobuf_c.h"
#include "tls.h"

static int desc_ok(const ProtobufCMessageDescriptor *d) {
  return d && d->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC;
}

int cgrpc_pbc_send(cgrpc_call *call, const ProtobufCMessage *msg,
                   unsigned flags) {
  if (!call || !msg || !desc_ok(msg->descriptor)) return CGRPC_E_INVALID_ARG;
  /* protobuf_c_message_pack() would dereference a NULL string or
   * sub-message, so a malformed message is refused here, not in pack. */
  if (!protobuf_c_message_check(msg)) {
    cg_set_last_error("%s: a required field is unset or a string is NULL",
                      msg->descriptor->name);
    return CGRPC_E_INVALID_ARG;
  }
  size_t len = protobuf_c_message_get_packed_size(msg);
  /* Small messages (the usual case) are packed on the stack and copied
   * by cgrpc_call_send; large ones are packed once into the heap and
   * handed over without a second copy (released on error too). */
  uint8_t small[2048];
  uint8_t *buf = len <= sizeof(small) ? small : malloc(len);
  if (!buf) return CGRPC_E_NOMEM;
  if (protobuf_c_message_pack(msg, buf) != len) {
    cg_set_last_error("%s: packed size changed while packing",
                      msg->descriptor->name);
    if (buf != small) free(buf);
    return CGRPC_E_INVALID_ARG;
  }
  if (buf == small) return cgrpc_call_send(call, buf, len, flags);
  return cgrpc_call_send_nocopy(call, buf, len, flags, free, buf);
}

/* Unpacks buf as desc, or ends the call with INTERNAL. */
static int unpack_or_abort(cgrpc_call *call, const ProtobufCMessageDescriptor *desc,
                           cgrpc_buffer *buf, ProtobufCMessage **out) {
  size_t len = cgrpc_buffer_len(buf);
  /* protobuf-c's unpack recurses without a bound: a hostile peer could
   * nest deep enough to overflow the stack, so check the bytes first */
  *out = NULL;
  char detail[160] = "";
  if (cg_pb_wire_check(desc, 0, cgrpc_buffer_data(buf), len) == 0)
    *out = protobuf_c_message_unpack(desc, NULL, len, cgrpc_buffer_data(buf));
  else
    snprintf(detail, sizeof(detail), ": %s", cgrpc_last_error());
  cgrpc_buffer_free(buf);
  if (*out) return CGRPC_OK;
  char why[400];
  /* is_server is fixed when the call is made. */
  snprintf(why, sizeof(why), "failed to parse %s as %s (%zu bytes)%s",
           call->is_server ? "request" : "response", desc->name, len, detail);
  cg_set_last_error("%s", why);
  cgrpc_call_abort(call, CGRPC_STATUS_INTERNAL, why);
  return CGRPC_E_PARSE;
}

int cgrpc_pbc_recv(cgrpc_call *call, const ProtobufCMessageDescriptor *desc,
                   ProtobufCMessage **out) {
  if (out) *out = NULL;
  if (!call || !desc_ok(desc) || !out) return CGRPC_E_INVALID_ARG;
  cgrpc_buffer *buf = NULL;
  int rc = cgrpc_call_recv(call, &buf);
  if (rc != CGRPC_OK) return rc;
  return unpack_or_abort(call, desc, buf, out);
}

int cgrpc_pbc_call_start(cgrpc_call **out, const cgrpc_stub *stub,
                         const char *method, const ProtobufCMessage *request,
                         const cgrpc_call_options *opts) {
  if (!out) return CGRPC_E_INVALID_ARG;
  *out = NULL;
  if (request && !desc_ok(request->descriptor)) return CGRPC_E_INVALID_ARG;
  cgrpc_call *call = NULL;
  int rc = cgrpc_stub_call_start(&call, stub, method, opts);
  if (rc != CGRPC_OK) return rc;
  if (request) {
    rc = cgrpc_pbc_send(call, request, CGRPC_SEND_LAST);
    /* E_CLOSED: the call already ended; its status tells the caller. */
    if (rc != CGRPC_OK && rc != CGRPC_E_CLOSED) {
      cgrpc_call_destroy(call);
      return rc;
    }
  }
  *out = call;
  return CGRPC_OK;
}

/* Reads the one reply and the status of a client call whose requests are
 * all sent. */
static int collect_reply(cgrpc_call *call,
                         const ProtobufCMessageDescriptor *reply_desc,
                         ProtobufCMessage **reply, int *code, char **message) {
  static const char too_many[] =
      "more than one response message for a unary RPC";
  ProtobufCMessage *first = NULL, *extra = NULL;
  int two = 0;
  char parse_error[300] = "";
  int rc = cgrpc_pbc_recv(call, reply_desc, &first);
  if (rc == CGRPC_OK) {
    rc = cgrpc_pbc_recv(call, reply_desc, &extra);
    if (rc == CGRPC_OK) {
      two = 1;
      protobuf_c_message_free_unpacked(extra, NULL);
      cgrpc_call_abort(call, CGRPC_STATUS_INTERNAL, too_many);
    }
  }
  /* The abort does nothing if the status had already arrived with the
   * bad message, so remember why for the status override below. */
  if (rc == CGRPC_E_PARSE)
    snprintf(parse_error, sizeof(parse_error), "%s", cgrpc_last_error());
  if (rc == CGRPC_E_BUSY || rc == CGRPC_E_INVALID_ARG || rc == CGRPC_E_ROLE) {
    protobuf_c_message_free_unpacked(first, NULL);
    return rc; /* misuse (busy, role): the call is untouched */
  }
  int st = CGRPC_STATUS_UNKNOWN;
  const char *msg = "";
  rc = cgrpc_call_status(call, &st, &msg, NULL);
  if (rc != CGRPC_OK) {
    protobuf_c_message_free_unpacked(first, NULL);
    return rc;
  }
  /* grpc's rule: an OK status must come with exactly one message that
   * parses. */
  if (st == CGRPC_STATUS_OK && parse_error[0]) {
    st = CGRPC_STATUS_INTERNAL;
    msg = parse_error;
  } else if (st == CGRPC_STATUS_OK && !first) {
    st = CGRPC_STATUS_INTERNAL;
    msg = "no response message for a unary RPC";
  } else if (st == CGRPC_STATUS_OK && two) {
    /* The status arrived before the abort could take effect. */
    st = CGRPC_STATUS_INTERNAL;
    msg = too_many;
  }
  if (message) {
    size_t n = strlen(msg);
    *message = malloc(n + 1);
    if (!*message) {
      protobuf_c_message_free_unpacked(first, NULL);
      return CGRPC_E_NOMEM;
    }
    memcpy(*message, msg, n + 1);
  }
  if (st != CGRPC_STATUS_OK && first) {
    protobuf_c_message_free_unpacked(first, NULL);
    first = NULL;
  }
  *code = st;
  *reply = first;
  return CGRPC_OK;
}

int cgrpc_pbc_unary(const cgrpc_stub *stub, const char *method,
                    const ProtobufCMessage *request,
                    const ProtobufCMessageDescriptor *reply_desc,
                    ProtobufCMessage **reply, const cgrpc_call_options *opts,
                    int *code, char **message) {
  if (reply) *reply = NULL;
  if (message) *message = NULL;
  if (code) *code = -1;
  if (!request || !desc_ok(reply_desc) || !reply || !code)
    return CGRPC_E_INVALID_ARG;
  cgrpc_call *call = NULL;
  int rc = cgrpc_pbc_call_start(&call, stub, method, request, opts);
  if (rc != CGRPC_OK) return rc;
  rc = collect_reply(call, reply_desc, reply, code, message);
  cgrpc_call_destroy(call);
  return rc;
}

int cgrpc_pbc_close_and_recv(cgrpc_call *call,
                             const ProtobufCMessageDescriptor *reply_desc,
                             ProtobufCMessage **reply, int *code,
                             char **message) {
  if (reply) *reply = NULL;
  if (message) *message = NULL;
  if (code) *code = -1;
  if (!call || !desc_ok(reply_desc) || !reply || !code)
    return CGRPC_E_INVALID_ARG;
  int rc = cgrpc_call_close_send(call);
  if (rc != CGRPC_OK) return rc;
  return collect_reply(call, reply_desc, reply, code, message);
}

int cgrpc_pbc_recv_single(cgrpc_call *call,
                          const ProtobufCMessageDescriptor *desc,
                          ProtobufCMessage **out) {
  if (out) *out = NULL;
  if (!call || !desc_ok(desc) || !out) return CGRPC_E_INVALID_ARG;
  if (!call->is_server) return CGRPC_E_ROLE;
  ProtobufCMessage *req = NULL;
  int rc = cgrpc_pbc_recv(call, desc, &req);
  if (rc == CGRPC_DONE) {
    cgrpc_call_finish(call, CGRPC_STATUS_INTERNAL,
                      "no request message for a unary RPC", NULL);
    return CGRPC_E_STATE;
  }
  if (rc != CGRPC_OK) return rc;
  /* Wait for the half-close, so a second request is refused as grpc
   * does rather than silently dropped. */
  cgrpc_buffer *extra = NULL;
  rc = cgrpc_call_recv(call, &extra);
  if (rc == CGRPC_OK) {
    cgrpc_buffer_free(extra);
    protobuf_c_message_free_unpacked(req, NULL);
    cgrpc_call_finish(call, CGRPC_STATUS_INTERNAL,
                      "more than one request message for a unary RPC", NULL);
    return CGRPC_E_STATE;
  }
  if (rc != CGRPC_DONE) {
    protobuf_c_message_free_unpacked(req, NULL);
    return rc;
  }
  *out = req;
  return CGRPC_OK;
}
