/* Read-only queries on a loaded pool and its types, fields and methods.
 * A pool is immutable after load, so all of these are thread-safe. */
#include <string.h>

#include "pb_internal.h"

const cgrpc_pb_type *cgrpc_pb_pool_find_type(const cgrpc_pb_pool *pool,
                                             const char *full_name) {
  if (pool == NULL || full_name == NULL) return NULL;
  if (full_name[0] == '.') full_name++;
  size_t lo = 0, hi = pool->n_types;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(pool->types_by_name[mid]->full_name, full_name);
    if (c == 0) return pool->types_by_name[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

size_t cgrpc_pb_pool_service_count(const cgrpc_pb_pool *pool) {
  return pool ? pool->n_services : 0;
}

const char *cgrpc_pb_pool_service_name(const cgrpc_pb_pool *pool, size_t i) {
  return pool && i < pool->n_services ? pool->services[i].full_name : NULL;
}

size_t cgrpc_pb_pool_method_count(const cgrpc_pb_pool *pool, size_t service) {
  return pool && service < pool->n_services ? pool->services[service].n_methods : 0;
}

const cgrpc_pb_method *cgrpc_pb_pool_method(const cgrpc_pb_pool *pool,
                                            size_t service, size_t i) {
  if (pool == NULL || service >= pool->n_services) return NULL;
  const cg_pb_service *s = &pool->services[service];
  return i < s->n_methods ? &s->methods[i] : NULL;
}

const cgrpc_pb_method *cgrpc_pb_pool_find_method(const cgrpc_pb_pool *pool,
                                                 const char *path) {
  if (pool == NULL || path == NULL) return NULL;
  size_t lo = 0, hi = pool->n_methods;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(pool->methods_by_path[mid]->path, path);
    if (c == 0) return pool->methods_by_path[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const char *cgrpc_pb_method_name(const cgrpc_pb_method *m) {
  return m ? m->name : NULL;
}
const char *cgrpc_pb_method_path(const cgrpc_pb_method *m) {
  return m ? m->path : NULL;
}
int cgrpc_pb_method_client_streaming(const cgrpc_pb_method *m) {
  return m ? m->client_streaming : 0;
}
int cgrpc_pb_method_server_streaming(const cgrpc_pb_method *m) {
  return m ? m->server_streaming : 0;
}
const cgrpc_pb_type *cgrpc_pb_method_input(const cgrpc_pb_method *m) {
  return m ? m->input : NULL;
}
const cgrpc_pb_type *cgrpc_pb_method_output(const cgrpc_pb_method *m) {
  return m ? m->output : NULL;
}

const char *cgrpc_pb_type_name(const cgrpc_pb_type *t) {
  return t ? t->full_name : NULL;
}
int cgrpc_pb_type_is_map_entry(const cgrpc_pb_type *t) {
  return t ? t->is_map_entry : 0;
}
size_t cgrpc_pb_type_field_count(const cgrpc_pb_type *t) {
  return t ? t->n_fields : 0;
}
const cgrpc_pb_field *cgrpc_pb_type_field(const cgrpc_pb_type *t, size_t i) {
  return t && i < t->n_fields ? &t->fields[i] : NULL;
}

const cgrpc_pb_field *cgrpc_pb_type_find_field(const cgrpc_pb_type *t,
                                               const char *name) {
  if (t == NULL || name == NULL) return NULL;
  const ProtobufCFieldDescriptor *d =
      protobuf_c_message_descriptor_get_field_by_name(&t->d, name);
  return d ? t->by_pc_index[d - t->d.fields] : NULL;
}

const cgrpc_pb_field *cgrpc_pb_type_find_field_any(const cgrpc_pb_type *t,
                                                   const char *name) {
  const cgrpc_pb_field *f = cgrpc_pb_type_find_field(t, name);
  if (f != NULL || t == NULL || name == NULL) return f;
  size_t n = cgrpc_pb_type_field_count(t);
  for (size_t i = 0; i < n; i++) {
    const cgrpc_pb_field *g = cgrpc_pb_type_field(t, i);
    if (g->json_name != NULL && strcmp(g->json_name, name) == 0) return g;
  }
  return NULL;
}

const char *cgrpc_pb_field_name(const cgrpc_pb_field *f) {
  return f ? f->name : NULL;
}
const char *cgrpc_pb_field_json_name(const cgrpc_pb_field *f) {
  return f ? f->json_name : NULL;
}
uint32_t cgrpc_pb_field_number(const cgrpc_pb_field *f) {
  return f ? f->number : 0;
}
cgrpc_pb_kind cgrpc_pb_field_kind(const cgrpc_pb_field *f) {
  return f ? f->kind : (cgrpc_pb_kind)0;
}
int cgrpc_pb_field_is_repeated(const cgrpc_pb_field *f) {
  return f ? f->repeated : 0;
}
int cgrpc_pb_field_is_map(const cgrpc_pb_field *f) {
  return f ? f->is_map : 0;
}
int cgrpc_pb_field_has_presence(const cgrpc_pb_field *f) {
  return f ? f->presence : 0;
}
const char *cgrpc_pb_field_oneof(const cgrpc_pb_field *f) {
  return f ? f->oneof : NULL;
}
const cgrpc_pb_type *cgrpc_pb_field_message_type(const cgrpc_pb_field *f) {
  return f ? f->msg_type : NULL;
}
const char *cgrpc_pb_field_enum_type(const cgrpc_pb_field *f) {
  return f && f->enum_type ? f->enum_type->full_name : NULL;
}

const char *cgrpc_pb_enum_name(const cgrpc_pb_field *f, int32_t value) {
  if (f == NULL || f->enum_type == NULL) return NULL;
  /* Aliases: the first declared name wins, as in protoc's descriptors. */
  for (size_t i = 0; i < f->enum_type->n; i++)
    if (f->enum_type->numbers[i] == value) return f->enum_type->names[i];
  return NULL;
}

int cgrpc_pb_enum_value(const cgrpc_pb_field *f, const char *name,
                        int32_t *value) {
  if (f == NULL || f->enum_type == NULL || name == NULL || value == NULL) {
    cg_set_last_error("cgrpc_pb_enum_value: not an enum field or NULL argument");
    return CGRPC_E_INVALID_ARG;
  }
  for (size_t i = 0; i < f->enum_type->n; i++) {
    if (strcmp(f->enum_type->names[i], name) == 0) {
      *value = f->enum_type->numbers[i];
      return CGRPC_OK;
    }
  }
  cg_set_last_error("%s: no value named %s", f->enum_type->full_name, name);
  return CGRPC_E_NOT_FOUND;
}
