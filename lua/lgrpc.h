/* The C half of cgrpc's Lua binding (the other half is the SWIG wrapper
 * generated from bindings/cgrpc.i + bindings/lua.i, and lua/cgrpc.lua on
 * top of both).
 *
 * lua/lgrpc.c holds what SWIG cannot express: a channel shared by many
 * lua_States on many OS threads (reference counted), OS threads running
 * their own lua_State, a poller that turns cgrpc's per-call notify
 * callbacks into one pollable file descriptor, a server whose handlers run
 * in a pool of worker lua_States, and a fast unary path.  Its functions
 * are registered into the SWIG module table by lgrpc_open().
 *
 * The bridge functions below are implemented in bindings/lua.i, inside the
 * SWIG wrapper, because only that translation unit knows SWIG's type table.
 *
 * Thread rule: a lua_State is only ever touched by the OS thread that is
 * running it.  Nothing in cgrpc's callbacks (I/O thread) enters Lua; the
 * server's handler threads only enter the worker state they own for the
 * duration of one RPC. */
#ifndef LGRPC_H
#define LGRPC_H

#include <lua.h>

#include "cgrpc.h"

/* A cgrpc_channel shared by lua_States: one atomic reference per Lua
 * userdata (in any state) or C holder; the last unref closes the channel. */
typedef struct lgrpc_channel lgrpc_channel;

void lgrpc_channel_ref(lgrpc_channel *c);
void lgrpc_channel_unref(lgrpc_channel *c);

/* ---- bridges into the SWIG wrapper (bindings/lua.i) ---- */

/* The channel behind the SWIG userdata at idx, or NULL (never raises). */
lgrpc_channel *lgrpc_to_channel(lua_State *L, int idx);
/* Pushes a new owning userdata for c; takes over one reference that the
 * caller holds (on error the reference is dropped and an error raised). */
void lgrpc_push_channel(lua_State *L, lgrpc_channel *c);
/* The handle behind the SWIG userdata at idx; raises a Lua error naming
 * the expected type otherwise. */
cgrpc_stub *lgrpc_check_stub(lua_State *L, int idx);
cgrpc_call *lgrpc_check_call(lua_State *L, int idx);
const cgrpc_metadata *lgrpc_check_metadata(lua_State *L, int idx);
/* Pushes a non-owning SWIG userdata (the Lua layer owns the handle). */
void lgrpc_push_stub(lua_State *L, cgrpc_stub *stub);
void lgrpc_push_call(lua_State *L, cgrpc_call *call);

/* Adds lgrpc's functions to the table on top of the stack. */
void lgrpc_open(lua_State *L);

#endif
