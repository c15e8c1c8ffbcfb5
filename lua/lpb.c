/* Protobuf messages as Lua tables, over the cgrpc_pb.h API only; see
 * lpb.h for the functions and the pool's sharing rule.
 *
 * Value mapping (both directions):
 *   int32/sint32/sfixed32/uint32/int64/...  Lua integers; input also takes
 *       floats with an exact integer value.  uint64 values above 2^63-1
 *       come out as negative integers (two's complement, Lua 5.4 has no
 *       unsigned type), and a negative integer given to a uint64 field is
 *       taken the same way, so every value round-trips.
 *   double/float  numbers (a float comes out as the shortest decimal that
 *       reads back as the same float: 0.1, not 0.100000001490116)
 *   bool          booleans
 *   string/bytes  Lua strings (proto3 strings must be valid UTF-8)
 *   enum          the value's name, or its number if the enum does not
 *       declare it; input takes either
 *   message       a table of field name -> value (proto names; JSON names
 *       accepted on input)
 *   repeated      a sequence {v1, v2, ...}
 *   map           a table key -> value
 * Unset fields are absent from output tables; of a oneof only the set
 * member appears; a proto3 `optional` field set to zero appears.
 * Errors name the field: "test.Req.name: expected string, got table". */
#include "lpb.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "cgrpc_pb.h"

#define LPB_POOL_MT "cgrpc.pb_pool"
#define LPB_BOX_MT "cgrpc.pb_box"

struct lpb_pool {
  atomic_int refs;
  cgrpc_pb_pool *pool;
};

void lpb_pool_ref(lpb_pool *p) {
  atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void lpb_pool_unref(lpb_pool *p) {
  if (!p) return;
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1) return;
  cgrpc_pb_pool_destroy(p->pool);
  free(p);
}

typedef struct {
  lpb_pool *p;
} lpb_pool_ud;

lpb_pool *lpb_to_pool(lua_State *L, int idx) {
  lpb_pool_ud *u = luaL_testudata(L, idx, LPB_POOL_MT);
  return u ? u->p : NULL;
}

void lpb_push_pool(lua_State *L, lpb_pool *p) {
  lpb_pool_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->p = NULL;
  luaL_setmetatable(L, LPB_POOL_MT);
  lpb_pool_ref(p);
  u->p = p;
}

static int lpb_pool_gc(lua_State *L) {
  lpb_pool_ud *u = luaL_checkudata(L, 1, LPB_POOL_MT);
  lpb_pool_unref(u->p);
  u->p = NULL;
  return 0;
}

static const cgrpc_pb_pool *lpb_check_pool(lua_State *L, int idx) {
  lpb_pool_ud *u = luaL_testudata(L, idx, LPB_POOL_MT);
  if (!u || !u->p)
    luaL_error(L, "cgrpc: expected a descriptor pool, got %s", luaL_typename(L, idx));
  return u->p->pool;
}

/* A message (and an encoded buffer) freed when the box is collected, so
 * a Lua error raised half-way through a conversion leaks nothing. */
typedef struct {
  cgrpc_pb_msg *msg;
  uint8_t *data;
} lpb_box;

static int lpb_box_gc(lua_State *L) {
  lpb_box *b = lua_touserdata(L, 1);
  if (b) {
    cgrpc_pb_msg_destroy(b->msg);
    cgrpc_free(b->data);
    b->msg = NULL;
    b->data = NULL;
  }
  return 0;
}

static lpb_box *lpb_box_new(lua_State *L) {
  lpb_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->msg = NULL;
  b->data = NULL;
  luaL_setmetatable(L, LPB_BOX_MT);
  return b;
}

/* Raises a formatted error without a position prefix: the message is
 * about the data ("pkg.Msg.field: ..."), not about a line of code. */
static int lpb_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  return lua_error(L);
}

/* ---- Lua -> message ---- */

/* "pkg.Type.field" plus an optional element suffix, for messages. */
typedef struct {
  char s[320];
} lpb_where;

