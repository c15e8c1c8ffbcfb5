/* cgrpc_pb_pool_load: FileDescriptorSet -> run-time protobuf-c message
 * descriptors, enums and services.
 *
 * Passes: (1) parse the set with the generated descriptor.proto code,
 * after our own bounded wire check (protobuf-c has no depth limit);
 * (2) check file names and dependencies; (3) give every message, enum and
 * service its full name and reject duplicates; (4) build each message's
 * fields, resolving type names, then its layout; (5) services.  Everything
 * kept lives in the pool's arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrpc_descriptor.pb-c.h"
#include "pb_internal.h"

typedef CgrpcPbi__FileDescriptorProto FileProto;
typedef CgrpcPbi__DescriptorProto MsgProto;
typedef CgrpcPbi__EnumDescriptorProto EnumProto;
typedef CgrpcPbi__FieldDescriptorProto FieldProto;

enum { DECL_MSG, DECL_ENUM, DECL_SERVICE };

typedef struct decl {
  const char *full_name;
  int kind;
  int proto3;
  const char *scope; /* where relative names in it are resolved */
  const void *proto;
  void *obj; /* cgrpc_pb_type / cg_pb_enum */
} decl;

typedef struct loader {
  cgrpc_pb_pool *pool;
  cg_pb_arena *a;
  decl *decls;
  size_t n_decls, cap_decls;
  decl **sorted; /* by full_name */
} loader;

#define FIELD_NUMBER_MAX 536870911
#define MAX_FIELDS (1u << 20)

static int oom(void) {
  cg_set_last_error("out of memory");
  return CGRPC_E_NOMEM;
}

static int perr(const char *fmt, const char *a, const char *b) {
  cg_set_last_error(fmt, a, b);
  return CGRPC_E_PARSE;
}

static const char *join(cg_pb_arena *a, const char *scope, const char *name) {
  if (scope == NULL || *scope == 0) return cg_pb_arena_strdup(a, name);
  size_t ls = strlen(scope), ln = strlen(name);
  char *s = cg_pb_arena_alloc(a, ls + ln + 2);
  if (s == NULL) return NULL;
  memcpy(s, scope, ls);
  s[ls] = '.';
  memcpy(s + ls + 1, name, ln + 1);
  return s;
}

static int add_decl(loader *L, decl d) {
  if (L->n_decls == L->cap_decls) {
    size_t cap = L->cap_decls ? L->cap_decls * 2 : 64;
    decl *nd = cg_pb_arena_calloc(L->a, cap, sizeof(decl));
    if (nd == NULL) return oom();
    if (L->n_decls) memcpy(nd, L->decls, L->n_decls * sizeof(decl));
    L->decls = nd;
    L->cap_decls = cap;
  }
  L->decls[L->n_decls++] = d;
  return 0;
}

static int valid_name(const char *s) {
  if (s == NULL || *s == 0) return 0;
  for (const char *p = s; *p; p++)
    if (*p == '.' || *p == '/' || (unsigned char)*p <= ' ') return 0;
  return 1;
}

/* "" or dot-separated valid names: full names must round-trip through
 * cgrpc_pb_pool_find_type. */
static int valid_package(const char *s) {
  if (*s == 0) return 1;
  const char *p = s;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
      if (p[i] == '/' || (unsigned char)p[i] <= ' ') return 0;
    if (!dot) return 1;
    p = dot + 1;
  }
}

static int collect_enum(loader *L, const EnumProto *ep, const char *scope,
                        int proto3) {
  if (!valid_name(ep->name))
    return perr("%s: enum without a valid name%s", scope ? scope : "", "");
  const char *fn = join(L->a, scope, ep->name);
  if (fn == NULL) return oom();
  if (ep->n_value == 0) return perr("%s: enum has no values%s", fn, "");
  cg_pb_enum *e = cg_pb_arena_calloc(L->a, 1, sizeof(*e));
  if (e == NULL) return oom();
  e->full_name = fn;
  e->closed = !proto3;
  e->n = ep->n_value;
  e->names = cg_pb_arena_calloc(L->a, e->n, sizeof(char *));
  e->numbers = cg_pb_arena_calloc(L->a, e->n, sizeof(int32_t));
  if (e->names == NULL || e->numbers == NULL) return oom();
  for (size_t i = 0; i < e->n; i++) {
    const CgrpcPbi__EnumValueDescriptorProto *v = ep->value[i];
    if (!valid_name(v->name) || !v->has_number)
      return perr("%s: enum value %s without a name or number", fn,
                  v->name ? v->name : "?");
    for (size_t j = 0; j < i; j++)
      if (strcmp(e->names[j], v->name) == 0)
        return perr("%s: enum value %s declared twice", fn, v->name);
    e->names[i] = cg_pb_arena_strdup(L->a, v->name);
    if (e->names[i] == NULL) return oom();
    e->numbers[i] = v->number;
  }
  return add_decl(L, (decl){fn, DECL_ENUM, proto3, scope, ep, e});
}

