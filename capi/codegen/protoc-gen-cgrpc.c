/* protoc-gen-cgrpc: a protoc plugin that writes typed cgrpc stubs and
 * server skeletons in C over protoc-c's message code.
 *
 *   protoc --plugin=protoc-gen-cgrpc=build/bin/protoc-gen-cgrpc \
 *          --cgrpc_out=DIR --c_out=DIR -I... x.proto
 *
 * For every file with services it writes x.cgrpc.h and x.cgrpc.c next to
 * protoc-c's x.pb-c.h/.c, naming things as protoc-c does (message types
 * Pkg__Msg, descriptors pkg__msg__descriptor) and functions
 * <package>_<service>_<method> in lower_snake_case.
 *
 * protoc sends a CodeGeneratorRequest on stdin and reads a
 * CodeGeneratorResponse from stdout.  What the plugin cannot handle (an
 * unknown parameter, a name that would clash, protoc-c's own naming
 * options) becomes the response's error, which protoc prints; only an
 * unreadable request or an I/O failure makes it exit non-zero. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "google/protobuf/compiler/plugin.pb-c.h"

typedef Google__Protobuf__FileDescriptorProto FileProto;
typedef Google__Protobuf__DescriptorProto MsgProto;
typedef Google__Protobuf__ServiceDescriptorProto SvcProto;
typedef Google__Protobuf__MethodDescriptorProto MethodProto;
typedef Google__Protobuf__Compiler__CodeGeneratorRequest Request;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse Response;
typedef Google__Protobuf__Compiler__CodeGeneratorResponse__File OutFile;

/* A request is a few descriptors; anything near this is not from protoc. */
#define MAX_REQUEST (256u << 20)
/* protobuf-c's options (protobuf-c.proto) extend the descriptor options
 * with field 1019; c_package there renames every type, so files using them
 * are refused rather than given stubs naming types that do not exist. */
#define PB_C_OPTION_FIELD 1019

/* The first error; generation stops at it. */
static char g_error[1024];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  if (g_error[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_error, sizeof(g_error), fmt, ap);
  va_end(ap);
}

/* ---------------------------------------------------------------- */
/* names                                                              */
/* ---------------------------------------------------------------- */

/* protoc-c's CamelToLower: an '_' before an upper-case letter that
 * follows a non-upper one, everything lower-cased ("SayHello" ->
 * "say_hello", "HTTPRequest" -> "httprequest"). */
static void camel_to_lower(cg_str *o, const char *s) {
  int was_upper = 1;
  for (; *s; s++) {
    int up = isupper((unsigned char)*s) != 0;
    if (up && !was_upper) cg_str_add(o, "_");
    cg_str_add(o, "%c", up ? tolower((unsigned char)*s) : *s);
    was_upper = up;
  }
}

/* protoc-c's ToCamel: drops '_' and upper-cases the letter after it and
 * the first ("route_guide" -> "RouteGuide"). */
static void to_camel(cg_str *o, const char *s) {
  int next_upper = 1;
  for (; *s; s++) {
    if (*s == '_') {
      next_upper = 1;
    } else {
      cg_str_add(o, "%c", next_upper ? toupper((unsigned char)*s) : *s);
      next_upper = 0;
    }
  }
}

/* Applies fn to each dot-separated piece of name, joined by sep. */
static char *map_pieces(const char *name, const char *sep,
                        void (*fn)(cg_str *, const char *)) {
  cg_str o = {0};
  char piece[512];
  const char *p = name;
  int first = 1;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n >= sizeof(piece)) {
      cg_str_free(&o);
      return NULL;
    }
    if (n) {
      memcpy(piece, p, n);
      piece[n] = 0;
      if (!first) cg_str_add(&o, "%s", sep);
      fn(&o, piece);
      first = 0;
    }
    p += n + (dot ? 1 : 0);
  }
  cg_str_add(&o, "%s", ""); /* an empty name still gets a string */
  if (o.failed) {
    cg_str_free(&o);
    return NULL;
  }
  return o.data;
}