static void lpb_where_set(lpb_where *w, const cgrpc_pb_type *t,
                          const cgrpc_pb_field *f, const char *suffix) {
  snprintf(w->s, sizeof w->s, "%s.%s%s", cgrpc_pb_type_name(t),
           cgrpc_pb_field_name(f), suffix ? suffix : "");
}

/* What a value is, for "got ..." (numbers say which subtype). */
static const char *lpb_got(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER)
    return lua_isinteger(L, idx) ? "integer" : "float";
  return luaL_typename(L, idx);
}

static int lpb_type_error(lua_State *L, const lpb_where *w, const char *want,
                          int idx) {
  return lpb_error(L, "%s: expected %s, got %s", w->s, want, lpb_got(L, idx));
}

static int lpb_check_int(lua_State *L, int idx, const lpb_where *w,
                         const char *want, lua_Integer *out) {
  int ok = 0;
  if (lua_type(L, idx) == LUA_TNUMBER) *out = lua_tointegerx(L, idx, &ok);
  if (!ok) {
    if (lua_type(L, idx) == LUA_TNUMBER)
      return lpb_error(L, "%s: expected %s, got %s", w->s, want,
                        lua_tostring(L, idx));
    return lpb_type_error(L, w, want, idx);
  }
  return 0;
}

/* Converts the Lua value at idx to a value for field f of kind `kind`
 * (a map entry's key/value fields pass their own field). */
static void lpb_to_value(lua_State *L, int idx, const cgrpc_pb_field *f,
                         const lpb_where *w, cgrpc_pb_value *v) {
  cgrpc_pb_kind kind = cgrpc_pb_field_kind(f);
  lua_Integer i = 0;
  memset(v, 0, sizeof *v);
  v->kind = kind;
  switch (kind) {
    case CGRPC_PB_INT32:
      lpb_check_int(L, idx, w, "int32", &i);
      if (i < INT32_MIN || i > INT32_MAX)
        lpb_error(L, "%s: %I out of range for int32", w->s, i);
      v->v.i32 = (int32_t)i;
      break;
    case CGRPC_PB_UINT32:
      lpb_check_int(L, idx, w, "uint32", &i);
      if (i < 0 || i > (lua_Integer)UINT32_MAX)
        lpb_error(L, "%s: %I out of range for uint32", w->s, i);
      v->v.u32 = (uint32_t)i;
      break;
    case CGRPC_PB_INT64:
      lpb_check_int(L, idx, w, "int64", &i);
      v->v.i64 = (int64_t)i;
      break;
    case CGRPC_PB_UINT64:
      /* Negative integers are uint64 values above 2^63-1 (see the top). */
      lpb_check_int(L, idx, w, "uint64", &i);
      v->v.u64 = (uint64_t)i;
      break;
    case CGRPC_PB_DOUBLE:
      if (lua_type(L, idx) != LUA_TNUMBER) lpb_type_error(L, w, "number", idx);
      v->v.d = (double)lua_tonumber(L, idx);
      break;
    case CGRPC_PB_FLOAT:
      if (lua_type(L, idx) != LUA_TNUMBER) lpb_type_error(L, w, "number", idx);
      /* as a double: the C layer range-checks float fields */
      v->kind = CGRPC_PB_DOUBLE;
      v->v.d = (double)lua_tonumber(L, idx);
      break;
    case CGRPC_PB_BOOL:
      if (lua_type(L, idx) != LUA_TBOOLEAN) lpb_type_error(L, w, "boolean", idx);
      v->v.b = lua_toboolean(L, idx);
      break;
    case CGRPC_PB_STRING:
    case CGRPC_PB_BYTES:
      if (lua_type(L, idx) != LUA_TSTRING)
        lpb_type_error(L, w, kind == CGRPC_PB_STRING ? "string" : "string (bytes)", idx);
      v->v.s.data = lua_tolstring(L, idx, &v->v.s.len);
      break;
    case CGRPC_PB_ENUM:
      if (lua_type(L, idx) == LUA_TSTRING) {
        int32_t n = 0;
        const char *name = lua_tostring(L, idx);
        if (cgrpc_pb_enum_value(f, name, &n) != CGRPC_OK)
          lpb_error(L, "%s: '%s' is not a value of enum %s", w->s, name,
                     cgrpc_pb_field_enum_type(f));
        v->v.i32 = n;
      } else if (lua_type(L, idx) == LUA_TNUMBER) {
        lpb_check_int(L, idx, w, "enum name or number", &i);
        if (i < INT32_MIN || i > INT32_MAX)
          lpb_error(L, "%s: %I out of range for an enum", w->s, i);
        v->v.i32 = (int32_t)i;
      } else {
        lpb_type_error(L, w, "enum name or number", idx);
      }
      break;
    default:
      lpb_error(L, "%s: unsupported field kind %d", w->s, (int)kind);
  }
}

