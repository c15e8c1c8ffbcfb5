/* The Lua section of cgrpc's SWIG interface, included at the end of
 * bindings/cgrpc.i when SWIG runs with -lua.
 *
 * What it adds to the one-to-one wrapping of cgrpc.h:
 *  - lgrpc_channel, the channel handle Lua sees: a SWIG class around a
 *    reference-counted cgrpc_channel (lua/lgrpc.c).  Every userdata owns
 *    one reference, in whichever lua_State it lives; its __gc (the
 *    destructor below) drops that reference, and the last one closes the
 *    channel.  So one channel can be handed to lua_States on other OS
 *    threads, and is freed when the last of them drops it.
 *  - the bridge functions declared in lua/lgrpc.h, which let the plain C
 *    glue convert SWIG userdata (only this translation unit knows SWIG's
 *    type table);
 *  - luaopen_cgrpc_core, so `require "cgrpc.core"` finds the module, with
 *    the first-time SWIG type-table set-up serialised across threads;
 *  - the glue functions of lua/lgrpc.c, added to the module table.
 *
 * Build with -nomoduleglobal (lua/lua.mk): require returns the table and
 * no global is set, which matters in the worker states of a server. */

%{
#include <pthread.h>
#include "lgrpc.h"
%}

/* ---- the shared channel handle ---- */
%nodefaultctor lgrpc_channel;
struct lgrpc_channel {};
%extend lgrpc_channel {
  /* __gc: drop this userdata's reference (never destroy directly). */
  ~lgrpc_channel() { lgrpc_channel_unref($self); }
}

/* ---- userdata checks ----
 * SWIG's Lua runtime takes any full userdata for a swig_lua_userdata and
 * any light userdata for a raw pointer, so a file handle passed where a
 * call is expected would be dereferenced.  Every wrapper converts through
 * SWIG_ConvertPtr; redefined here, it first checks that a userdata has
 * SWIG's size and one of this module's type pointers (compared, never
 * followed), and refuses light userdata. */
%{
static int lgrpc_is_swig_ud(lua_State *L, int idx) {
  swig_lua_userdata *u;
  int i;
  if (lua_type(L, idx) != LUA_TUSERDATA ||
      lua_rawlen(L, idx) != sizeof(swig_lua_userdata))
    return 0;
  u = (swig_lua_userdata *)lua_touserdata(L, idx);
  for (i = 0; swig_types[i]; i++)
    if (swig_types[i] == u->type) return 1;
  return 0;
}

static int lgrpc_convert_ptr(lua_State *L, int idx, void **ptr,
                             swig_type_info *ty, int flags) {
  int t = lua_type(L, idx);
  if (t == LUA_TLIGHTUSERDATA || (t == LUA_TUSERDATA && !lgrpc_is_swig_ud(L, idx)))
    return SWIG_ERROR;
  return SWIG_Lua_ConvertPtr(L, idx, ptr, ty, flags);
}
/* The type of the value at idx for messages: SWIG's type name, a
 * metatable's __name (FILE*, ...), or the Lua type. */
static const char *lgrpc_typename(lua_State *L, int idx) {
  if (lgrpc_is_swig_ud(L, idx)) return SWIG_Lua_typename(L, idx);
  int t = luaL_getmetafield(L, idx, "__name");
  if (t != LUA_TNIL) {
    const char *n = t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1); /* the string stays alive in the metatable */
    if (n) return n;
  }
  return luaL_typename(L, idx);
}

#undef SWIG_ConvertPtr
#define SWIG_ConvertPtr(L, idx, ptr, type, flags) lgrpc_convert_ptr(L, idx, ptr, type, flags)
/* SWIG's own error messages name the bad argument's type the same way. */
#undef SWIG_fail_arg
#define SWIG_fail_arg(func_name, argnum, type)                                  \
  {                                                                            \
    SWIG_Lua_pushferrstring(L, "Error in %s (arg %d), expected '%s' got '%s'", \
                            func_name, argnum, type, lgrpc_typename(L, argnum)); \
    goto fail;                                                                 \
  }