/* Nesting is bounded by the wire check's depth limit, so recursion is. */
static int collect_msg(loader *L, const MsgProto *mp, const char *scope,
                       int proto3) {
  if (!valid_name(mp->name))
    return perr("%s: message without a valid name%s", scope ? scope : "", "");
  const char *fn = join(L->a, scope, mp->name);
  if (fn == NULL) return oom();
  cgrpc_pb_type *t = cg_pb_arena_calloc(L->a, 1, sizeof(*t));
  if (t == NULL) return oom();
  t->full_name = fn;
  t->d.short_name = cg_pb_arena_strdup(L->a, mp->name);
  t->d.package_name = scope ? scope : "";
  if (t->d.short_name == NULL) return oom();
  t->is_map_entry = mp->options != NULL && mp->options->has_map_entry &&
                    mp->options->map_entry;
  int rc = add_decl(L, (decl){fn, DECL_MSG, proto3, fn, mp, t});
  if (rc != 0) return rc;
  for (size_t i = 0; i < mp->n_nested_type; i++)
    if ((rc = collect_msg(L, mp->nested_type[i], fn, proto3)) != 0) return rc;
  for (size_t i = 0; i < mp->n_enum_type; i++)
    if ((rc = collect_enum(L, mp->enum_type[i], fn, proto3)) != 0) return rc;
  return 0;
}

static int decl_cmp(const void *a, const void *b) {
  return strcmp((*(decl *const *)a)->full_name, (*(decl *const *)b)->full_name);
}