static void lpb_check_rc(lua_State *L, int rc, const lpb_where *w) {
  if (rc == CGRPC_OK) return;
  const char *detail = cgrpc_last_error();
  if (rc == CGRPC_E_TYPE && detail && *detail) lpb_error(L, "%s", detail);
  lpb_error(L, "%s: %s%s%s", w->s, cgrpc_strerror(rc), detail && *detail ? ": " : "",
             detail ? detail : "");
}

static void lpb_fill(lua_State *L, int idx, cgrpc_pb_msg *msg, int depth);

/* The table at idx into the sub-message sub, with depth checks. */
static void lpb_fill_sub(lua_State *L, int idx, cgrpc_pb_msg *sub,
                         const lpb_where *w, int depth) {
  if (lua_type(L, idx) != LUA_TTABLE) lpb_type_error(L, w, "table (message)", idx);
  if (depth + 1 > CGRPC_PB_MAX_DEPTH)
    lpb_error(L, "%s: messages nested more than %d deep (or a table that contains itself)",
               w->s, CGRPC_PB_MAX_DEPTH);
  lpb_fill(L, idx, sub, depth + 1);
}

static void lpb_set_field(lua_State *L, int idx, cgrpc_pb_msg *msg,
                          const cgrpc_pb_type *t, const cgrpc_pb_field *f,
                          int depth) {
  lpb_where w;
  lpb_where_set(&w, t, f, NULL);
  cgrpc_pb_value v;
  cgrpc_pb_msg *sub = NULL;
  if (cgrpc_pb_field_is_map(f)) {
    if (lua_type(L, idx) != LUA_TTABLE) lpb_type_error(L, &w, "table (map)", idx);
    const cgrpc_pb_type *et = cgrpc_pb_field_message_type(f);
    const cgrpc_pb_field *kf = cgrpc_pb_type_find_field(et, "key");
    const cgrpc_pb_field *vf = cgrpc_pb_type_find_field(et, "value");
    if (!kf || !vf) lpb_error(L, "%s: malformed map entry type", w.s);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      int k = lua_gettop(L) - 1, val = k + 1;
      lpb_where ew;
      const char *ks = lua_type(L, k) == LUA_TSTRING || lua_type(L, k) == LUA_TNUMBER
                           ? NULL : luaL_typename(L, k);
      char suffix[80];
      if (ks) {
        snprintf(suffix, sizeof suffix, "[<%s>]", ks);
      } else {
        lua_pushvalue(L, k); /* tostring on a copy: never convert the key itself */
        snprintf(suffix, sizeof suffix, "[%.60s]", lua_tostring(L, -1));
        lua_pop(L, 1);
      }
      lpb_where_set(&ew, t, f, suffix);
      lpb_check_rc(L, cgrpc_pb_msg_add_message(msg, f, &sub), &ew);
      lpb_where kw = ew;
      strncat(kw.s, " (key)", sizeof kw.s - strlen(kw.s) - 1);
      lpb_to_value(L, k, kf, &kw, &v);
      lpb_check_rc(L, cgrpc_pb_msg_set(sub, kf, &v), &kw);
      if (cgrpc_pb_field_kind(vf) == CGRPC_PB_MESSAGE) {
        cgrpc_pb_msg *vm = NULL;
        lpb_check_rc(L, cgrpc_pb_msg_mutable(sub, vf, &vm), &ew);
        lpb_fill_sub(L, val, vm, &ew, depth);
      } else {
        lpb_to_value(L, val, vf, &ew, &v);
        lpb_check_rc(L, cgrpc_pb_msg_set(sub, vf, &v), &ew);
      }
      lua_pop(L, 1);
    }
    return;
  }
  if (cgrpc_pb_field_is_repeated(f)) {
    if (lua_type(L, idx) != LUA_TTABLE) lpb_type_error(L, &w, "table (list)", idx);
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      int ok = 0;
      lua_Integer k = lua_type(L, -1) == LUA_TNUMBER ? lua_tointegerx(L, -1, &ok) : 0;
      if (!ok || k < 1 || k > n) {
        lua_pop(L, 1);
        lpb_error(L, "%s: expected a list (keys 1..n), got a table with other keys", w.s);
      }
      count++;
    }
    if (count != n) lpb_error(L, "%s: expected a list without holes", w.s);
    int is_msg = cgrpc_pb_field_kind(f) == CGRPC_PB_MESSAGE;
    for (lua_Integer i = 1; i <= n; i++) {
      lpb_where ew;
      char suffix[32];
      snprintf(suffix, sizeof suffix, "[%lld]", (long long)i);
      lpb_where_set(&ew, t, f, suffix);
      lua_rawgeti(L, idx, i);
      if (is_msg) {
        lpb_check_rc(L, cgrpc_pb_msg_add_message(msg, f, &sub), &ew);
        lpb_fill_sub(L, lua_gettop(L), sub, &ew, depth);
      } else {
        lpb_to_value(L, -1, f, &ew, &v);
        lpb_check_rc(L, cgrpc_pb_msg_append(msg, f, &v), &ew);
      }
      lua_pop(L, 1);
    }
    return;
  }
  if (cgrpc_pb_field_kind(f) == CGRPC_PB_MESSAGE) {
    if (lua_type(L, idx) != LUA_TTABLE) lpb_type_error(L, &w, "table (message)", idx);
    lpb_check_rc(L, cgrpc_pb_msg_mutable(msg, f, &sub), &w);
    lpb_fill_sub(L, idx, sub, &w, depth);
    return;
  }
  lpb_to_value(L, idx, f, &w, &v);
  lpb_check_rc(L, cgrpc_pb_msg_set(msg, f, &v), &w);
}