/* Identifier characters only: protoc checks this too, but the names
 * become C code and file contents, so check again. */
static int is_ident(const char *s, int dots) {
  if (!s || !*s) return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && !(dots && *s == '.'))
      return 0;
  return 1;
}

static const char *const c_keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do",
    "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline",
    "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned",
    "void", "volatile", "while", "bool", "true", "false", "alignas", "alignof",
    "atomic", "noreturn", "static_assert", "thread_local", "complex",
    "imaginary", "asm", "class", "delete", "new", "this", "template"};

static int is_keyword(const char *s) {
  for (size_t i = 0; i < sizeof(c_keywords) / sizeof(c_keywords[0]); i++)
    if (strcmp(s, c_keywords[i]) == 0) return 1;
  return 0;
}

/* ---------------------------------------------------------------- */
/* message types of the request                                       */
/* ---------------------------------------------------------------- */

typedef struct type_ref {
  char *full; /* ".pkg.Outer.Inner" as protoc writes input_type */
  const FileProto *file;
} type_ref;

typedef struct type_table {
  type_ref *v;
  size_t n, cap;
} type_table;

static int add_types(type_table *t, const char *scope, MsgProto **msgs,
                     size_t n, const FileProto *file, int depth) {
  if (depth > 100) {
    fail("message nesting deeper than 100 in %s", file->name);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (!msgs[i]->name) continue;
    if (t->n == t->cap) {
      size_t cap = t->cap ? t->cap * 2 : 64;
      type_ref *v = realloc(t->v, cap * sizeof(*v));
      if (!v) return -1;
      t->v = v;
      t->cap = cap;
    }
    char *full = cg_strf("%s.%s", scope, msgs[i]->name);
    if (!full) return -1;
    t->v[t->n].full = full;
    t->v[t->n].file = file;
    t->n++;
    if (add_types(t, full, msgs[i]->nested_type, msgs[i]->n_nested_type, file,
                  depth + 1))
      return -1;
  }
  return 0;
}

static const type_ref *find_type(const type_table *t, const char *full) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].full, full) == 0) return &t->v[i];
  return NULL;
}

static int has_pb_c_options(const FileProto *f) {
  const ProtobufCMessage *o = (const ProtobufCMessage *)f->options;
  if (!o) return 0;
  for (size_t i = 0; i < o->n_unknown_fields; i++)
    if (o->unknown_fields[i].tag == PB_C_OPTION_FIELD) return 1;
  return 0;
}

/* ---------------------------------------------------------------- */
/* building the model                                                  */
/* ---------------------------------------------------------------- */

/* Every identifier a file's generated code declares, to refuse clashes
 * (GetX and Get_x both map to get_x). */
typedef struct name_set {
  char **v;
  size_t n, cap;
} name_set;

static int claim(name_set *s, char *name, const char *what) {
  if (!name) return -1;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i], name) == 0) {
      fail("%s: the generated name %s is used twice; rename a service or "
           "method",
           what, name);
      free(name);
      return -1;
    }
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    char **v = realloc(s->v, cap * sizeof(*v));
    if (!v) {
      free(name);
      return -1;
    }
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = name;
  return 0;
}

static void name_set_free(name_set *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
}

/* C names of a message type: Pkg__Msg and pkg__msg. */
static int type_names(const type_table *types, const char *ref,
                      const char *what, char **type, char **lower,
                      const char **full) {
  const type_ref *t = find_type(types, ref);
  if (!t) {
    fail("%s: message type %s is not in the request", what, ref);
    return -1;
  }
  if (has_pb_c_options(t->file)) {
    fail("%s: %s uses protobuf-c file options (pb_c_file), which rename "
         "types; protoc-gen-cgrpc does not support them",
         what, t->file->name);
    return -1;
  }
  *full = ref + 1; /* without the leading '.' */
  *type = map_pieces(*full, "__", to_camel);
  *lower = map_pieces(*full, "__", camel_to_lower);
  return *type && *lower ? 0 : -1;
}