/* Safe replacements for the swig_type / swig_equals helpers SWIG adds to
 * the module table (the originals dereference any userdata). */
static int lgrpc_swig_type(lua_State *L) {
  lua_pushstring(L, lgrpc_typename(L, 1));
  return 1;
}

static int lgrpc_swig_equals(lua_State *L) {
  int eq = lgrpc_is_swig_ud(L, 1) && lgrpc_is_swig_ud(L, 2) &&
           ((swig_lua_userdata *)lua_touserdata(L, 1))->ptr ==
               ((swig_lua_userdata *)lua_touserdata(L, 2))->ptr;
  lua_pushboolean(L, eq);
  return 1;
}
%}

/* ---- bridges used by lua/lgrpc.c ---- */
%{
lgrpc_channel *lgrpc_to_channel(lua_State *L, int idx) {
  void *p = NULL;
  if (!lgrpc_is_swig_ud(L, idx)) return NULL;
  if (!SWIG_IsOK(SWIG_ConvertPtr(L, idx, &p, SWIGTYPE_p_lgrpc_channel, 0)))
    return NULL;
  return (lgrpc_channel *)p;
}

void lgrpc_push_channel(lua_State *L, lgrpc_channel *c) {
  /* own = 1: the userdata's __gc runs the destructor (unref). */
  SWIG_NewPointerObj(L, (void *)c, SWIGTYPE_p_lgrpc_channel, 1);
}

static void *lgrpc_check_swig(lua_State *L, int idx, swig_type_info *ty,
                              const char *what) {
  void *p = NULL;
  if (!lgrpc_is_swig_ud(L, idx) ||
      !SWIG_IsOK(SWIG_ConvertPtr(L, idx, &p, ty, 0)) || !p)
    luaL_error(L, "cgrpc: expected %s, got %s", what, lgrpc_typename(L, idx));
  return p;
}

cgrpc_stub *lgrpc_check_stub(lua_State *L, int idx) {
  return (cgrpc_stub *)lgrpc_check_swig(L, idx, SWIGTYPE_p_cgrpc_stub, "a stub");
}

cgrpc_call *lgrpc_check_call(lua_State *L, int idx) {
  return (cgrpc_call *)lgrpc_check_swig(L, idx, SWIGTYPE_p_cgrpc_call, "a call");
}

const cgrpc_metadata *lgrpc_check_metadata(lua_State *L, int idx) {
  return (const cgrpc_metadata *)lgrpc_check_swig(L, idx, SWIGTYPE_p_cgrpc_metadata,
                                                  "a metadata list");
}

void lgrpc_push_stub(lua_State *L, cgrpc_stub *stub) {
  SWIG_NewPointerObj(L, (void *)stub, SWIGTYPE_p_cgrpc_stub, 0);
}

void lgrpc_push_call(lua_State *L, cgrpc_call *call) {
  SWIG_NewPointerObj(L, (void *)call, SWIGTYPE_p_cgrpc_call, 0);
}

/* `require "cgrpc.core"` looks for luaopen_cgrpc_core.  SWIG's first-time
 * set-up of its static type table is not safe to run from two threads at
 * once (each new lua_State runs it), so it runs under a lock. */
SWIGEXPORT int SWIG_init(lua_State *L);
static pthread_mutex_t lgrpc_open_mu = PTHREAD_MUTEX_INITIALIZER;

SWIGEXPORT int luaopen_cgrpc_core(lua_State *L) {
  pthread_mutex_lock(&lgrpc_open_mu);
  lua_pushcfunction(L, SWIG_init);
  int st = lua_pcall(L, 0, 1, 0);
  pthread_mutex_unlock(&lgrpc_open_mu);
  if (st != LUA_OK) return lua_error(L);
  return 1;
}
%}

/* The module table is on top of the stack when the user init runs. */
%init %{
  lgrpc_open(L);
  lua_pushcfunction(L, lgrpc_swig_type);
  lua_setfield(L, -2, "swig_type");
  lua_pushcfunction(L, lgrpc_swig_equals);
  lua_setfield(L, -2, "swig_equals");
%}