/* Fills msg from the table at idx (absolute). */
static void lpb_fill(lua_State *L, int idx, cgrpc_pb_msg *msg, int depth) {
  const cgrpc_pb_type *t = cgrpc_pb_msg_type(msg);
  luaL_checkstack(L, 8, "message nested too deeply");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int val = lua_gettop(L);
    if (lua_type(L, val - 1) != LUA_TSTRING)
      lpb_error(L, "%s: field names are strings, got a %s key", cgrpc_pb_type_name(t),
                 lpb_got(L, val - 1));
    const char *name = lua_tostring(L, val - 1);
    const cgrpc_pb_field *f = cgrpc_pb_type_find_field_any(t, name);
    if (!f) lpb_error(L, "%s: no field named '%s'", cgrpc_pb_type_name(t), name);
    lpb_set_field(L, val, msg, t, f, depth);
    lua_settop(L, val - 1);
  }
}

/* ---- message -> Lua ---- */

/* The shortest decimal that reads back as the same float. */
static double lpb_float(float f) {
  if (!isfinite(f)) return (double)f;
  char buf[40];
  for (int p = 6; p <= 9; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, (double)f);
    double d = strtod(buf, NULL);
    if ((float)d == f) return d;
  }
  return (double)f;
}

static void lpb_push_msg(lua_State *L, const cgrpc_pb_msg *msg, int depth);

