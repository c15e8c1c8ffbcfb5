/* Writes <file>.cgrpc.h and <file>.cgrpc.c for one .proto file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

void cg_str_add(cg_str *s, const char *fmt, ...) {
  if (s->failed) return;
  for (int tries = 0; tries < 2; tries++) {
    size_t room = s->cap - s->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->data ? s->data + s->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
      s->failed = 1;
      return;
    }
    if ((size_t)n < room) {
      s->len += (size_t)n;
      return;
    }
    size_t cap = s->cap ? s->cap : 4096;
    while (cap - s->len <= (size_t)n) cap *= 2;
    char *d = realloc(s->data, cap);
    if (!d) {
      s->failed = 1;
      return;
    }
    s->data = d;
    s->cap = cap;
  }
  s->failed = 1; /* unreachable: the second try always has room */
}

void cg_str_free(cg_str *s) {
  free(s->data);
  memset(s, 0, sizeof(*s));
}

char *cg_strf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *p = malloc((size_t)n + 1);
  if (!p) return NULL;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

static const char *kind_name(const cg_method *m) {
  if (m->client_streaming && m->server_streaming) return "bidirectional streaming";
  if (m->client_streaming) return "client streaming";
  if (m->server_streaming) return "server streaming";
  return "unary";
}

/* ---------------------------------------------------------------- */
/* header                                                             */
/* ---------------------------------------------------------------- */

static void header_client(cg_str *o, const cg_service *s, const cg_method *m) {
  const char *p = m->prefix;
  cg_str_add(o, "\n/* rpc %s(%s%s) returns (%s%s): %s. */\n", m->name,
             m->client_streaming ? "stream " : "", m->in_full,
             m->server_streaming ? "stream " : "", m->out_full, kind_name(m));
  if (!m->client_streaming && !m->server_streaming) {
    cg_str_add(o,
               "/* Blocking call (cgrpc_pbc_unary): *code gets the gRPC status,\n"
               " * *reply the reply when *code is CGRPC_STATUS_OK (else NULL; free it\n"
               " * with %s__free_unpacked(*reply, NULL)), *message (may be NULL)\n"
               " * the status message (free with cgrpc_free).  Returns CGRPC_OK when\n"
               " * the RPC ran, whatever its status, CGRPC_E_INVALID_ARG for a stub of\n"
               " * another service, or another API error.  Thread-safe. */\n"
               "int %s(const cgrpc_stub *stub, const %s *request,\n"
               "    %s **reply, const cgrpc_call_options *opts, int *code,\n"
               "    char **message);\n",
               m->out_lower, p, m->in_type, m->out_type);
    cg_str_add(o,
               "/* The same call in two steps, for access to the call between\n"
               " * them (cgrpc_call_initial_metadata, cgrpc_call_status's\n"
               " * trailers, cancel): _start sends request and half-closes\n"
               " * (cgrpc_pbc_call_start); _finish reads the reply and the status\n"
               " * (cgrpc_pbc_close_and_recv; *reply, *code and *message as\n"
               " * above).  Destroy the call with cgrpc_call_destroy. */\n"
               "int %s_start(cgrpc_call **out, const cgrpc_stub *stub,\n"
               "    const %s *request, const cgrpc_call_options *opts);\n"
               "int %s_finish(cgrpc_call *call, %s **reply, int *code,\n"
               "    char **message);\n",
               p, m->in_type, p, m->out_type);
    return;
  }
  if (!m->client_streaming)
    cg_str_add(o,
               "/* Starts the call and sends request (cgrpc_pbc_call_start); read\n"
               " * the replies with %s_recv until CGRPC_DONE, then\n"
               " * cgrpc_call_status; destroy with cgrpc_call_destroy.  Returns\n"
               " * CGRPC_OK, CGRPC_E_INVALID_ARG (stub of another service), or the\n"
               " * codes of cgrpc_pbc_call_start.  Thread-safe. */\n"
               "int %s_start(cgrpc_call **out, const cgrpc_stub *stub,\n"
               "    const %s *request, const cgrpc_call_options *opts);\n",
               p, p, m->in_type);
  else
    cg_str_add(o,
               "/* Starts the call (cgrpc_pbc_call_start) with no request sent yet;\n"
               " * destroy with cgrpc_call_destroy.  Returns CGRPC_OK,\n"
               " * CGRPC_E_INVALID_ARG (stub of another service), or the codes of\n"
               " * cgrpc_stub_call_start.  Thread-safe. */\n"
               "int %s_start(cgrpc_call **out, const cgrpc_stub *stub,\n"
               "    const cgrpc_call_options *opts);\n",
               p);
  if (m->client_streaming)
    cg_str_add(o,
               "/* Sends one request (cgrpc_pbc_send; CGRPC_SEND_LAST in flags\n"
               " * half-closes). */\n"
               "int %s_send(cgrpc_call *call, const %s *request, unsigned flags);\n",
               p, m->in_type);
  if (m->server_streaming)
    cg_str_add(o,
               "/* Receives the next reply (cgrpc_pbc_recv): CGRPC_OK with *reply\n"
               " * (free with %s__free_unpacked(*reply, NULL)), CGRPC_DONE\n"
               " * at the end (the status is then known), CGRPC_E_PARSE (the call\n"
               " * ended with INTERNAL), or another error. */\n"
               "int %s_recv(cgrpc_call *call, %s **reply);\n",
               m->out_lower, p, m->out_type);
  else
    cg_str_add(o,
               "/* Half-closes, reads the reply and the status\n"
               " * (cgrpc_pbc_close_and_recv; *reply, *code and *message as for a\n"
               " * unary call).  The call is still the caller's to destroy. */\n"
               "int %s_close_and_recv(cgrpc_call *call, %s **reply, int *code,\n"
               "    char **message);\n",
               p, m->out_type);
  (void)s;
}

