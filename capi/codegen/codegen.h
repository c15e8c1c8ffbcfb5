/* protoc-gen-cgrpc internals: the model of one .proto file's services,
 * built from the CodeGeneratorRequest (protoc-gen-cgrpc.c) and written
 * out as C (emit.c). */
#ifndef CGRPC_CODEGEN_H
#define CGRPC_CODEGEN_H

#include <stdarg.h>
#include <stddef.h>

/* A growing string; on out of memory it stops growing and sets failed. */
typedef struct cg_str {
  char *data;
  size_t len, cap;
  int failed;
} cg_str;

void cg_str_add(cg_str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cg_str_free(cg_str *s);
/* A malloc'd copy of fmt's result, or NULL on out of memory. */
char *cg_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct cg_method {
  const char *name;      /* "SayHello" */
  char *member;          /* "say_hello": impl struct member */
  char *prefix;          /* "helloworld_greeter_say_hello" */
  char *in_type;         /* "Helloworld__HelloRequest" */
  char *out_type;        /* "Helloworld__HelloReply" */
  char *in_lower;        /* "helloworld__hello_request" (protoc-c's prefix) */
  char *out_lower;
  const char *in_full;   /* "helloworld.HelloRequest" */
  const char *out_full;
  int client_streaming, server_streaming;
} cg_method;

typedef struct cg_service {
  const char *name; /* "Greeter" */
  char *full;       /* "helloworld.Greeter" */
  char *prefix;     /* "helloworld_greeter" */
  char *upper;      /* "HELLOWORLD_GREETER" */
  cg_method *methods;
  size_t n_methods;
} cg_service;

typedef struct cg_file {
  const char *proto_name; /* "routeguide/route_guide.proto" */
  char *base;             /* "routeguide/route_guide" */
  char *guard;            /* include guard */
  cg_service *services;
  size_t n_services;
} cg_file;

/* Writes the header and the source for f.  Returns 0, or -1 if out of
 * memory. */
int cg_emit_header(const cg_file *f, cg_str *out);
int cg_emit_source(const cg_file *f, cg_str *out);

#endif