static void lpb_push_value(lua_State *L, const cgrpc_pb_field *f,
                           const cgrpc_pb_value *v, int depth) {
  switch (v->kind) {
    case CGRPC_PB_DOUBLE: lua_pushnumber(L, (lua_Number)v->v.d); break;
    case CGRPC_PB_FLOAT: lua_pushnumber(L, (lua_Number)lpb_float(v->v.f)); break;
    case CGRPC_PB_INT64: lua_pushinteger(L, (lua_Integer)v->v.i64); break;
    case CGRPC_PB_UINT64: lua_pushinteger(L, (lua_Integer)v->v.u64); break;
    case CGRPC_PB_INT32: lua_pushinteger(L, (lua_Integer)v->v.i32); break;
    case CGRPC_PB_UINT32: lua_pushinteger(L, (lua_Integer)v->v.u32); break;
    case CGRPC_PB_BOOL: lua_pushboolean(L, v->v.b); break;
    case CGRPC_PB_STRING:
    case CGRPC_PB_BYTES:
      lua_pushlstring(L, v->v.s.data ? v->v.s.data : "", v->v.s.len);
      break;
    case CGRPC_PB_ENUM: {
      const char *name = cgrpc_pb_enum_name(f, v->v.i32);
      if (name) lua_pushstring(L, name);
      else lua_pushinteger(L, (lua_Integer)v->v.i32);
      break;
    }
    case CGRPC_PB_MESSAGE:
      if (!v->v.msg) {
        lua_newtable(L);
      } else {
        if (depth + 1 > CGRPC_PB_MAX_DEPTH)
          lpb_error(L, "%s: messages nested more than %d deep", cgrpc_pb_field_name(f),
                     CGRPC_PB_MAX_DEPTH);
        lpb_push_msg(L, v->v.msg, depth + 1);
      }
      break;
    default:
      lua_pushnil(L);
  }
}

static void lpb_get(lua_State *L, const cgrpc_pb_msg *msg,
                    const cgrpc_pb_field *f, size_t i, cgrpc_pb_value *v) {
  int rc = cgrpc_pb_msg_get(msg, f, i, v);
  if (rc)
    lpb_error(L, "%s.%s: reading the field failed: %s",
               cgrpc_pb_type_name(cgrpc_pb_msg_type(msg)), cgrpc_pb_field_name(f),
               cgrpc_strerror(rc));
}

static void lpb_push_msg(lua_State *L, const cgrpc_pb_msg *msg, int depth) {
  const cgrpc_pb_type *t = cgrpc_pb_msg_type(msg);
  size_t nf = cgrpc_pb_type_field_count(t);
  luaL_checkstack(L, 8, "message nested too deeply");
  lua_createtable(L, 0, 4);
  cgrpc_pb_value v;
  for (size_t i = 0; i < nf; i++) {
    const cgrpc_pb_field *f = cgrpc_pb_type_field(t, i);
    if (cgrpc_pb_field_is_repeated(f)) {
      size_t n = cgrpc_pb_msg_count(msg, f);
      if (n == 0) continue;
      if (cgrpc_pb_field_is_map(f)) {
        const cgrpc_pb_type *et = cgrpc_pb_field_message_type(f);
        const cgrpc_pb_field *kf = cgrpc_pb_type_find_field(et, "key");
        const cgrpc_pb_field *vf = cgrpc_pb_type_find_field(et, "value");
        if (!kf || !vf) lpb_error(L, "%s: malformed map entry type", cgrpc_pb_field_name(f));
        lua_createtable(L, 0, (int)(n < 1000000 ? n : 0));
        for (size_t j = 0; j < n; j++) {
          cgrpc_pb_value e, kv, vv;
          lpb_get(L, msg, f, j, &e);
          if (!e.v.msg) continue;
          lpb_get(L, e.v.msg, kf, 0, &kv);
          lpb_get(L, e.v.msg, vf, 0, &vv);
          lpb_push_value(L, kf, &kv, depth);
          lpb_push_value(L, vf, &vv, depth);
          lua_rawset(L, -3); /* a later equal key wins, as on the wire */
        }
      } else {
        lua_createtable(L, (int)(n < 1000000 ? n : 0), 0);
        for (size_t j = 0; j < n; j++) {
          lpb_get(L, msg, f, j, &v);
          lpb_push_value(L, f, &v, depth);
          lua_rawseti(L, -2, (lua_Integer)j + 1);
        }
      }
    } else {
      if (!cgrpc_pb_msg_has(msg, f)) continue;
      lpb_get(L, msg, f, 0, &v);
      lpb_push_value(L, f, &v, depth);
    }
    lua_setfield(L, -2, cgrpc_pb_field_name(f));
  }
}

