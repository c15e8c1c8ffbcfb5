/* Protobuf messages as Lua tables, over cgrpc_pb.h (lua/lpb.c).
 *
 * A descriptor pool loaded from Lua is shared by reference count, like a
 * channel: every Lua userdata (in any lua_State, on any OS thread) and
 * every C holder (a server's dynamic service) owns one reference, and the
 * last unref destroys the pool.  A loaded pool is immutable, so states on
 * different threads may convert messages with it at the same time.
 *
 * Functions registered into the core module by lpb_open():
 *   pb_load(bytes) -> pool | nil, message, rc
 *   is_pool(v) -> boolean
 *   pb_services(pool) -> { "pkg.Service", ... }
 *   pb_methods(pool, service) -> { {name=, path=, input=, output=,
 *       client_streaming=, server_streaming=}, ... } | nil (no service)
 *   pb_has_type(pool, type_name) -> boolean
 *   pb_encode(pool, type_name, table) -> bytes (raises naming the field)
 *   pb_decode(pool, type_name, bytes) -> table | nil, message
 *   pool_refs(pool) -> integer (tests) */
#ifndef LPB_H
#define LPB_H

#include <lua.h>

typedef struct lpb_pool lpb_pool;

void lpb_pool_ref(lpb_pool *p);
void lpb_pool_unref(lpb_pool *p);
/* The pool behind the pool userdata at idx, or NULL (never raises). */
lpb_pool *lpb_to_pool(lua_State *L, int idx);
/* Pushes a new userdata holding a new reference to p, taken only once the
 * userdata exists (so an allocation error raised here leaks nothing). */
void lpb_push_pool(lua_State *L, lpb_pool *p);
/* Adds the pb_* functions to the table on top of the stack. */
void lpb_open(lua_State *L);

#endif