static void file_free(cg_file *f) {
  for (size_t i = 0; i < f->n_services; i++) {
    cg_service *s = &f->services[i];
    for (size_t j = 0; j < s->n_methods; j++) {
      cg_method *m = &s->methods[j];
      free(m->member);
      free(m->prefix);
      free(m->in_type);
      free(m->out_type);
      free(m->in_lower);
      free(m->out_lower);
    }
    free(s->methods);
    free(s->full);
    free(s->prefix);
    free(s->upper);
  }
  free(f->services);
  free(f->base);
  free(f->guard);
}

static int build_method(const type_table *types, name_set *names,
                        const cg_service *s, const MethodProto *mp,
                        cg_method *m) {
  char what[600];
  snprintf(what, sizeof(what), "%s.%s", s->full, mp->name ? mp->name : "?");
  if (!is_ident(mp->name, 0)) {
    fail("%s: method name is not an identifier", what);
    return -1;
  }
  if (!mp->input_type || mp->input_type[0] != '.' || !mp->output_type ||
      mp->output_type[0] != '.') {
    fail("%s: input and output types must be fully qualified", what);
    return -1;
  }
  m->name = mp->name;
  m->client_streaming = mp->has_client_streaming && mp->client_streaming;
  m->server_streaming = mp->has_server_streaming && mp->server_streaming;
  cg_str lower = {0};
  camel_to_lower(&lower, mp->name);
  if (lower.failed) return -1;
  /* The impl struct member: a keyword gets a trailing '_' as protoc-c
   * does for fields. */
  m->member = is_keyword(lower.data) ? cg_strf("%s_", lower.data)
                                     : cg_strf("%s", lower.data);
  m->prefix = cg_strf("%s_%s", s->prefix, lower.data);
  cg_str_free(&lower);
  if (!m->member || !m->prefix) return -1;
  if (type_names(types, mp->input_type, what, &m->in_type, &m->in_lower,
                 &m->in_full) ||
      type_names(types, mp->output_type, what, &m->out_type, &m->out_lower,
                 &m->out_full))
    return -1;
  /* Every function this method generates. */
  static const char *const client_suffix[4][3] = {
      {"", "_start", "_finish"},            /* unary */
      {"_start", "_recv", NULL},            /* server streaming */
      {"_start", "_send", "_close_and_recv"}, /* client streaming */
      {"_start", "_send", "_recv"},         /* bidi */
  };
  int kind = (m->client_streaming ? 2 : 0) + (m->server_streaming ? 1 : 0);
  for (int i = 0; i < 3; i++)
    if (client_suffix[kind][i] &&
        claim(names, cg_strf("%s%s", m->prefix, client_suffix[kind][i]), what))
      return -1;
  if (m->client_streaming &&
      claim(names, cg_strf("%s_recv_request", m->prefix), what))
    return -1;
  if (m->server_streaming &&
      claim(names, cg_strf("%s_send_response", m->prefix), what))
    return -1;
  return 0;
}