/* ---- core functions ---- */

/* pb_load(bytes) -> pool | nil, message, rc */
static int l_pb_load(lua_State *L) {
  size_t len;
  const char *data = luaL_checklstring(L, 1, &len);
  /* The userdata first, so that nothing below can leak if Lua raises an
   * allocation error; it owns the pool once loaded. */
  lpb_pool_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->p = NULL;
  luaL_setmetatable(L, LPB_POOL_MT);
  lpb_pool *p = calloc(1, sizeof *p);
  if (!p) return lpb_error(L, "cgrpc: out of memory");
  atomic_init(&p->refs, 1);
  int rc = cgrpc_pb_pool_load(&p->pool, data, len);
  if (rc) {
    free(p);
    const char *detail = cgrpc_last_error();
    lua_pushnil(L);
    if (detail && *detail)
      lua_pushfstring(L, "descriptor set: %s (%s)", cgrpc_strerror(rc), detail);
    else
      lua_pushfstring(L, "descriptor set: %s", cgrpc_strerror(rc));
    lua_pushinteger(L, rc);
    return 3;
  }
  u->p = p; /* the box takes over the reference */
  return 1;
}

static int l_is_pool(lua_State *L) {
  lua_pushboolean(L, lpb_to_pool(L, 1) != NULL);
  return 1;
}

static int l_pool_refs(lua_State *L) {
  lpb_pool *p = lpb_to_pool(L, 1);
  lua_pushinteger(L, p ? atomic_load(&p->refs) : 0);
  return 1;
}

/* pb_services(pool) -> { names } */
static int l_pb_services(lua_State *L) {
  const cgrpc_pb_pool *pool = lpb_check_pool(L, 1);
  size_t n = cgrpc_pb_pool_service_count(pool);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, cgrpc_pb_pool_service_name(pool, i));
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* pb_methods(pool, service) -> { method tables } | nil */
static int l_pb_methods(lua_State *L) {
  const cgrpc_pb_pool *pool = lpb_check_pool(L, 1);
  const char *svc = luaL_checkstring(L, 2);
  size_t ns = cgrpc_pb_pool_service_count(pool), s;
  for (s = 0; s < ns; s++)
    if (strcmp(cgrpc_pb_pool_service_name(pool, s), svc) == 0) break;
  if (s == ns) return 0;
  size_t n = cgrpc_pb_pool_method_count(pool, s);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    const cgrpc_pb_method *m = cgrpc_pb_pool_method(pool, s, i);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, cgrpc_pb_method_name(m));
    lua_setfield(L, -2, "name");
    lua_pushstring(L, cgrpc_pb_method_path(m));
    lua_setfield(L, -2, "path");
    lua_pushstring(L, cgrpc_pb_type_name(cgrpc_pb_method_input(m)));
    lua_setfield(L, -2, "input");
    lua_pushstring(L, cgrpc_pb_type_name(cgrpc_pb_method_output(m)));
    lua_setfield(L, -2, "output");
    lua_pushboolean(L, cgrpc_pb_method_client_streaming(m));
    lua_setfield(L, -2, "client_streaming");
    lua_pushboolean(L, cgrpc_pb_method_server_streaming(m));
    lua_setfield(L, -2, "server_streaming");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static const cgrpc_pb_type *lpb_check_type(lua_State *L, const cgrpc_pb_pool *pool,
                                           int idx) {
  const char *name = luaL_checkstring(L, idx);
  const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(pool, name);
  if (!t) lpb_error(L, "cgrpc: no message type '%s' in the descriptor set", name);
  return t;
}