static void header_server(cg_str *o, const cg_service *s) {
  cg_str_add(o,
             "\n/* Server side of %s.  Each handler runs on a handler thread of\n"
             " * the server (many at once), with the RPC's call (library-owned,\n"
             " * valid until the handler returns: read its metadata, send initial\n"
             " * metadata) and the user_data given to %s_register.\n"
             " * A handler returns the gRPC status code to end the RPC with\n"
             " * (CGRPC_STATUS_OK, ...; anything outside 0..16 becomes UNKNOWN).\n"
             " * To end with an error and a status message, call\n"
             " * cgrpc_call_finish yourself before returning; the skeleton's own\n"
             " * finish is then a no-op.  Trailers to go with a reply:\n"
             " * cgrpc_call_set_trailing_metadata.\n"
             " *\n"
             " * Handlers with a single reply (unary, client streaming) fill *reply,\n"
             " * which the skeleton created empty: every string, bytes, array and\n"
             " * sub-message pointer stored in it must come from malloc, because\n"
             " * after it is sent it is freed as an unpacked message is\n"
             " * (<type>__free_unpacked).  It is sent only if the handler returns\n"
             " * CGRPC_STATUS_OK without having finished the call.\n"
             " *\n"
             " * A request that does not parse ends the RPC with INTERNAL before\n"
             " * (unary, server streaming) or while (the _recv_request helpers\n"
             " * return CGRPC_E_PARSE) the handler runs; the server goes on. */\n"
             "typedef struct %s_impl {\n",
             s->full, s->prefix, s->prefix);
  for (size_t i = 0; i < s->n_methods; i++) {
    const cg_method *m = &s->methods[i];
    cg_str_add(o, "  /* %s (%s); NULL: UNIMPLEMENTED. */\n", m->name,
               kind_name(m));
    if (!m->client_streaming && !m->server_streaming)
      cg_str_add(o,
                 "  int (*%s)(cgrpc_call *call, const %s *request,\n"
                 "      %s *reply, void *user_data);\n",
                 m->member, m->in_type, m->out_type);
    else if (!m->client_streaming)
      cg_str_add(o,
                 "  int (*%s)(cgrpc_call *call, const %s *request,\n"
                 "      void *user_data);\n",
                 m->member, m->in_type);
    else if (!m->server_streaming)
      cg_str_add(o,
                 "  int (*%s)(cgrpc_call *call, %s *reply,\n"
                 "      void *user_data);\n",
                 m->member, m->out_type);
    else
      cg_str_add(o, "  int (*%s)(cgrpc_call *call, void *user_data);\n",
                 m->member);
  }
  cg_str_add(o,
             "} %s_impl;\n\n"
             "/* Registers every method of %s whose handler in impl\n"
             " * is not NULL (impl is copied) on srv, before cgrpc_server_start.\n"
             " * destroy (may be NULL) is called once with user_data when the\n"
             " * server is destroyed (at once if impl has no handler), on the\n"
             " * destroying thread; if an error is returned it is never called.\n"
             " * Returns CGRPC_OK, CGRPC_E_INVALID_ARG, CGRPC_E_NOMEM, or the codes\n"
             " * of cgrpc_server_register_method (methods registered before the\n"
             " * error stay registered). */\n"
             "int %s_register(cgrpc_server *srv, const %s_impl *impl,\n"
             "    void *user_data, cgrpc_destroy_fn destroy);\n",
             s->prefix, s->full, s->prefix, s->prefix);
  for (size_t i = 0; i < s->n_methods; i++) {
    const cg_method *m = &s->methods[i];
    if (m->client_streaming)
      cg_str_add(o,
                 "\n/* %s handler: receives the next request (cgrpc_pbc_recv):\n"
                 " * CGRPC_OK with *request (free with\n"
                 " * %s__free_unpacked(*request, NULL)), CGRPC_DONE\n"
                 " * when the client half-closed, CGRPC_E_PARSE (the RPC ended with\n"
                 " * INTERNAL), CGRPC_E_CANCELLED. */\n"
                 "int %s_recv_request(cgrpc_call *call, %s **request);\n",
                 m->name, m->in_lower, m->prefix, m->in_type);
    if (m->server_streaming)
      cg_str_add(o,
                 "\n/* %s handler: sends one reply (cgrpc_pbc_send). */\n"
                 "int %s_send_response(cgrpc_call *call, const %s *response);\n",
                 m->name, m->prefix, m->out_type);
  }
}