static int build_file(const FileProto *fp, const type_table *types,
                      cg_file *f) {
  memset(f, 0, sizeof(*f));
  f->proto_name = fp->name;
  const char *name = fp->name;
  size_t n = strlen(name);
  if (n > 6 && strcmp(name + n - 6, ".proto") == 0) n -= 6;
  for (size_t i = 0; i < n; i++)
    if (name[i] == '"' || name[i] == '\\' || (unsigned char)name[i] < 0x20) {
      fail("%s: the file name cannot be used in an #include", name);
      return -1;
    }
  f->base = cg_strf("%.*s", (int)n, name);
  cg_str guard = {0};
  cg_str_add(&guard, "CGRPC_GEN_");
  for (size_t i = 0; i < strlen(name); i++)
    cg_str_add(&guard, isalnum((unsigned char)name[i]) ? "%c" : "_%02X",
               isalnum((unsigned char)name[i]) ? toupper((unsigned char)name[i])
                                               : (unsigned char)name[i]);
  cg_str_add(&guard, "_CGRPC_H");
  if (guard.failed || !f->base) {
    cg_str_free(&guard);
    return -1;
  }
  f->guard = guard.data;
  if (has_pb_c_options(fp)) {
    fail("%s: protobuf-c file options (pb_c_file) are not supported by "
         "protoc-gen-cgrpc",
         name);
    return -1;
  }
  const char *pkg = fp->package ? fp->package : "";
  if (*pkg && !is_ident(pkg, 1)) {
    fail("%s: package name '%s' is not made of identifiers", name, pkg);
    return -1;
  }
  f->services = calloc(fp->n_service ? fp->n_service : 1, sizeof(cg_service));
  if (!f->services) return -1;
  name_set names = {0};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < fp->n_service; i++) {
    const SvcProto *sp = fp->service[i];
    cg_service *s = &f->services[f->n_services++];
    if (!is_ident(sp->name, 0)) {
      fail("%s: service name '%s' is not an identifier", name,
           sp->name ? sp->name : "");
      rc = -1;
      break;
    }
    s->name = sp->name;
    s->full = *pkg ? cg_strf("%s.%s", pkg, sp->name) : cg_strf("%s", sp->name);
    s->prefix = s->full ? map_pieces(s->full, "_", camel_to_lower) : NULL;
    s->upper = s->prefix ? cg_strf("%s", s->prefix) : NULL;
    if (!s->upper) {
      rc = -1;
      break;
    }
    for (char *c = s->upper; *c; c++) *c = (char)toupper((unsigned char)*c);
    static const char *const svc_suffix[] = {"_stub_create", "_impl",
                                             "_register", "__ctx"};
    for (size_t k = 0; rc == 0 && k < 4; k++)
      rc = claim(&names, cg_strf("%s%s", s->prefix, svc_suffix[k]), s->full);
    if (rc == 0) rc = claim(&names, cg_strf("%s_SERVICE", s->upper), s->full);
    s->methods = calloc(sp->n_method ? sp->n_method : 1, sizeof(cg_method));
    if (!s->methods) rc = -1;
    name_set members = {0};
    for (size_t j = 0; rc == 0 && j < sp->n_method; j++) {
      rc = build_method(types, &names, s, sp->method[j],
                        &s->methods[s->n_methods++]);
      if (rc == 0)
        rc = claim(&members, cg_strf("%s", s->methods[j].member), s->full);
    }
    name_set_free(&members);
  }
  name_set_free(&names);
  return rc;
}

/* ---------------------------------------------------------------- */
/* protoc I/O                                                          */
/* ---------------------------------------------------------------- */

static uint8_t *read_all(FILE *in, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) return NULL;
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_REQUEST) {
        free(buf);
        return NULL;
      }
      uint8_t *b = realloc(buf, cap * 2);
      if (!b) {
        free(buf);
        return NULL;
      }
      buf = b;
      cap *= 2;
    }
    size_t r = fread(buf + n, 1, cap - n, in);
    n += r;
    if (r == 0) break;
  }
  if (ferror(in)) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

/* Outputs collected for the response. */
typedef struct outputs {
  OutFile **files;
  size_t n, cap;
} outputs;

static int add_output(outputs *o, const char *base, const char *ext,
                      cg_str *content) {
  if (o->n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 8;
    OutFile **v = realloc(o->files, cap * sizeof(*v));
    if (!v) return -1;
    o->files = v;
    o->cap = cap;
  }
  OutFile *f = malloc(sizeof(*f));
  if (!f) return -1;
  google__protobuf__compiler__code_generator_response__file__init(f);
  f->name = cg_strf("%s%s", base, ext);
  f->content = content->data; /* moved */
  memset(content, 0, sizeof(*content));
  o->files[o->n++] = f;
  return f->name ? 0 : -1;
}