static int l_pb_has_type(lua_State *L) {
  const cgrpc_pb_pool *pool = lpb_check_pool(L, 1);
  lua_pushboolean(L, cgrpc_pb_pool_find_type(pool, luaL_checkstring(L, 2)) != NULL);
  return 1;
}

/* pb_encode(pool, type, table) -> bytes */
static int l_pb_encode(lua_State *L) {
  const cgrpc_pb_pool *pool = lpb_check_pool(L, 1);
  const cgrpc_pb_type *t = lpb_check_type(L, pool, 2);
  if (lua_type(L, 3) != LUA_TTABLE)
    return lpb_error(L, "%s: expected a table (message), got %s", cgrpc_pb_type_name(t),
                      lpb_got(L, 3));
  lua_settop(L, 3);
  lpb_box *b = lpb_box_new(L);
  int rc = cgrpc_pb_msg_create(&b->msg, t);
  if (rc) return lpb_error(L, "%s: %s", cgrpc_pb_type_name(t), cgrpc_strerror(rc));
  lpb_fill(L, 3, b->msg, 0);
  size_t len = 0;
  rc = cgrpc_pb_msg_encode(b->msg, &b->data, &len);
  if (rc) {
    const char *detail = cgrpc_last_error();
    return lpb_error(L, "%s: encoding failed: %s%s%s", cgrpc_pb_type_name(t),
                      cgrpc_strerror(rc), detail && *detail ? " (" : "",
                      detail && *detail ? detail : "");
  }
  lua_pushlstring(L, (const char *)b->data, len);
  lua_pushnil(L);
  lua_setmetatable(L, 4); /* nothing left for __gc: free now */
  cgrpc_pb_msg_destroy(b->msg);
  cgrpc_free(b->data);
  b->msg = NULL;
  b->data = NULL;
  return 1;
}

/* pb_decode(pool, type, bytes) -> table | nil, message */
static int l_pb_decode(lua_State *L) {
  const cgrpc_pb_pool *pool = lpb_check_pool(L, 1);
  const cgrpc_pb_type *t = lpb_check_type(L, pool, 2);
  size_t len;
  const char *data = luaL_checklstring(L, 3, &len);
  lua_settop(L, 3);
  lpb_box *b = lpb_box_new(L);
  int rc = cgrpc_pb_msg_decode(&b->msg, t, data, len);
  if (rc) {
    const char *detail = cgrpc_last_error();
    lua_pushnil(L);
    if (detail && *detail)
      lua_pushfstring(L, "%s: cannot decode: %s (%s)", cgrpc_pb_type_name(t),
                      cgrpc_strerror(rc), detail);
    else
      lua_pushfstring(L, "%s: cannot decode: %s", cgrpc_pb_type_name(t), cgrpc_strerror(rc));
    return 2;
  }
  lpb_push_msg(L, b->msg, 0);
  cgrpc_pb_msg_destroy(b->msg);
  b->msg = NULL;
  return 1;
}

static const luaL_Reg lpb_funcs[] = {
    {"pb_load", l_pb_load},
    {"is_pool", l_is_pool},
    {"pool_refs", l_pool_refs},
    {"pb_services", l_pb_services},
    {"pb_methods", l_pb_methods},
    {"pb_has_type", l_pb_has_type},
    {"pb_encode", l_pb_encode},
    {"pb_decode", l_pb_decode},
    {NULL, NULL}};

void lpb_open(lua_State *L) {
  if (luaL_newmetatable(L, LPB_POOL_MT)) {
    lua_pushcfunction(L, lpb_pool_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, LPB_BOX_MT)) {
    lua_pushcfunction(L, lpb_box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, lpb_funcs, 0);
}