static const decl *lookup(const loader *L, const char *full) {
  size_t lo = 0, hi = L->n_decls;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(L->sorted[mid]->full_name, full);
    if (c == 0) return L->sorted[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* protoc writes fully qualified ".pkg.Type" names; for hand-made sets
 * we also resolve relative names from the innermost scope outwards. */
static const decl *resolve(loader *L, const char *name, const char *scope) {
  if (name == NULL || *name == 0) return NULL;
  if (name[0] == '.') return lookup(L, name + 1);
  size_t ln = strlen(name), ls = scope ? strlen(scope) : 0;
  char *buf = malloc(ls + ln + 2);
  if (buf == NULL) return NULL;
  const decl *found = NULL;
  for (;;) {
    size_t k = ls;
    if (k > 0) {
      memcpy(buf, scope, k);
      buf[k++] = '.';
    }
    memcpy(buf + k, name, ln + 1);
    if ((found = lookup(L, buf)) != NULL || ls == 0) break;
    while (ls > 0 && scope[ls - 1] != '.') ls--;
    if (ls > 0) ls--; /* drop the dot too */
  }
  free(buf);
  return found;
}

static int kind_of(int proto_type) {
  static const cgrpc_pb_kind k[19] = {
      0, CGRPC_PB_DOUBLE, CGRPC_PB_FLOAT, CGRPC_PB_INT64, CGRPC_PB_UINT64,
      CGRPC_PB_INT32, CGRPC_PB_UINT64, CGRPC_PB_UINT32, CGRPC_PB_BOOL,
      CGRPC_PB_STRING, 0, CGRPC_PB_MESSAGE, CGRPC_PB_BYTES, CGRPC_PB_UINT32,
      CGRPC_PB_ENUM, CGRPC_PB_INT32, CGRPC_PB_INT64, CGRPC_PB_INT32,
      CGRPC_PB_INT64};
  return proto_type >= 1 && proto_type <= 18 ? (int)k[proto_type] : 0;
}

/* "user_id" -> "userId", as protoc does when json_name is absent. */
static const char *json_of(cg_pb_arena *a, const char *name) {
  size_t n = strlen(name);
  char *s = cg_pb_arena_alloc(a, n + 1);
  if (s == NULL) return NULL;
  size_t k = 0;
  int up = 0;
  for (size_t i = 0; i < n; i++) {
    if (name[i] == '_') {
      up = 1;
      continue;
    }
    s[k++] = up && name[i] >= 'a' && name[i] <= 'z' ? (char)(name[i] - 32) : name[i];
    up = 0;
  }
  s[k] = 0;
  return s;
}

static int build_field(loader *L, const decl *md, cgrpc_pb_type *t,
                       cgrpc_pb_field *f, const FieldProto *fp,
                       const MsgProto *mp) {
  const char *tn = t->full_name;
  if (!valid_name(fp->name)) return perr("%s: field without a valid name%s", tn, "");
  f->name = cg_pb_arena_strdup(L->a, fp->name);
  if (f->name == NULL) return oom();
  f->owner = t;
  if (!fp->has_number || fp->number < 1 || fp->number > FIELD_NUMBER_MAX)
    return perr("%s.%s: invalid field number", tn, fp->name);
  f->number = (uint32_t)fp->number;

  int pt = fp->has_type ? (int)fp->type : 0;
  const decl *ref = NULL;
  if (pt == CGRPC_PBI__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP)
    return perr("%s.%s: groups are not supported", tn, fp->name);
  if (pt == 0 || pt == 11 || pt == 14) {
    ref = resolve(L, fp->type_name, md->scope);
    if (ref == NULL || ref->kind == DECL_SERVICE)
      return perr("%s.%s: unresolved type name", tn, fp->name);
    int want = ref->kind == DECL_MSG ? 11 : 14;
    if (pt != 0 && pt != want)
      return perr("%s.%s: type name refers to the wrong kind of type", tn, fp->name);
    pt = want;
  }
  if (kind_of(pt) == 0) return perr("%s.%s: invalid field type", tn, fp->name);
  f->proto_type = pt;
  f->kind = (cgrpc_pb_kind)kind_of(pt);
  if (pt == 11) f->msg_type = ref->obj;
  if (pt == 14) f->enum_type = ref->obj;

  int label = fp->has_label ? (int)fp->label : 1;
  f->repeated = label == CGRPC_PBI__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
  f->required = label == CGRPC_PBI__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED;
  f->is_map = f->repeated && f->msg_type != NULL && f->msg_type->is_map_entry;
  int in_any_oneof = fp->has_oneof_index;
  if (in_any_oneof && (fp->oneof_index < 0 || (size_t)fp->oneof_index >= mp->n_oneof_decl))
    return perr("%s.%s: invalid oneof index", tn, fp->name);
  if (in_any_oneof && f->repeated)
    return perr("%s.%s: repeated field in a oneof", tn, fp->name);
  int proto3 = md->proto3;
  f->presence = !f->repeated && (pt == 11 || in_any_oneof || !proto3 ||
                                 f->required || fp->proto3_optional);
  f->implicit = !f->repeated && !f->presence;
  f->utf8 = pt == 9 && proto3;
  int packable = pt != 9 && pt != 11 && pt != 12;
  if (f->repeated && packable) {
    const CgrpcPbi__FieldOptions *o = fp->options;
    f->packed = proto3 ? !(o && o->has_packed && !o->packed)
                       : (o && o->has_packed && o->packed);
  }
  f->json_name = fp->json_name ? cg_pb_arena_strdup(L->a, fp->json_name)
                               : json_of(L->a, f->name);
  if (f->json_name == NULL) return oom();

  f->defval.kind = f->kind;
  if (f->kind == CGRPC_PB_STRING || f->kind == CGRPC_PB_BYTES)
    f->defval.v.s.data = "";
  if (f->kind == CGRPC_PB_ENUM) f->defval.v.i32 = f->enum_type->numbers[0];
  if (fp->default_value != NULL && !f->repeated) {
    int rc = cg_pb_parse_default(L->a, f, fp->default_value);
    if (rc != 0) return rc == CGRPC_E_NOMEM ? oom() : CGRPC_E_PARSE;
  }
  return 0;
}

static int build_msg(loader *L, const decl *md) {
  const MsgProto *mp = md->proto;
  cgrpc_pb_type *t = md->obj;
  if (mp->n_field > MAX_FIELDS) return perr("%s: too many fields%s", t->full_name, "");
  t->n_fields = mp->n_field;
  t->fields = cg_pb_arena_calloc(L->a, t->n_fields ? t->n_fields : 1,
                                 sizeof(cgrpc_pb_field));
  int32_t *oneof_of = cg_pb_arena_calloc(L->a, t->n_fields ? t->n_fields : 1,
                                         sizeof(int32_t));
  /* Real (non-synthetic) oneofs get compact indices. */
  int32_t *real = cg_pb_arena_calloc(L->a, mp->n_oneof_decl ? mp->n_oneof_decl : 1,
                                     sizeof(int32_t));
  if (t->fields == NULL || oneof_of == NULL || real == NULL) return oom();
  for (size_t i = 0; i < t->n_fields; i++) {
    int rc = build_field(L, md, t, &t->fields[i], mp->field[i], mp);
    if (rc != 0) return rc;
  }
  /* A oneof is synthetic (proto3 optional) when all its fields are. */
  size_t n_real = 0;
  for (size_t k = 0; k < mp->n_oneof_decl; k++) {
    int members = 0, synthetic = 1;
    for (size_t i = 0; i < t->n_fields; i++) {
      const FieldProto *fp = mp->field[i];
      if (fp->has_oneof_index && (size_t)fp->oneof_index == k) {
        members++;
        synthetic &= fp->proto3_optional;
      }
    }
    const char *on = mp->oneof_decl[k]->name;
    if (!valid_name(on)) return perr("%s: oneof without a valid name%s", t->full_name, "");
    real[k] = (members > 0 && !synthetic) ? (int32_t)n_real++ : -1;
  }
  for (size_t i = 0; i < t->n_fields; i++) {
    const FieldProto *fp = mp->field[i];
    oneof_of[i] = fp->has_oneof_index ? real[fp->oneof_index] : -1;
    if (oneof_of[i] >= 0) {
      t->fields[i].oneof = cg_pb_arena_strdup(L->a, mp->oneof_decl[fp->oneof_index]->name);
      if (t->fields[i].oneof == NULL) return oom();
    }
    if (t->fields[i].required) t->fields[i].req_index = t->n_required++;
  }
  if (t->is_map_entry) {
    const cgrpc_pb_field *k = t->n_fields == 2 ? &t->fields[0] : NULL;
    const cgrpc_pb_field *v = t->n_fields == 2 ? &t->fields[1] : NULL;
    if (k == NULL || strcmp(k->name, "key") || k->number != 1 || k->repeated ||
        strcmp(v->name, "value") || v->number != 2 || v->repeated ||
        k->kind == CGRPC_PB_MESSAGE || k->kind == CGRPC_PB_FLOAT ||
        k->kind == CGRPC_PB_DOUBLE || k->kind == CGRPC_PB_BYTES ||
        k->kind == CGRPC_PB_ENUM)
      return perr("%s: invalid map entry%s", t->full_name, "");
  }
  int rc = cg_pb_layout(L->a, t, oneof_of, n_real);
  return rc == 0 ? 0 : rc == CGRPC_E_NOMEM ? rc : CGRPC_E_PARSE;
}

static int method_cmp(const void *a, const void *b) {
  return strcmp((*(cgrpc_pb_method *const *)a)->path,
                (*(cgrpc_pb_method *const *)b)->path);
}
static int type_cmp(const void *a, const void *b) {
  return strcmp((*(cgrpc_pb_type *const *)a)->full_name,
                (*(cgrpc_pb_type *const *)b)->full_name);
}

static int build_services(loader *L, const CgrpcPbi__FileDescriptorSet *set) {
  cgrpc_pb_pool *p = L->pool;
  size_t ns = 0, nm = 0;
  for (size_t i = 0; i < set->n_file; i++) {
    ns += set->file[i]->n_service;
    for (size_t s = 0; s < set->file[i]->n_service; s++)
      nm += set->file[i]->service[s]->n_method;
  }
  p->services = cg_pb_arena_calloc(L->a, ns ? ns : 1, sizeof(cg_pb_service));
  p->methods_by_path = cg_pb_arena_calloc(L->a, nm ? nm : 1, sizeof(void *));
  if (p->services == NULL || p->methods_by_path == NULL) return oom();
  for (size_t i = 0; i < set->n_file; i++) {
    const FileProto *fp = set->file[i];
    const char *pkg = fp->package ? fp->package : "";
    for (size_t s = 0; s < fp->n_service; s++) {
      const CgrpcPbi__ServiceDescriptorProto *sp = fp->service[s];
      cg_pb_service *svc = &p->services[p->n_services++];
      svc->full_name = join(L->a, pkg, sp->name);
      svc->methods = cg_pb_arena_calloc(L->a, sp->n_method ? sp->n_method : 1,
                                        sizeof(cgrpc_pb_method));
      if (svc->full_name == NULL || svc->methods == NULL) return oom();
      for (size_t k = 0; k < sp->n_method; k++) {
        const CgrpcPbi__MethodDescriptorProto *mp = sp->method[k];
        cgrpc_pb_method *m = &svc->methods[svc->n_methods++];
        if (!valid_name(mp->name))
          return perr("%s: method without a valid name%s", svc->full_name, "");
        const decl *in = resolve(L, mp->input_type, pkg);
        const decl *out = resolve(L, mp->output_type, pkg);
        if (in == NULL || out == NULL || in->kind != DECL_MSG || out->kind != DECL_MSG)
          return perr("%s.%s: unresolved input or output type", svc->full_name, mp->name);
        m->name = cg_pb_arena_strdup(L->a, mp->name);
        size_t len = strlen(svc->full_name) + strlen(mp->name) + 3;
        char *path = cg_pb_arena_alloc(L->a, len);
        if (m->name == NULL || path == NULL) return oom();
        snprintf(path, len, "/%s/%s", svc->full_name, mp->name);
        m->path = path;
        m->client_streaming = mp->has_client_streaming && mp->client_streaming;
        m->server_streaming = mp->has_server_streaming && mp->server_streaming;
        m->input = in->obj;
        m->output = out->obj;
        p->methods_by_path[p->n_methods++] = m;
      }
    }
  }
  qsort(p->methods_by_path, p->n_methods, sizeof(void *), method_cmp);
  for (size_t i = 1; i < p->n_methods; i++)
    if (strcmp(p->methods_by_path[i]->path, p->methods_by_path[i - 1]->path) == 0)
      return perr("%s: method declared twice%s", p->methods_by_path[i]->path, "");
  return 0;
}

static int load(loader *L, const CgrpcPbi__FileDescriptorSet *set) {
  int rc;
  /* Files: unique names, every dependency present. */
  for (size_t i = 0; i < set->n_file; i++) {
    const FileProto *fp = set->file[i];
    if (fp->name == NULL || *fp->name == 0) return perr("file without a name%s%s", "", "");
    for (size_t j = 0; j < i; j++)
      if (strcmp(set->file[j]->name, fp->name) == 0)
        return perr("%s: file appears twice in the set%s", fp->name, "");
    if (fp->syntax && *fp->syntax && strcmp(fp->syntax, "proto2") &&
        strcmp(fp->syntax, "proto3"))
      return perr("%s: unsupported syntax \"%s\"", fp->name, fp->syntax);
  }
  for (size_t i = 0; i < set->n_file; i++) {
    const FileProto *fp = set->file[i];
    for (size_t d = 0; d < fp->n_dependency; d++) {
      size_t j = 0;
      while (j < set->n_file && strcmp(set->file[j]->name, fp->dependency[d])) j++;
      if (j == set->n_file)
        return perr("%s: dependency %s is not in the set (use --include_imports)",
                    fp->name, fp->dependency[d]);
    }
  }
  /* Names. */
  for (size_t i = 0; i < set->n_file; i++) {
    const FileProto *fp = set->file[i];
    int proto3 = fp->syntax && strcmp(fp->syntax, "proto3") == 0;
    const char *pkg = fp->package ? cg_pb_arena_strdup(L->a, fp->package) : "";
    if (pkg == NULL) return oom();
    if (!valid_package(pkg)) return perr("%s: invalid package name \"%s\"", fp->name, pkg);
    for (size_t k = 0; k < fp->n_message_type; k++)
      if ((rc = collect_msg(L, fp->message_type[k], pkg, proto3)) != 0) return rc;
    for (size_t k = 0; k < fp->n_enum_type; k++)
      if ((rc = collect_enum(L, fp->enum_type[k], pkg, proto3)) != 0) return rc;
    for (size_t k = 0; k < fp->n_service; k++) {
      if (!valid_name(fp->service[k]->name))
        return perr("%s: service without a valid name%s", fp->name, "");
      const char *fn = join(L->a, pkg, fp->service[k]->name);
      if (fn == NULL) return oom();
      if ((rc = add_decl(L, (decl){fn, DECL_SERVICE, proto3, pkg, fp->service[k], NULL})) != 0)
        return rc;
    }
  }
  L->sorted = cg_pb_arena_calloc(L->a, L->n_decls ? L->n_decls : 1, sizeof(decl *));
  if (L->sorted == NULL) return oom();
  for (size_t i = 0; i < L->n_decls; i++) L->sorted[i] = &L->decls[i];
  qsort(L->sorted, L->n_decls, sizeof(decl *), decl_cmp);
  for (size_t i = 1; i < L->n_decls; i++)
    if (strcmp(L->sorted[i]->full_name, L->sorted[i - 1]->full_name) == 0)
      return perr("%s: name declared twice%s", L->sorted[i]->full_name, "");

  /* Messages. */
  size_t n_types = 0;
  for (size_t i = 0; i < L->n_decls; i++) {
    if (L->decls[i].kind != DECL_MSG) continue;
    if ((rc = build_msg(L, &L->decls[i])) != 0) return rc;
    n_types++;
  }
  cgrpc_pb_pool *p = L->pool;
  p->types_by_name = cg_pb_arena_calloc(L->a, n_types ? n_types : 1, sizeof(void *));
  if (p->types_by_name == NULL) return oom();
  for (size_t i = 0; i < L->n_decls; i++)
    if (L->decls[i].kind == DECL_MSG) p->types_by_name[p->n_types++] = L->decls[i].obj;
  qsort(p->types_by_name, p->n_types, sizeof(void *), type_cmp);
  return build_services(L, set);
}

int cgrpc_pb_pool_load(cgrpc_pb_pool **out, const void *data, size_t len) {
  if (out == NULL || (data == NULL && len > 0)) {
    cg_set_last_error("cgrpc_pb_pool_load: NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  *out = NULL;
  if (len > INT32_MAX) {
    cg_set_last_error("descriptor set too large");
    return CGRPC_E_PARSE;
  }
  static const uint8_t empty[1];
  const uint8_t *bytes = len ? data : empty;
  int rc = cg_pb_wire_check(&cgrpc_pbi__file_descriptor_set__descriptor, 0, bytes, len);
  if (rc != 0) return rc;
  CgrpcPbi__FileDescriptorSet *set =
      cgrpc_pbi__file_descriptor_set__unpack(NULL, len, bytes);
  if (set == NULL) {
    /* The wire check passed, so protobuf-c failed on something it alone
     * checks (required fields of descriptor.proto) or on memory. */
    cg_set_last_error("malformed FileDescriptorSet (missing required field)");
    return CGRPC_E_PARSE;
  }
  cgrpc_pb_pool *pool = calloc(1, sizeof(*pool));
  if (pool == NULL) {
    cgrpc_pbi__file_descriptor_set__free_unpacked(set, NULL);
    return oom();
  }
  loader L = {.pool = pool, .a = &pool->arena};
  rc = load(&L, set);
  cgrpc_pbi__file_descriptor_set__free_unpacked(set, NULL);
  if (rc != 0) {
    cgrpc_pb_pool_destroy(pool);
    return rc;
  }
  *out = pool;
  return CGRPC_OK;
}

void cgrpc_pb_pool_destroy(cgrpc_pb_pool *pool) {
  if (pool == NULL) return;
  cg_pb_arena_free(&pool->arena);
  free(pool);
}