static int generate(const Request *req, outputs *outs) {
  if (req->parameter && *req->parameter) {
    fail("protoc-gen-cgrpc takes no options (got '%s')", req->parameter);
    return 0;
  }
  type_table types = {0};
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < req->n_proto_file; i++) {
    const FileProto *fp = req->proto_file[i];
    if (!fp->name) {
      fail("a file in the request has no name");
      break;
    }
    char *scope = fp->package && *fp->package ? cg_strf(".%s", fp->package)
                                              : cg_strf("%s", "");
    if (!scope) rc = -1;
    if (rc == 0)
      rc = add_types(&types, scope, fp->message_type, fp->n_message_type, fp,
                     0);
    free(scope);
  }
  for (size_t i = 0; rc == 0 && !g_error[0] && i < req->n_file_to_generate; i++) {
    const FileProto *fp = NULL;
    for (size_t k = 0; k < req->n_proto_file; k++)
      if (req->proto_file[k]->name &&
          strcmp(req->proto_file[k]->name, req->file_to_generate[i]) == 0)
        fp = req->proto_file[k];
    if (!fp) {
      fail("%s is not among the request's files", req->file_to_generate[i]);
      break;
    }
    if (fp->n_service == 0) continue; /* messages only: protoc-c covers it */
    cg_file f;
    cg_str h = {0}, c = {0};
    if (build_file(fp, &types, &f) == 0 && !g_error[0]) {
      if (cg_emit_header(&f, &h) || cg_emit_source(&f, &c) ||
          add_output(outs, f.base, ".cgrpc.h", &h) ||
          add_output(outs, f.base, ".cgrpc.c", &c))
        rc = -1;
    } else if (!g_error[0]) {
      rc = -1;
    }
    cg_str_free(&h);
    cg_str_free(&c);
    file_free(&f);
  }
  for (size_t i = 0; i < types.n; i++) free(types.v[i].full);
  free(types.v);
  return rc;
}

int main(int argc, char **argv) {
  if (argc > 1) {
    fprintf(stderr,
            "%s: a protoc plugin; run it through protoc:\n"
            "  protoc --plugin=protoc-gen-cgrpc=%s --cgrpc_out=DIR "
            "--c_out=DIR x.proto\n",
            argv[0], argv[0]);
    return 2;
  }
  size_t len = 0;
  uint8_t *in = read_all(stdin, &len);
  if (!in) {
    fprintf(stderr, "protoc-gen-cgrpc: cannot read the request from stdin\n");
    return 1;
  }
  Request *req = google__protobuf__compiler__code_generator_request__unpack(
      NULL, len, in);
  free(in);
  if (!req) {
    fprintf(stderr, "protoc-gen-cgrpc: stdin is not a CodeGeneratorRequest\n");
    return 1;
  }
  outputs outs = {0};
  int rc = generate(req, &outs);
  google__protobuf__compiler__code_generator_request__free_unpacked(req, NULL);
  if (rc != 0) {
    fprintf(stderr, "protoc-gen-cgrpc: out of memory\n");
    return 1;
  }

  Response resp = GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__INIT;
  resp.has_supported_features = 1;
  /* Only services are read, so proto3 `optional` fields change nothing. */
  resp.supported_features =
      GOOGLE__PROTOBUF__COMPILER__CODE_GENERATOR_RESPONSE__FEATURE__FEATURE_PROTO3_OPTIONAL;
  if (g_error[0]) {
    resp.error = g_error; /* an error means no files */
  } else {
    resp.n_file = outs.n;
    resp.file = outs.files;
  }
  size_t out_len = google__protobuf__compiler__code_generator_response__get_packed_size(&resp);
  uint8_t *out = malloc(out_len ? out_len : 1);
  int status = 0;
  if (!out) {
    status = 1;
  } else {
    google__protobuf__compiler__code_generator_response__pack(&resp, out);
    if (fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout) != 0)
      status = 1;
  }
  free(out);
  for (size_t i = 0; i < outs.n; i++) {
    free(outs.files[i]->name);
    free(outs.files[i]->content);
    free(outs.files[i]);
  }
  free(outs.files);
  if (status) fprintf(stderr, "protoc-gen-cgrpc: cannot write the response\n");
  return status;
}