int cg_emit_header(const cg_file *f, cg_str *o) {
  cg_str_add(o,
             "/* Generated by protoc-gen-cgrpc from %s.  Do not edit.\n"
             " *\n"
             " * Typed cgrpc client functions and server skeletons over the\n"
             " * protoc-c messages of %s.pb-c.h.  Compile %s.cgrpc.c and\n"
             " * %s.pb-c.c with the program; link libcgrpc and -lprotobuf-c. */\n"
             "#ifndef %s\n#define %s\n\n"
             "#include \"cgrpc_protobuf_c.h\"\n#include \"%s.pb-c.h\"\n\n"
             "#ifdef __cplusplus\nextern \"C\" {\n#endif\n",
             f->proto_name, f->base, f->base, f->base, f->guard, f->guard,
             f->base);
  for (size_t i = 0; i < f->n_services; i++) {
    const cg_service *s = &f->services[i];
    cg_str_add(o,
               "\n/* ================================================================ */\n"
               "/* %s */\n\n"
               "#define %s_SERVICE \"%s\"\n\n"
               "/* Creates a stub for %s on ch (cgrpc_stub_create). */\n"
               "int %s_stub_create(cgrpc_stub **out, cgrpc_channel *ch);\n",
               s->full, s->upper, s->full, s->full, s->prefix);
    for (size_t j = 0; j < s->n_methods; j++)
      header_client(o, s, &s->methods[j]);
    header_server(o, s);
  }
  cg_str_add(o, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
  return o->failed ? -1 : 0;
}

/* ---------------------------------------------------------------- */
/* source                                                             */
/* ---------------------------------------------------------------- */

static void source_client(cg_str *o, const cg_service *s, const cg_method *m) {
  const char *p = m->prefix, *sp = s->prefix;
  if (!m->client_streaming && !m->server_streaming) {
    cg_str_add(o,
               "\nint %s(const cgrpc_stub *stub, const %s *request,\n"
               "    %s **reply, const cgrpc_call_options *opts, int *code,\n"
               "    char **message) {\n"
               "  ProtobufCMessage *m = NULL;\n"
               "  int rc;\n"
               "  if (reply) *reply = NULL;\n"
               "  if (!%s__stub_ok(stub) || !request) return CGRPC_E_INVALID_ARG;\n"
               "  rc = cgrpc_pbc_unary(stub, \"%s\", &request->base,\n"
               "      &%s__descriptor, reply ? &m : NULL, opts, code, message);\n"
               "  if (reply) *reply = (%s *)m;\n"
               "  return rc;\n"
               "}\n",
               p, m->in_type, m->out_type, sp, m->name, m->out_lower,
               m->out_type);
    cg_str_add(o,
               "\nint %s_start(cgrpc_call **out, const cgrpc_stub *stub,\n"
               "    const %s *request, const cgrpc_call_options *opts) {\n"
               "  if (out) *out = NULL;\n"
               "  if (!%s__stub_ok(stub) || !request) return CGRPC_E_INVALID_ARG;\n"
               "  return cgrpc_pbc_call_start(out, stub, \"%s\", &request->base,\n"
               "                              opts);\n"
               "}\n"
               "\nint %s_finish(cgrpc_call *call, %s **reply, int *code,\n"
               "    char **message) {\n"
               "  ProtobufCMessage *m = NULL;\n"
               "  int rc = cgrpc_pbc_close_and_recv(call, &%s__descriptor,\n"
               "                                    reply ? &m : NULL, code, message);\n"
               "  if (reply) *reply = (%s *)m;\n"
               "  return rc;\n"
               "}\n",
               p, m->in_type, sp, m->name, p, m->out_type, m->out_lower,
               m->out_type);
    return;
  }
  if (!m->client_streaming)
    cg_str_add(o,
               "\nint %s_start(cgrpc_call **out, const cgrpc_stub *stub,\n"
               "    const %s *request, const cgrpc_call_options *opts) {\n"
               "  if (out) *out = NULL;\n"
               "  if (!%s__stub_ok(stub) || !request) return CGRPC_E_INVALID_ARG;\n"
               "  return cgrpc_pbc_call_start(out, stub, \"%s\", &request->base,\n"
               "                              opts);\n"
               "}\n",
               p, m->in_type, sp, m->name);
  else
    cg_str_add(o,
               "\nint %s_start(cgrpc_call **out, const cgrpc_stub *stub,\n"
               "    const cgrpc_call_options *opts) {\n"
               "  if (out) *out = NULL;\n"
               "  if (!%s__stub_ok(stub)) return CGRPC_E_INVALID_ARG;\n"
               "  return cgrpc_pbc_call_start(out, stub, \"%s\", NULL, opts);\n"
               "}\n",
               p, sp, m->name);
  if (m->client_streaming)
    cg_str_add(o,
               "\nint %s_send(cgrpc_call *call, const %s *request, unsigned flags) {\n"
               "  if (!request) return CGRPC_E_INVALID_ARG;\n"
               "  return cgrpc_pbc_send(call, &request->base, flags);\n"
               "}\n",
               p, m->in_type);
  if (m->server_streaming)
    cg_str_add(o,
               "\nint %s_recv(cgrpc_call *call, %s **reply) {\n"
               "  ProtobufCMessage *m = NULL;\n"
               "  int rc;\n"
               "  if (!reply) return CGRPC_E_INVALID_ARG;\n"
               "  rc = cgrpc_pbc_recv(call, &%s__descriptor, &m);\n"
               "  *reply = (%s *)m;\n"
               "  return rc;\n"
               "}\n",
               p, m->out_type, m->out_lower, m->out_type);
  else
    cg_str_add(o,
               "\nint %s_close_and_recv(cgrpc_call *call, %s **reply, int *code,\n"
               "    char **message) {\n"
               "  ProtobufCMessage *m = NULL;\n"
               "  int rc;\n"
               "  if (reply) *reply = NULL;\n"
               "  rc = cgrpc_pbc_close_and_recv(call, &%s__descriptor,\n"
               "      reply ? &m : NULL, code, message);\n"
               "  if (reply) *reply = (%s *)m;\n"
               "  return rc;\n"
               "}\n",
               p, m->out_type, m->out_lower, m->out_type);
}

/* The trampoline cgrpc runs for one method: decodes, calls the typed
 * handler, sends its reply and finishes. */
static void source_handler(cg_str *o, const cg_service *s, const cg_method *m) {
  const char *sp = s->prefix;
  cg_str_add(o,
             "\nstatic void %s__%s_handler(cgrpc_call *call, void *ud) {\n"
             "  const %s__ctx *ctx = (const %s__ctx *)ud;\n",
             sp, m->member, sp, sp);
  if (!m->client_streaming)
    cg_str_add(o,
               "  ProtobufCMessage *req = NULL;\n"
               "  if (cgrpc_pbc_recv_single(call, &%s__descriptor, &req) != CGRPC_OK)\n"
               "    return; /* the RPC has ended (INTERNAL or cancelled) */\n",
               m->in_lower);
  if (!m->server_streaming) {
    cg_str_add(o,
               "  %s *reply = (%s *)malloc(sizeof(*reply));\n"
               "  int code;\n"
               "  if (!reply) {\n",
               m->out_type, m->out_type);
    if (!m->client_streaming)
      cg_str_add(o, "    protobuf_c_message_free_unpacked(req, NULL);\n");
    cg_str_add(o,
               "    cgrpc_call_finish(call, CGRPC_STATUS_RESOURCE_EXHAUSTED,\n"
               "                      \"out of memory\", NULL);\n"
               "    return;\n"
               "  }\n"
               "  %s__init(reply);\n",
               m->out_lower);
    if (!m->client_streaming)
      cg_str_add(o,
                 "  code = ctx->impl.%s(call, (const %s *)req, reply, ctx->user_data);\n"
                 "  protobuf_c_message_free_unpacked(req, NULL);\n",
                 m->member, m->in_type);
    else
      cg_str_add(o, "  code = ctx->impl.%s(call, reply, ctx->user_data);\n",
                 m->member);
    cg_str_add(o,
               "  %s__finish(call, code, &reply->base);\n"
               "  %s__free_unpacked(reply, NULL);\n"
               "}\n",
               sp, m->out_lower);
    return;
  }
  if (!m->client_streaming)
    cg_str_add(o,
               "  int code = ctx->impl.%s(call, (const %s *)req, ctx->user_data);\n"
               "  protobuf_c_message_free_unpacked(req, NULL);\n",
               m->member, m->in_type);
  else
    cg_str_add(o, "  int code = ctx->impl.%s(call, ctx->user_data);\n",
               m->member);
  cg_str_add(o, "  %s__finish(call, code, NULL);\n}\n", sp);
}

static void source_service(cg_str *o, const cg_service *s) {
  const char *sp = s->prefix;
  cg_str_add(o,
             "\n/* ================================================================ */\n"
             "/* %s */\n\n"
             "/* A stub of another service would call methods it does not have. */\n"
             "static int %s__stub_ok(const cgrpc_stub *stub) {\n"
             "  const char *name = stub ? cgrpc_stub_service(stub) : NULL;\n"
             "  return name && strcmp(name, %s_SERVICE) == 0;\n"
             "}\n\n"
             "int %s_stub_create(cgrpc_stub **out, cgrpc_channel *ch) {\n"
             "  return cgrpc_stub_create(out, ch, %s_SERVICE);\n"
             "}\n",
             s->full, sp, s->upper, sp, s->upper);
  for (size_t j = 0; j < s->n_methods; j++) source_client(o, s, &s->methods[j]);

  /* Server: the handlers share one copy of impl; every method's
   * registration holds a reference.  cgrpc calls the destroy functions
   * one after another on the thread destroying the server, so a plain
   * counter is enough. */
  cg_str_add(o,
             "\ntypedef struct %s__ctx {\n"
             "  %s_impl impl;\n"
             "  void *user_data;\n"
             "  cgrpc_destroy_fn destroy;\n"
             "  int refs;\n"
             "} %s__ctx;\n\n"
             "static void %s__ctx_unref(void *ud) {\n"
             "  %s__ctx *ctx = (%s__ctx *)ud;\n"
             "  if (--ctx->refs > 0) return;\n"
             "  if (ctx->destroy) ctx->destroy(ctx->user_data);\n"
             "  free(ctx);\n"
             "}\n\n"
             "/* Sends the reply if the handler said OK, then the status; both are\n"
             " * no-ops if the handler already finished or the RPC was cancelled. */\n"
             "static void %s__finish(cgrpc_call *call, int code,\n"
             "                       const ProtobufCMessage *reply) {\n"
             "  int rc = CGRPC_OK;\n"
             "  if (code < 0 || code > 16) code = CGRPC_STATUS_UNKNOWN;\n"
             "  if (code == CGRPC_STATUS_OK && reply) rc = cgrpc_pbc_send(call, reply, 0);\n"
             "  if (rc == CGRPC_E_INVALID_ARG)\n"
             "    cgrpc_call_finish(call, CGRPC_STATUS_INTERNAL,\n"
             "                      \"the handler's reply cannot be serialized\", NULL);\n"
             "  else if (rc == CGRPC_OK)\n"
             "    cgrpc_call_finish(call, code, NULL, NULL);\n"
             "}\n",
             sp, sp, sp, sp, sp, sp, sp);
  for (size_t j = 0; j < s->n_methods; j++) {
    const cg_method *m = &s->methods[j];
    if (m->client_streaming)
      cg_str_add(o,
                 "\nint %s_recv_request(cgrpc_call *call, %s **request) {\n"
                 "  ProtobufCMessage *m = NULL;\n"
                 "  int rc;\n"
                 "  if (!request) return CGRPC_E_INVALID_ARG;\n"
                 "  rc = cgrpc_pbc_recv(call, &%s__descriptor, &m);\n"
                 "  *request = (%s *)m;\n"
                 "  return rc;\n"
                 "}\n",
                 m->prefix, m->in_type, m->in_lower, m->in_type);
    if (m->server_streaming)
      cg_str_add(o,
                 "\nint %s_send_response(cgrpc_call *call, const %s *response) {\n"
                 "  if (!response) return CGRPC_E_INVALID_ARG;\n"
                 "  return cgrpc_pbc_send(call, &response->base, 0);\n"
                 "}\n",
                 m->prefix, m->out_type);
    source_handler(o, s, m);
  }

  cg_str_add(o,
             "\nint %s_register(cgrpc_server *srv, const %s_impl *impl,\n"
             "    void *user_data, cgrpc_destroy_fn destroy) {\n"
             "  static const struct {\n"
             "    const char *path;\n"
             "    cgrpc_handler_fn fn;\n"
             "  } methods[] = {\n",
             sp, sp);
  for (size_t j = 0; j < s->n_methods; j++)
    cg_str_add(o, "    {\"/%s/%s\", %s__%s_handler},\n", s->full,
               s->methods[j].name, sp, s->methods[j].member);
  cg_str_add(o,
             "  };\n"
             "  %s__ctx *ctx;\n"
             "  size_t i;\n"
             "  int rc = CGRPC_OK;\n"
             "  if (!srv || !impl) return CGRPC_E_INVALID_ARG;\n"
             "  ctx = (%s__ctx *)calloc(1, sizeof(*ctx));\n"
             "  if (!ctx) return CGRPC_E_NOMEM;\n"
             "  ctx->impl = *impl;\n"
             "  ctx->user_data = user_data;\n"
             "  ctx->refs = 1; /* ours, until the loop is done */\n"
             "  for (i = 0; rc == CGRPC_OK && i < sizeof(methods) / sizeof(methods[0]); i++) {\n",
             sp, sp);
  for (size_t j = 0; j < s->n_methods; j++)
    cg_str_add(o, "    if (i == %zu && !impl->%s) continue;\n", j,
               s->methods[j].member);
  cg_str_add(o,
             "    ctx->refs++;\n"
             "    rc = cgrpc_server_register_method(srv, methods[i].path, methods[i].fn,\n"
             "                                      ctx, %s__ctx_unref);\n"
             "    if (rc != CGRPC_OK) ctx->refs--;\n"
             "  }\n"
             "  /* On error destroy is never called, as the contract says. */\n"
             "  if (rc == CGRPC_OK) ctx->destroy = destroy;\n"
             "  %s__ctx_unref(ctx);\n"
             "  return rc;\n"
             "}\n",
             sp, sp);
}

int cg_emit_source(const cg_file *f, cg_str *o) {
  cg_str_add(o,
             "/* Generated by protoc-gen-cgrpc from %s.  Do not edit. */\n"
             "#include <stdlib.h>\n#include <string.h>\n\n"
             "#include \"%s.cgrpc.h\"\n",
             f->proto_name, f->base);
  for (size_t i = 0; i < f->n_services; i++) source_service(o, &f->services[i]);
  return o->failed ? -1 : 0;
}
