/* The C half of cgrpc's Lua binding; see lgrpc.h for the shape and the
 * thread rule.  Every function here that Lua calls is named l_<name> and
 * registered as core.<name> by lgrpc_open(). */
#include "lgrpc.h"
#include "lpb.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

static char *lg_strndup(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

static char *lg_strdup(const char *s) { return lg_strndup(s, strlen(s)); }

static int64_t lg_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void lg_sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Raises "cgrpc: <what>: <strerror> (<last_error>)". */
static int lg_raise_rc(lua_State *L, int rc, const char *what) {
  const char *detail = cgrpc_last_error();
  if (detail && *detail)
    return luaL_error(L, "cgrpc: %s: %s (%s)", what, cgrpc_strerror(rc), detail);
  return luaL_error(L, "cgrpc: %s: %s", what, cgrpc_strerror(rc));
}

/* Pushes nil, message, rc: a failure the Lua layer turns into an error
 * table (see M.api_error in cgrpc.lua). */
static int lg_fail(lua_State *L, int rc, const char *what) {
  const char *detail = cgrpc_last_error();
  lua_pushnil(L);
  if (detail && *detail)
    lua_pushfstring(L, "%s: %s (%s)", what, cgrpc_strerror(rc), detail);
  else
    lua_pushfstring(L, "%s: %s", what, cgrpc_strerror(rc));
  lua_pushinteger(L, rc);
  return 3;
}

/* An integer argument or field: a Lua integer, or a float with an exact
 * integer value.  Raises naming `what` otherwise. */
static int64_t lg_checkint(lua_State *L, int idx, const char *what) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_error(L, "cgrpc: %s must be an integer, got %s", what,
               luaL_typename(L, idx));
  int ok;
  lua_Integer v = lua_tointegerx(L, idx, &ok);
  if (!ok)
    luaL_error(L, "cgrpc: %s must be an integer, got %s", what,
               lua_tostring(L, idx));
  return (int64_t)v;
}

static const char *lg_checkstr(lua_State *L, int idx, const char *what,
                               size_t *len) {
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "cgrpc: %s must be a string, got %s", what,
               luaL_typename(L, idx));
  return lua_tolstring(L, idx, len);
}

/* Raises if the table at idx has a key not in allowed (NULL-terminated). */
static void lg_check_keys(lua_State *L, int idx, const char *what,
                          const char *const *allowed) {
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      luaL_error(L, "cgrpc: %s: keys must be strings, got a %s key", what,
                 luaL_typename(L, -1));
    }
    const char *k = lua_tostring(L, -1);
    int found = 0;
    for (int i = 0; allowed[i]; i++)
      if (strcmp(allowed[i], k) == 0) found = 1;
    if (!found) luaL_error(L, "cgrpc: %s: unknown option '%s'", what, k);
  }
}

/* A userdata that frees a C object when collected: lets us raise Lua
 * errors while a C resource is held without leaking it. */
typedef void (*lg_free_fn)(void *);
typedef struct {
  void *p;
  lg_free_fn fn;
} lg_box;

static int lg_box_gc(lua_State *L) {
  lg_box *b = lua_touserdata(L, 1);
  if (b && b->p && b->fn) b->fn(b->p);
  if (b) b->p = NULL;
  return 0;
}

static lg_box *lg_box_new(lua_State *L, lg_free_fn fn) {
  lg_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->p = NULL;
  b->fn = fn;
  if (luaL_newmetatable(L, "cgrpc.box")) {
    lua_pushcfunction(L, lg_box_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  return b;
}

/* Frees the box's object now (instead of at collection). */
static void lg_box_release(lg_box *b) {
  if (b->p && b->fn) b->fn(b->p);
  b->p = NULL;
}

static void lg_free_md(void *p) { cgrpc_metadata_destroy(p); }
static void lg_free_call_opts(void *p) { cgrpc_call_options_destroy(p); }
static void lg_free_chan_opts(void *p) { cgrpc_channel_options_destroy(p); }
static void lg_free_tls_opts(void *p) { cgrpc_tls_options_destroy(p); }
static void lg_free_creds(void *p) { cgrpc_credentials_destroy(p); }
static void lg_free_srv_opts(void *p) { cgrpc_server_options_destroy(p); }

/* ------------------------------------------------------------------ */
/* Metadata                                                             */
/* ------------------------------------------------------------------ */

typedef int (*lg_md_add_fn)(void *target, const char *key, const void *v,
                            size_t len);

static int lg_md_add_call_opts(void *t, const char *k, const void *v, size_t n) {
  return cgrpc_call_options_add_metadata(t, k, v, n);
}
static int lg_md_add_chan_opts(void *t, const char *k, const void *v, size_t n) {
  return cgrpc_channel_options_add_metadata(t, k, v, n);
}
static int lg_md_add_md(void *t, const char *k, const void *v, size_t n) {
  return cgrpc_metadata_add(t, k, v, n);
}

static void lg_md_add1(lua_State *L, lg_md_add_fn fn, void *target,
                       const char *key, int vidx) {
  size_t len;
  if (lua_type(L, vidx) != LUA_TSTRING)
    luaL_error(L, "cgrpc: metadata value for '%s' must be a string, got %s",
               key, luaL_typename(L, vidx));
  const char *v = lua_tolstring(L, vidx, &len);
  int rc = fn(target, key, v, len);
  if (rc == CGRPC_E_METADATA)
    luaL_error(L,
               "cgrpc: invalid metadata '%s': keys are lower-case [0-9a-z_.-], "
               "not starting with 'grpc-'; values of keys not ending in '-bin' "
               "are printable ASCII",
               key);
  else if (rc)
    lg_raise_rc(L, rc, "adding metadata");
}

/* Adds the metadata table at idx: { key = "v" | {"v1", "v2"}, ... } and/or
 * an array of { "key", "value" } pairs (the form received metadata has). */
static void lg_md_from_table(lua_State *L, int idx, lg_md_add_fn fn,
                             void *target) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "cgrpc: metadata must be a table, got %s",
               luaL_typename(L, idx));
  luaL_checkstack(L, 6, NULL);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    /* -2 key, -1 value */
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *key = lua_tostring(L, -2);
      if (lua_type(L, -1) == LUA_TTABLE) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
        for (lua_Integer i = 1; i <= n; i++) {
          lua_rawgeti(L, -1, i);
          lg_md_add1(L, fn, target, key, lua_gettop(L));
          lua_pop(L, 1);
        }
      } else {
        lg_md_add1(L, fn, target, key, lua_gettop(L));
      }
    } else if (lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TTABLE) {
      lua_rawgeti(L, -1, 1);
      lua_rawgeti(L, -2, 2);
      if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "cgrpc: metadata pair {key, value} needs a string key");
      lg_md_add1(L, fn, target, lua_tostring(L, -2), lua_gettop(L));
      lua_pop(L, 2);
    } else {
      luaL_error(L,
                 "cgrpc: metadata entries are key = value or {key, value}, "
                 "got a %s key",
                 luaL_typename(L, -2));
    }
    lua_pop(L, 1);
  }
}

/* Pushes a received metadata list as a table: entry i is {key, value}
 * (in order, repeats kept) and md[key] is the first value of key. */
static void lg_push_md(lua_State *L, const cgrpc_metadata *md) {
  size_t n = md ? cgrpc_metadata_count(md) : 0;
  luaL_checkstack(L, 4, NULL);
  lua_createtable(L, (int)n, (int)n);
  for (size_t i = 0; i < n; i++) {
    const char *k = cgrpc_metadata_key(md, i);
    size_t len = 0;
    const uint8_t *v = cgrpc_metadata_value(md, i, &len);
    if (!k || !v) continue;
    lua_createtable(L, 2, 0);
    lua_pushstring(L, k);
    lua_rawseti(L, -2, 1);
    lua_pushlstring(L, (const char *)v, len);
    lua_rawseti(L, -2, 2);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
    lua_getfield(L, -1, k);
    int absent = lua_isnil(L, -1);
    lua_pop(L, 1);
    if (absent) {
      lua_pushlstring(L, (const char *)v, len);
      lua_setfield(L, -2, k);
    }
  }
}

/* metadata_table(md) -> table */
static int l_metadata_table(lua_State *L) {
  const cgrpc_metadata *md =
      lua_isnoneornil(L, 1) ? NULL : lgrpc_check_metadata(L, 1);
  lg_push_md(L, md);
  return 1;
}

/* ------------------------------------------------------------------ */
/* TLS                                                                  */
/* ------------------------------------------------------------------ */

typedef int (*lg_pem_fn)(cgrpc_tls_options *, const void *, size_t);
typedef int (*lg_file_fn)(cgrpc_tls_options *, const char *);

/* Field `field` of the table at idx: PEM text if it contains "-----BEGIN",
 * otherwise a file name. */
static void lg_tls_pem(lua_State *L, int idx, const char *field,
                       cgrpc_tls_options *o, lg_pem_fn pem, lg_file_fn file) {
  lua_getfield(L, idx, field);
  if (!lua_isnil(L, -1)) {
    char what[64];
    snprintf(what, sizeof what, "tls.%s", field);
    size_t len;
    const char *s = lg_checkstr(L, -1, what, &len);
    int rc = strstr(s, "-----BEGIN") ? pem(o, s, len) : file(o, s);
    if (rc) lg_raise_rc(L, rc, what);
  }
  lua_pop(L, 1);
}

/* Builds TLS options from the table at idx (or `true`: defaults). The
 * options end up in a box on the stack. */
static cgrpc_tls_options *lg_tls_options(lua_State *L, int idx, int server) {
  idx = lua_absindex(L, idx);
  lg_box *b = lg_box_new(L, lg_free_tls_opts);
  cgrpc_tls_options *o = NULL;
  int rc = cgrpc_tls_options_create(&o);
  if (rc) lg_raise_rc(L, rc, "TLS options");
  b->p = o;
  if (lua_type(L, idx) == LUA_TBOOLEAN) return o;
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "cgrpc: tls must be true or a table, got %s",
               luaL_typename(L, idx));
  static const char *const client_keys[] = {"roots", "cert", "key", "override",
                                            "insecure_skip_verify", NULL};
  static const char *const server_keys[] = {
      "cert", "key", "client_ca", "client_cert", "handshake_timeout_ms", NULL};
  lg_check_keys(L, idx, "tls", server ? server_keys : client_keys);
  lg_tls_pem(L, idx, server ? "client_ca" : "roots", o,
             cgrpc_tls_options_set_root_certs_pem,
             cgrpc_tls_options_set_root_certs_file);
  lg_tls_pem(L, idx, "cert", o, cgrpc_tls_options_set_cert_chain_pem,
             cgrpc_tls_options_set_cert_chain_file);
  lg_tls_pem(L, idx, "key", o, cgrpc_tls_options_set_private_key_pem,
             cgrpc_tls_options_set_private_key_file);
  if (!server) {
    if (lua_getfield(L, idx, "override") != LUA_TNIL) {
      rc = cgrpc_tls_options_set_target_name_override(
          o, lg_checkstr(L, -1, "tls.override", NULL));
      if (rc) lg_raise_rc(L, rc, "tls.override");
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "insecure_skip_verify") != LUA_TNIL)
      cgrpc_tls_options_set_insecure_skip_verification(o, lua_toboolean(L, -1));
    lua_pop(L, 1);
  } else {
    if (lua_getfield(L, idx, "client_cert") != LUA_TNIL) {
      const char *m = lg_checkstr(L, -1, "tls.client_cert", NULL);
      int mode = strcmp(m, "none") == 0      ? CGRPC_CLIENT_CERT_NONE
                 : strcmp(m, "request") == 0 ? CGRPC_CLIENT_CERT_REQUEST
                 : strcmp(m, "require") == 0 ? CGRPC_CLIENT_CERT_REQUIRE
                                             : -1;
      if (mode < 0)
        luaL_error(L, "cgrpc: tls.client_cert must be 'none', 'request' or "
                      "'require'");
      cgrpc_tls_options_set_client_cert_mode(o, mode);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "handshake_timeout_ms") != LUA_TNIL) {
      rc = cgrpc_tls_options_set_handshake_timeout(
          o, lg_checkint(L, -1, "tls.handshake_timeout_ms"));
      if (rc) lg_raise_rc(L, rc, "tls.handshake_timeout_ms");
    }
    lua_pop(L, 1);
  }
  return o;
}

/* ------------------------------------------------------------------ */
/* Shared channel                                                       */
/* ------------------------------------------------------------------ */

struct lgrpc_channel {
  atomic_int refs;
  pthread_rwlock_t lock; /* read: using ch; write: closing it */
  cgrpc_channel *ch;     /* NULL once closed */
  char *target;
  /* Defaults the Lua layer applies to every call (fixed at creation). */
  int64_t timeout_ms;    /* -1: none */
  int wait_for_ready;    /* -1: not set */
};

static atomic_int lg_live_channels;

void lgrpc_channel_ref(lgrpc_channel *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static void lg_channel_close(lgrpc_channel *c) {
  pthread_rwlock_wrlock(&c->lock);
  cgrpc_channel *ch = c->ch;
  c->ch = NULL;
  pthread_rwlock_unlock(&c->lock);
  cgrpc_channel_destroy(ch); /* NULL is a no-op */
}

void lgrpc_channel_unref(lgrpc_channel *c) {
  if (!c) return;
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1) return;
  lg_channel_close(c);
  pthread_rwlock_destroy(&c->lock);
  free(c->target);
  free(c);
  atomic_fetch_sub(&lg_live_channels, 1);
}

/* The channel, read-locked; NULL (unlocked) if closed. */
static cgrpc_channel *lg_channel_acquire(lgrpc_channel *c) {
  pthread_rwlock_rdlock(&c->lock);
  if (!c->ch) pthread_rwlock_unlock(&c->lock);
  return c->ch;
}

static void lg_channel_release(lgrpc_channel *c) {
  pthread_rwlock_unlock(&c->lock);
}

static lgrpc_channel *lg_check_channel(lua_State *L, int idx) {
  lgrpc_channel *c = lgrpc_to_channel(L, idx);
  if (!c)
    luaL_error(L, "cgrpc: expected a channel, got %s", luaL_typename(L, idx));
  return c;
}

/* channel_new(target, opts|nil) -> channel | nil, message, rc */
static int l_channel_new(lua_State *L) {
  const char *target = lg_checkstr(L, 1, "target", NULL);
  int has_opts = !lua_isnoneornil(L, 2);
  if (has_opts && lua_type(L, 2) != LUA_TTABLE)
    luaL_error(L, "cgrpc: channel options must be a table, got %s",
               luaL_typename(L, 2));
  lua_settop(L, 2);
  lg_box *ob = lg_box_new(L, lg_free_chan_opts); /* 3 */
  cgrpc_channel_options *o = NULL;
  int rc = cgrpc_channel_options_create(&o);
  if (rc) lg_raise_rc(L, rc, "channel options");
  ob->p = o;
  int64_t dflt_timeout = -1;
  int dflt_wfr = -1;
  if (has_opts) {
    static const char *const keys[] = {
        "connect_timeout_ms", "max_send_message_size", "max_recv_message_size",
        "user_agent", "authority", "metadata", "tls", "backoff",
        /* used by the Lua layer */
        "timeout_ms", "wait_for_ready", NULL};
    lg_check_keys(L, 2, "channel options", keys);
    if (lua_getfield(L, 2, "timeout_ms") != LUA_TNIL)
      dflt_timeout = lg_checkint(L, -1, "timeout_ms");
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "wait_for_ready") != LUA_TNIL)
      dflt_wfr = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "connect_timeout_ms") != LUA_TNIL &&
        (rc = cgrpc_channel_options_set_connect_timeout(
             o, lg_checkint(L, -1, "connect_timeout_ms"))))
      lg_raise_rc(L, rc, "connect_timeout_ms");
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "max_send_message_size") != LUA_TNIL &&
        (rc = cgrpc_channel_options_set_max_send_message_size(
             o, lg_checkint(L, -1, "max_send_message_size"))))
      lg_raise_rc(L, rc, "max_send_message_size");
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "max_recv_message_size") != LUA_TNIL &&
        (rc = cgrpc_channel_options_set_max_recv_message_size(
             o, lg_checkint(L, -1, "max_recv_message_size"))))
      lg_raise_rc(L, rc, "max_recv_message_size");
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "user_agent") != LUA_TNIL &&
        (rc = cgrpc_channel_options_set_user_agent(
             o, lg_checkstr(L, -1, "user_agent", NULL))))
      lg_raise_rc(L, rc, "user_agent");
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "authority") != LUA_TNIL &&
        (rc = cgrpc_channel_options_set_authority(
             o, lg_checkstr(L, -1, "authority", NULL))))
      lg_raise_rc(L, rc, "authority");
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "metadata") != LUA_TNIL)
      lg_md_from_table(L, -1, lg_md_add_chan_opts, o);
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "backoff") != LUA_TNIL) {
      int t = lua_gettop(L);
      if (lua_type(L, t) != LUA_TTABLE)
        luaL_error(L, "cgrpc: backoff must be a table");
      static const char *const bkeys[] = {"initial_ms", "multiplier", "jitter",
                                          "max_ms", NULL};
      lg_check_keys(L, t, "backoff", bkeys);
      lua_getfield(L, t, "initial_ms");
      lua_getfield(L, t, "multiplier");
      lua_getfield(L, t, "jitter");
      lua_getfield(L, t, "max_ms");
      int64_t initial = lua_isnil(L, t + 1) ? 1000 : lg_checkint(L, t + 1, "backoff.initial_ms");
      double mult = lua_isnil(L, t + 2) ? 1.6 : luaL_checknumber(L, t + 2);
      double jitter = lua_isnil(L, t + 3) ? 0.2 : luaL_checknumber(L, t + 3);
      int64_t max = lua_isnil(L, t + 4) ? 120000 : lg_checkint(L, t + 4, "backoff.max_ms");
      rc = cgrpc_channel_options_set_backoff(o, initial, mult, jitter, max);
      if (rc) lg_raise_rc(L, rc, "backoff");
      lua_settop(L, t);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, 2, "tls") != LUA_TNIL &&
        !(lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))) {
      int t = lua_gettop(L);
      cgrpc_tls_options *to = lg_tls_options(L, t, 0); /* box at t+1 */
      lg_box *cb = lg_box_new(L, lg_free_creds);
      cgrpc_credentials *creds = NULL;
      rc = cgrpc_credentials_create_tls_client(&creds, to);
      if (rc) return lg_fail(L, rc, "TLS credentials");
      cb->p = creds;
      rc = cgrpc_channel_options_set_credentials(o, creds);
      if (rc) lg_raise_rc(L, rc, "TLS credentials");
      lua_settop(L, t);
    }
    lua_pop(L, 1);
  }
  lgrpc_channel *c = calloc(1, sizeof *c);
  char *tcopy = lg_strdup(target);
  if (!c || !tcopy) {
    free(c);
    free(tcopy);
    return luaL_error(L, "cgrpc: out of memory");
  }
  rc = cgrpc_channel_create(&c->ch, target, o);
  if (rc) {
    free(c);
    free(tcopy);
    return lg_fail(L, rc, "creating the channel");
  }
  atomic_init(&c->refs, 1);
  pthread_rwlock_init(&c->lock, NULL);
  c->target = tcopy;
  c->timeout_ms = dflt_timeout;
  c->wait_for_ready = dflt_wfr;
  atomic_fetch_add(&lg_live_channels, 1);
  lg_box_release(ob);
  lgrpc_push_channel(L, c);
  return 1;
}

/* channel_stub(channel, service) -> stub (SWIG, not owned: the Lua layer
 * destroys it) */
static int l_channel_stub(lua_State *L) {
  lgrpc_channel *c = lg_check_channel(L, 1);
  const char *service = lg_checkstr(L, 2, "service name", NULL);
  cgrpc_channel *ch = lg_channel_acquire(c);
  if (!ch) return luaL_error(L, "cgrpc: the channel is closed");
  cgrpc_stub *stub = NULL;
  int rc = cgrpc_stub_create(&stub, ch, service);
  lg_channel_release(c);
  if (rc == CGRPC_E_INVALID_ARG)
    return luaL_error(L, "cgrpc: invalid service name '%s' (want 'package.Service')",
                      service);
  if (rc) return lg_raise_rc(L, rc, "creating a stub");
  lgrpc_push_stub(L, stub);
  return 1;
}

static int l_channel_close(lua_State *L) {
  lg_channel_close(lg_check_channel(L, 1));
  return 0;
}

static int l_channel_closed(lua_State *L) {
  lgrpc_channel *c = lg_check_channel(L, 1);
  cgrpc_channel *ch = lg_channel_acquire(c);
  if (ch) lg_channel_release(c);
  lua_pushboolean(L, ch == NULL);
  return 1;
}

/* channel_state(channel, try_to_connect) -> integer state */
static int l_channel_state(lua_State *L) {
  lgrpc_channel *c = lg_check_channel(L, 1);
  int try_connect = lua_toboolean(L, 2);
  cgrpc_channel *ch = lg_channel_acquire(c);
  if (!ch) {
    lua_pushinteger(L, CGRPC_CHANNEL_SHUTDOWN);
    return 1;
  }
  cgrpc_connectivity_state st = cgrpc_channel_state(ch, try_connect);
  lg_channel_release(c);
  lua_pushinteger(L, (lua_Integer)st);
  return 1;
}

/* channel_wait_state(channel, last_seen, timeout_ms) -> changed (bool).
 * Waits in slices so that a close from another state is not held up. */
static int l_channel_wait_state(lua_State *L) {
  lgrpc_channel *c = lg_check_channel(L, 1);
  int last = (int)lg_checkint(L, 2, "last_seen");
  int64_t timeout = lg_checkint(L, 3, "timeout_ms");
  int64_t end = timeout < 0 ? INT64_MAX : lg_now_ms() + timeout;
  for (;;) {
    int64_t left = end == INT64_MAX ? 100 : end - lg_now_ms();
    if (left < 0) left = 0;
    int64_t slice = left < 100 ? left : 100;
    cgrpc_channel *ch = lg_channel_acquire(c);
    if (!ch) {
      lua_pushboolean(L, last != CGRPC_CHANNEL_SHUTDOWN);
      return 1;
    }
    int rc = cgrpc_channel_wait_for_state_change(
        ch, (cgrpc_connectivity_state)last, slice);
    lg_channel_release(c);
    if (rc == CGRPC_OK) {
      lua_pushboolean(L, 1);
      return 1;
    }
    if (rc != CGRPC_E_TIMEOUT) return lg_raise_rc(L, rc, "waiting for state");
    if (left <= slice) break;
  }
  lua_pushboolean(L, 0);
  return 1;
}

static int l_channel_reset_backoff(lua_State *L) {
  lgrpc_channel *c = lg_check_channel(L, 1);
  cgrpc_channel *ch = lg_channel_acquire(c);
  if (ch) {
    cgrpc_channel_reset_backoff(ch);
    lg_channel_release(c);
  }
  return 0;
}

static int l_channel_target(lua_State *L) {
  lua_pushstring(L, lg_check_channel(L, 1)->target);
  return 1;
}

/* channel_defaults(channel) -> timeout_ms|nil, wait_for_ready|nil */
static int l_channel_defaults(lua_State *L) {
  lgrpc_channel *c = lg_check_channel(L, 1);
  if (c->timeout_ms >= 0) lua_pushinteger(L, (lua_Integer)c->timeout_ms);
  else lua_pushnil(L);
  if (c->wait_for_ready >= 0) lua_pushboolean(L, c->wait_for_ready);
  else lua_pushnil(L);
  return 2;
}

/* channel_refs(channel) -> current reference count (for tests) */
static int l_channel_refs(lua_State *L) {
  lua_pushinteger(L, atomic_load(&lg_check_channel(L, 1)->refs));
  return 1;
}

/* is_channel(v) -> true if v is a shared channel userdata */
static int l_is_channel(lua_State *L) {
  lua_pushboolean(L, lgrpc_to_channel(L, 1) != NULL);
  return 1;
}

/* live_channels() -> number of shared channels not yet freed (for tests) */
static int l_live_channels(lua_State *L) {
  lua_pushinteger(L, atomic_load(&lg_live_channels));
  return 1;
}

/* ------------------------------------------------------------------ */
/* Client calls                                                         */
/* ------------------------------------------------------------------ */

/* Builds call options from the table at idx into a box on the stack. */
static cgrpc_call_options *lg_call_options(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_error(L, "cgrpc: call options must be a table, got %s",
               luaL_typename(L, idx));
  static const char *const keys[] = {"timeout_ms", "metadata", "wait_for_ready",
                                     NULL};
  lg_check_keys(L, idx, "call options", keys);
  lg_box *b = lg_box_new(L, lg_free_call_opts);
  cgrpc_call_options *o = NULL;
  int rc = cgrpc_call_options_create(&o);
  if (rc) lg_raise_rc(L, rc, "call options");
  b->p = o;
  if (lua_getfield(L, idx, "timeout_ms") != LUA_TNIL)
    cgrpc_call_options_set_timeout(o, lg_checkint(L, -1, "timeout_ms"));
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "wait_for_ready") != LUA_TNIL)
    cgrpc_call_options_set_wait_for_ready(o, lua_toboolean(L, -1));
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "metadata") != LUA_TNIL)
    lg_md_from_table(L, -1, lg_md_add_call_opts, o);
  lua_pop(L, 1);
  return o;
}

static int lg_start_failed(lua_State *L, int rc, const char *method) {
  if (rc == CGRPC_E_CLOSED) return luaL_error(L, "cgrpc: the channel is closed");
  if (rc == CGRPC_E_INVALID_ARG)
    return luaL_error(L, "cgrpc: invalid method name '%s'", method);
  return lg_raise_rc(L, rc, "starting a call");
}

/* The resources of one unary call, freed if a Lua error unwinds. */
typedef struct {
  cgrpc_call *call;
  cgrpc_buffer *reply;
  cgrpc_buffer *extra;
} lg_unary_res;

static void lg_unary_res_free(void *p) {
  lg_unary_res *r = p;
  cgrpc_buffer_free(r->reply);
  cgrpc_buffer_free(r->extra);
  cgrpc_call_destroy(r->call);
  free(r);
}

/* Pushes {code=, message=, metadata=trailers, initial_metadata=} */
static void lg_push_status(lua_State *L, int code, const char *message,
                           const cgrpc_metadata *trailers,
                           const cgrpc_metadata *initial) {
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, code);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, cgrpc_status_name(code));
  lua_setfield(L, -2, "name");
  lua_pushstring(L, message ? message : "");
  lua_setfield(L, -2, "message");
  lg_push_md(L, trailers);
  lua_setfield(L, -2, "metadata");
  lg_push_md(L, initial);
  lua_setfield(L, -2, "initial_metadata");
}

/* unary(stub, method, request, opts|nil) -> reply|nil, status_table */
static int l_unary(lua_State *L) {
  cgrpc_stub *stub = lgrpc_check_stub(L, 1);
  const char *method = lg_checkstr(L, 2, "method name", NULL);
  size_t len;
  const char *req = lg_checkstr(L, 3, "request", &len);
  lua_settop(L, 4);
  cgrpc_call_options *opts = lua_isnil(L, 4) ? NULL : lg_call_options(L, 4);
  lg_box *b = lg_box_new(L, lg_unary_res_free);
  lg_unary_res *r = calloc(1, sizeof *r);
  if (!r) return luaL_error(L, "cgrpc: out of memory");
  b->p = r;
  int rc = cgrpc_stub_call_start(&r->call, stub, method, opts);
  if (rc) return lg_start_failed(L, rc, method);
  cgrpc_call *c = r->call;
  int code;
  const char *msg = NULL;
  rc = cgrpc_call_send(c, req, len, CGRPC_SEND_LAST);
  if (rc == CGRPC_E_TOO_LARGE) {
    cgrpc_call_cancel(c);
    code = CGRPC_STATUS_RESOURCE_EXHAUSTED;
    msg = "request larger than the channel's max_send_message_size";
    lua_pushnil(L);
    lg_push_status(L, code, msg, NULL, NULL);
    lg_box_release(b);
    return 2;
  }
  /* Any other send failure means the call ended: its status says why. */
  int r1 = cgrpc_call_recv(c, &r->reply);
  if (r1 == CGRPC_OK) cgrpc_call_recv(c, &r->extra);
  const cgrpc_metadata *trailers = NULL, *initial = NULL;
  cgrpc_call_status(c, &code, &msg, &trailers);
  cgrpc_call_initial_metadata(c, &initial);
  if (code == CGRPC_STATUS_OK && (!r->reply || r->extra)) {
    code = CGRPC_STATUS_INTERNAL;
    msg = r->reply ? "server sent more than one response message"
                   : "server sent no response message";
  }
  if (code == CGRPC_STATUS_OK)
    lua_pushlstring(L, (const char *)cgrpc_buffer_data(r->reply),
                    cgrpc_buffer_len(r->reply));
  else
    lua_pushnil(L);
  lg_push_status(L, code, msg, trailers, initial);
  lg_box_release(b);
  return 2;
}

/* call_start(stub, method, opts|nil) -> call (SWIG, owned by the Lua layer) */
static int l_call_start(lua_State *L) {
  cgrpc_stub *stub = lgrpc_check_stub(L, 1);
  const char *method = lg_checkstr(L, 2, "method name", NULL);
  lua_settop(L, 3);
  cgrpc_call_options *opts = lua_isnil(L, 3) ? NULL : lg_call_options(L, 3);
  cgrpc_call *call = NULL;
  int rc = cgrpc_stub_call_start(&call, stub, method, opts);
  if (rc) return lg_start_failed(L, rc, method);
  lgrpc_push_call(L, call);
  return 1;
}

/* call_destroy(call): drops any notify registration first, then destroys
 * (cancels a running call). */
static int l_call_destroy(lua_State *L) {
  cgrpc_call *c = lgrpc_check_call(L, 1);
  cgrpc_call_set_notify(c, NULL, NULL, NULL);
  cgrpc_call_destroy(c);
  return 0;
}

/* call_status(call) -> status table (blocks until the call has ended) */
static int l_call_status(lua_State *L) {
  cgrpc_call *c = lgrpc_check_call(L, 1);
  int code = CGRPC_STATUS_UNKNOWN;
  const char *msg = NULL;
  const cgrpc_metadata *trailers = NULL, *initial = NULL;
  int rc = cgrpc_call_status(c, &code, &msg, &trailers);
  if (rc) return lg_raise_rc(L, rc, "call status");
  cgrpc_call_initial_metadata(c, &initial);
  lg_push_status(L, code, msg, trailers, initial);
  return 1;
}

/* call_initial_metadata(call) -> table (client: blocks for the headers) */
static int l_call_initial_metadata(lua_State *L) {
  cgrpc_call *c = lgrpc_check_call(L, 1);
  const cgrpc_metadata *md = NULL;
  int rc = cgrpc_call_initial_metadata(c, &md);
  if (rc) return lg_raise_rc(L, rc, "initial metadata");
  lg_push_md(L, md);
  return 1;
}

/* call_auth_context(call) -> table */
static int l_call_auth_context(lua_State *L) {
  cgrpc_call *c = lgrpc_check_call(L, 1);
  const cgrpc_metadata *md = NULL;
  int rc = cgrpc_call_auth_context(c, &md);
  if (rc) return lg_raise_rc(L, rc, "auth context");
  lg_push_md(L, md);
  return 1;
}

/* call_wait(call, mask, timeout_ms) -> ready mask (0 on timeout) */
static int l_call_wait(lua_State *L) {
  cgrpc_call *c = lgrpc_check_call(L, 1);
  unsigned mask = (unsigned)lg_checkint(L, 2, "events");
  int64_t timeout = lg_checkint(L, 3, "timeout_ms");
  unsigned ready = 0;
  int rc = cgrpc_call_wait(c, mask, timeout, &ready);
  if (rc && rc != CGRPC_E_TIMEOUT) return lg_raise_rc(L, rc, "wait");
  lua_pushinteger(L, (lua_Integer)ready);
  return 1;
}

/* call_time_remaining(call) -> ms (integer) or -1 */
static int l_call_time_remaining(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)cgrpc_call_time_remaining(lgrpc_check_call(L, 1)));
  return 1;
}

/* Server side: call_finish(call, code, message|nil, trailers|nil) -> rc */
static int l_call_finish(lua_State *L) {
  cgrpc_call *c = lgrpc_check_call(L, 1);
  int code = (int)lg_checkint(L, 2, "status code");
  const char *msg = lua_isnoneornil(L, 3) ? NULL : lg_checkstr(L, 3, "status message", NULL);
  lua_settop(L, 4);
  cgrpc_metadata *md = NULL;
  if (!lua_isnil(L, 4)) {
    lg_box *b = lg_box_new(L, lg_free_md);
    int rc = cgrpc_metadata_create(&md);
    if (rc) return lg_raise_rc(L, rc, "metadata");
    b->p = md;
    lg_md_from_table(L, 4, lg_md_add_md, md);
  }
  lua_pushinteger(L, cgrpc_call_finish(c, code, msg, md));
  return 1;
}

/* Server side: call_send_initial_metadata(call, md|nil) -> rc */
static int l_call_send_initial_metadata(lua_State *L) {
  cgrpc_call *c = lgrpc_check_call(L, 1);
  lua_settop(L, 2);
  cgrpc_metadata *md = NULL;
  if (!lua_isnil(L, 2)) {
    lg_box *b = lg_box_new(L, lg_free_md);
    int rc = cgrpc_metadata_create(&md);
    if (rc) return lg_raise_rc(L, rc, "metadata");
    b->p = md;
    lg_md_from_table(L, 2, lg_md_add_md, md);
  }
  lua_pushinteger(L, cgrpc_call_send_initial_metadata(c, md));
  return 1;
}

/* ------------------------------------------------------------------ */
/* Values crossing lua_States (thread arguments and results)             */
/* ------------------------------------------------------------------ */

enum { LV_NIL, LV_FALSE, LV_TRUE, LV_INT, LV_NUM, LV_STR, LV_TABLE, LV_CHANNEL, LV_POOL };

typedef struct lg_value {
  int t;
  size_t n; /* string length, or number of key/value pairs */
  union {
    lua_Integer i;
    lua_Number d;
    char *s;
    struct lg_value *kv; /* 2n values: k0, v0, k1, v1, ... */
    lgrpc_channel *ch;
    lpb_pool *pool;
  } u;
} lg_value;

#define LV_MAX_DEPTH 32

static void lv_clear(lg_value *v) {
  if (v->t == LV_STR) {
    free(v->u.s);
  } else if (v->t == LV_TABLE) {
    for (size_t i = 0; i < 2 * v->n; i++) lv_clear(&v->u.kv[i]);
    free(v->u.kv);
  } else if (v->t == LV_CHANNEL) {
    lgrpc_channel_unref(v->u.ch);
  } else if (v->t == LV_POOL) {
    lpb_pool_unref(v->u.pool);
  }
  v->t = LV_NIL;
}

static void lv_free_array(lg_value *a, int n) {
  if (!a) return;
  for (int i = 0; i < n; i++) lv_clear(&a[i]);
  free(a);
}

/* Copies the value at idx out of L.  Returns 0, or -1 with err set.  Never
 * raises (except for stack overflow, checked up front by the caller). */
static int lv_from(lua_State *L, int idx, lg_value *out, int depth, char *err,
                   size_t errlen) {
  idx = lua_absindex(L, idx);
  out->t = LV_NIL;
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      return 0;
    case LUA_TBOOLEAN:
      out->t = lua_toboolean(L, idx) ? LV_TRUE : LV_FALSE;
      return 0;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        out->t = LV_INT;
        out->u.i = lua_tointeger(L, idx);
      } else {
        out->t = LV_NUM;
        out->u.d = lua_tonumber(L, idx);
      }
      return 0;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      out->u.s = lg_strndup(s, len);
      if (!out->u.s) goto nomem;
      out->t = LV_STR;
      out->n = len;
      return 0;
    }
    case LUA_TTABLE: {
      if (depth >= LV_MAX_DEPTH) {
        snprintf(err, errlen, "a table nested too deeply (or a cycle)");
        return -1;
      }
      if (!lua_checkstack(L, 4)) goto nomem;
      size_t n = 0;
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        n++;
        lua_pop(L, 1);
      }
      lg_value *kv = calloc(2 * n + 1, sizeof *kv);
      if (!kv) goto nomem;
      out->t = LV_TABLE;
      out->u.kv = kv;
      out->n = 0;
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        if (out->n == n ||
            lv_from(L, -2, &kv[2 * out->n], depth + 1, err, errlen) ||
            lv_from(L, -1, &kv[2 * out->n + 1], depth + 1, err, errlen)) {
          if (out->n < n) {
            lv_clear(&kv[2 * out->n]);
            lv_clear(&kv[2 * out->n + 1]);
          }
          lua_pop(L, 2);
          lv_clear(out);
          return -1;
        }
        out->n++;
        lua_pop(L, 1);
      }
      return 0;
    }
    case LUA_TUSERDATA: {
      lgrpc_channel *c = lgrpc_to_channel(L, idx);
      if (c) {
        lgrpc_channel_ref(c);
        out->t = LV_CHANNEL;
        out->u.ch = c;
        return 0;
      }
      lpb_pool *p = lpb_to_pool(L, idx);
      if (p) {
        lpb_pool_ref(p);
        out->t = LV_POOL;
        out->u.pool = p;
        return 0;
      }
    }
    /* fall through */
    default:
      snprintf(err, errlen, "a %s cannot be passed to another Lua state",
               luaL_typename(L, idx));
      return -1;
  }
nomem:
  snprintf(err, errlen, "out of memory");
  return -1;
}

/* Pushes a copy of v (channels get a new reference). */
static void lv_push(lua_State *L, const lg_value *v) {
  luaL_checkstack(L, 4, NULL);
  switch (v->t) {
    case LV_NIL: lua_pushnil(L); break;
    case LV_FALSE: lua_pushboolean(L, 0); break;
    case LV_TRUE: lua_pushboolean(L, 1); break;
    case LV_INT: lua_pushinteger(L, v->u.i); break;
    case LV_NUM: lua_pushnumber(L, v->u.d); break;
    case LV_STR: lua_pushlstring(L, v->u.s, v->n); break;
    case LV_TABLE:
      lua_createtable(L, 0, (int)v->n);
      for (size_t i = 0; i < v->n; i++) {
        lv_push(L, &v->u.kv[2 * i]);
        lv_push(L, &v->u.kv[2 * i + 1]);
        if (lua_isnil(L, -2)) lua_pop(L, 2);
        else lua_rawset(L, -3);
      }
      break;
    case LV_CHANNEL:
      lgrpc_channel_ref(v->u.ch);
      lgrpc_push_channel(L, v->u.ch);
      break;
    case LV_POOL:
      lpb_push_pool(L, v->u.pool);
      break;
  }
}

/* Copies values [first, first+n) of L; raises a Lua error on failure. */
static lg_value *lv_from_stack(lua_State *L, int first, int n, const char *what) {
  lg_value *a = calloc((size_t)n + 1, sizeof *a);
  if (!a) luaL_error(L, "cgrpc: out of memory");
  char err[200];
  for (int i = 0; i < n; i++) {
    if (lv_from(L, first + i, &a[i], 0, err, sizeof err)) {
      lv_free_array(a, i);
      luaL_error(L, "cgrpc: %s #%d: %s", what, i + 1, err);
    }
  }
  return a;
}

/* ------------------------------------------------------------------ */
/* OS threads, each with its own lua_State                               */
/* ------------------------------------------------------------------ */

typedef struct lg_thread {
  atomic_int refs;  /* the Lua handle + the running thread */
  atomic_int done;
  pthread_t tid;
  int joined;       /* touched by the owning state only */
  int detached;
  char *chunk;
  size_t chunklen;
  char *name, *path, *cpath;
  lg_value *args;
  int nargs;
  lg_value *res;    /* written by the thread before done */
  int nres;
  char *err;        /* NULL on success */
} lg_thread;

static void lg_thread_unref(lg_thread *t) {
  if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1) return;
  free(t->chunk);
  free(t->name);
  free(t->path);
  free(t->cpath);
  lv_free_array(t->args, t->nargs);
  lv_free_array(t->res, t->nres);
  free(t->err);
  free(t);
}

static void lg_set_package_paths(lua_State *L, const char *path,
                                 const char *cpath) {
  lua_getglobal(L, "package");
  if (path) {
    lua_pushstring(L, path);
    lua_setfield(L, -2, "path");
  }
  if (cpath) {
    lua_pushstring(L, cpath);
    lua_setfield(L, -2, "cpath");
  }
  lua_pop(L, 1);
}

/* Requires "cgrpc" and pushes the module table. */
static void lg_require_cgrpc(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushstring(L, "cgrpc");
  lua_call(L, 1, 1);
}

static int lg_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Runs in the thread's new state, protected. */
static int lg_thread_boot(lua_State *L) {
  lg_thread *t = lua_touserdata(L, 1);
  luaL_openlibs(L);
  lg_set_package_paths(L, t->path, t->cpath);
  lua_pushcfunction(L, lg_traceback);
  int base = lua_gettop(L); /* the message handler */
  lg_require_cgrpc(L);
  lua_getfield(L, -1, "_thread_main");
  lua_remove(L, -2);
  lua_pushlstring(L, t->chunk, t->chunklen);
  lua_pushstring(L, t->name);
  luaL_checkstack(L, t->nargs + 4, "too many thread arguments");
  for (int i = 0; i < t->nargs; i++) lv_push(L, &t->args[i]);
  lv_free_array(t->args, t->nargs);
  t->args = NULL;
  t->nargs = 0;
  if (lua_pcall(L, lua_gettop(L) - base - 1, LUA_MULTRET, base) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    t->err = lg_strdup(msg ? msg : "error in thread");
    return 0;
  }
  int n = lua_gettop(L) - base;
  lg_value *res = calloc((size_t)n + 1, sizeof *res);
  char err[200];
  if (!res) {
    t->err = lg_strdup("out of memory copying the thread's results");
    return 0;
  }
  for (int i = 0; i < n; i++) {
    if (lv_from(L, base + 1 + i, &res[i], 0, err, sizeof err)) {
      lv_free_array(res, i);
      char buf[300];
      snprintf(buf, sizeof buf, "thread result #%d: %s", i + 1, err);
      t->err = lg_strdup(buf);
      return 0;
    }
  }
  t->res = res;
  t->nres = n;
  return 0;
}

static void *lg_thread_main(void *arg) {
  lg_thread *t = arg;
  lua_State *L = luaL_newstate();
  if (!L) {
    t->err = lg_strdup("cannot create a Lua state");
  } else {
    lua_pushcfunction(L, lg_thread_boot);
    lua_pushlightuserdata(L, t);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK && !t->err) {
      const char *msg = lua_tostring(L, -1);
      t->err = lg_strdup(msg ? msg : "error starting the thread");
    }
    lua_close(L); /* drops this state's channel references */
  }
  atomic_store(&t->done, 1);
  lg_thread_unref(t);
  return NULL;
}

typedef struct {
  lg_thread *t;
} lg_thread_ud;

static int l_thread_gc(lua_State *L) {
  lg_thread_ud *u = luaL_checkudata(L, 1, "cgrpc.thread");
  if (u->t) {
    if (!u->t->joined && !u->t->detached) pthread_detach(u->t->tid);
    lg_thread_unref(u->t);
    u->t = NULL;
  }
  return 0;
}

/* thread_start(chunk, chunkname, path, cpath, ...) -> thread */
static int l_thread_start(lua_State *L) {
  size_t clen;
  const char *chunk = lg_checkstr(L, 1, "thread chunk", &clen);
  const char *name = luaL_optstring(L, 2, "=thread");
  const char *path = luaL_optstring(L, 3, NULL);
  const char *cpath = luaL_optstring(L, 4, NULL);
  int nargs = lua_gettop(L) - 4;
  if (nargs < 0) nargs = 0;
  lg_value *args = lv_from_stack(L, 5, nargs, "thread argument");
  lg_thread_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->t = NULL;
  luaL_setmetatable(L, "cgrpc.thread");
  lg_thread *t = calloc(1, sizeof *t);
  if (t) {
    t->chunk = lg_strndup(chunk, clen);
    t->chunklen = clen;
    t->name = lg_strdup(name);
    t->path = path ? lg_strdup(path) : NULL;
    t->cpath = cpath ? lg_strdup(cpath) : NULL;
  }
  if (!t || !t->chunk || !t->name || (path && !t->path) || (cpath && !t->cpath)) {
    lv_free_array(args, nargs);
    if (t) {
      atomic_init(&t->refs, 1);
      lg_thread_unref(t);
    }
    return luaL_error(L, "cgrpc: out of memory");
  }
  t->args = args;
  t->nargs = nargs;
  atomic_init(&t->refs, 2);
  atomic_init(&t->done, 0);
  int err = pthread_create(&t->tid, NULL, lg_thread_main, t);
  if (err) {
    atomic_store(&t->refs, 1);
    lg_thread_unref(t);
    return luaL_error(L, "cgrpc: cannot start a thread: %s", strerror(err));
  }
  u->t = t;
  return 1;
}

/* thread_join(thread) -> true, results... | false, message */
static int l_thread_join(lua_State *L) {
  lg_thread_ud *u = luaL_checkudata(L, 1, "cgrpc.thread");
  lg_thread *t = u->t;
  if (!t) return luaL_error(L, "cgrpc: the thread handle was released");
  if (t->joined) return luaL_error(L, "cgrpc: the thread was already joined");
  pthread_join(t->tid, NULL);
  t->joined = 1;
  if (t->err) {
    lua_pushboolean(L, 0);
    lua_pushstring(L, t->err);
    return 2;
  }
  luaL_checkstack(L, t->nres + 2, "too many thread results");
  lua_pushboolean(L, 1);
  for (int i = 0; i < t->nres; i++) lv_push(L, &t->res[i]);
  int n = t->nres;
  lv_free_array(t->res, t->nres);
  t->res = NULL;
  t->nres = 0;
  return n + 1;
}

/* thread_done(thread) -> true once the chunk has returned (join won't block) */
static int l_thread_done(lua_State *L) {
  lg_thread_ud *u = luaL_checkudata(L, 1, "cgrpc.thread");
  lua_pushboolean(L, u->t && atomic_load(&u->t->done));
  return 1;
}

/* ------------------------------------------------------------------ */
/* Poller: many calls, one pollable fd                                  */
/* ------------------------------------------------------------------ */

typedef struct lg_poller lg_poller;

typedef struct lg_reg {
  atomic_int refs;   /* the notify registration + each place in the queue */
  lg_poller *p;
  lua_Integer id;
  cgrpc_call *call;
  unsigned mask;
  int queued;        /* under p->mu */
  int dead;          /* under p->mu: the registration was dropped */
} lg_reg;

struct lg_poller {
  atomic_int refs;   /* the Lua handle + each live registration */
  pthread_mutex_t mu;
  int efd;
  lg_reg **q;
  size_t nq, capq;
  int closed;        /* under mu: the Lua handle is gone, queue nothing */
};

static void lg_poller_unref(lg_poller *p) {
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1) return;
  /* Queued registrations hold references, so the queue is empty here. */
  free(p->q);
  close(p->efd);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static void lg_reg_unref(lg_reg *r) {
  if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1) return;
  lg_poller_unref(r->p);
  free(r);
}

/* cgrpc notify callback: any thread, call lock held; no cgrpc calls. */
static void lg_reg_notify(cgrpc_call *call, void *ud) {
  (void)call;
  lg_reg *r = ud;
  lg_poller *p = r->p;
  pthread_mutex_lock(&p->mu);
  if (!r->queued && !r->dead && !p->closed) {
    if (p->nq == p->capq) {
      size_t cap = p->capq ? p->capq * 2 : 64;
      lg_reg **q = realloc(p->q, cap * sizeof *q);
      if (!q) { /* the wait's own re-check is the fallback */
        pthread_mutex_unlock(&p->mu);
        return;
      }
      p->q = q;
      p->capq = cap;
    }
    r->queued = 1;
    atomic_fetch_add(&r->refs, 1);
    p->q[p->nq++] = r;
    if (p->nq == 1) {
      uint64_t one = 1;
      ssize_t w = write(p->efd, &one, sizeof one);
      (void)w;
    }
  }
  pthread_mutex_unlock(&p->mu);
}

static void lg_reg_destroy(void *ud) {
  lg_reg *r = ud;
  pthread_mutex_lock(&r->p->mu);
  r->dead = 1;
  pthread_mutex_unlock(&r->p->mu);
  lg_reg_unref(r);
}

typedef struct {
  lg_poller *p;
} lg_poller_ud;

static lg_poller *lg_check_poller(lua_State *L, int idx) {
  lg_poller_ud *u = luaL_checkudata(L, idx, "cgrpc.poller");
  if (!u->p) luaL_error(L, "cgrpc: the poller is closed");
  return u->p;
}

static int l_poller_gc(lua_State *L) {
  lg_poller_ud *u = luaL_checkudata(L, 1, "cgrpc.poller");
  lg_poller *p = u->p;
  if (!p) return 0;
  u->p = NULL;
  /* Queued registrations hold references that only a wait would drop:
   * drop them now, and queue nothing more (registrations of calls still
   * alive keep the poller's memory until those calls go). */
  pthread_mutex_lock(&p->mu);
  p->closed = 1;
  lg_reg **q = p->q;
  size_t n = p->nq;
  p->q = NULL;
  p->nq = p->capq = 0;
  for (size_t i = 0; i < n; i++) q[i]->queued = 0;
  pthread_mutex_unlock(&p->mu);
  for (size_t i = 0; i < n; i++) lg_reg_unref(q[i]);
  free(q);
  lg_poller_unref(p);
  return 0;
}

/* poller_new() -> poller */
static int l_poller_new(lua_State *L) {
  lg_poller_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->p = NULL;
  luaL_setmetatable(L, "cgrpc.poller");
  lg_poller *p = calloc(1, sizeof *p);
  if (!p) return luaL_error(L, "cgrpc: out of memory");
  p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p->efd < 0) {
    free(p);
    return luaL_error(L, "cgrpc: eventfd: %s", strerror(errno));
  }
  atomic_init(&p->refs, 1);
  pthread_mutex_init(&p->mu, NULL);
  u->p = p;
  return 1;
}

static int l_poller_fd(lua_State *L) {
  lua_pushinteger(L, lg_check_poller(L, 1)->efd);
  return 1;
}

/* poller_add(poller, call, id, mask) */
static int l_poller_add(lua_State *L) {
  lg_poller *p = lg_check_poller(L, 1);
  cgrpc_call *c = lgrpc_check_call(L, 2);
  lua_Integer id = lg_checkint(L, 3, "id");
  unsigned mask = (unsigned)lg_checkint(L, 4, "events");
  lg_reg *r = calloc(1, sizeof *r);
  if (!r) return luaL_error(L, "cgrpc: out of memory");
  atomic_init(&r->refs, 1);
  r->p = p;
  r->id = id;
  r->call = c;
  r->mask = mask;
  atomic_fetch_add(&p->refs, 1);
  int rc = cgrpc_call_set_notify(c, lg_reg_notify, r, lg_reg_destroy);
  if (rc) {
    lg_reg_unref(r);
    return lg_raise_rc(L, rc, "poller add");
  }
  return 0;
}

/* poller_remove(call) */
static int l_poller_remove(lua_State *L) {
  cgrpc_call_set_notify(lgrpc_check_call(L, 1), NULL, NULL, NULL);
  return 0;
}

/* poller_wait(poller, timeout_ms) -> { id, ... } of calls with a ready
 * event.  Those calls are not re-reported until notified again (the Lua
 * layer removes them: one-shot). */
static int l_poller_wait(lua_State *L) {
  lg_poller *p = lg_check_poller(L, 1);
  int64_t timeout = lg_checkint(L, 2, "timeout_ms");
  int64_t end = timeout < 0 ? INT64_MAX : lg_now_ms() + timeout;
  lua_newtable(L);
  lua_Integer nout = 0;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    int empty = p->nq == 0;
    pthread_mutex_unlock(&p->mu);
    if (empty) {
      int64_t left = end == INT64_MAX ? -1 : end - lg_now_ms();
      if (left < 0 && end != INT64_MAX) left = 0;
      if (left != 0) {
        struct pollfd pfd = {p->efd, POLLIN, 0};
        int ms = left < 0 || left > 1000 ? 1000 : (int)left; /* slices */
        poll(&pfd, 1, ms);
      }
    }
    pthread_mutex_lock(&p->mu);
    lg_reg **q = p->q;
    size_t n = p->nq;
    p->q = NULL;
    p->nq = p->capq = 0;
    uint64_t v;
    ssize_t rd = read(p->efd, &v, sizeof v);
    (void)rd;
    for (size_t i = 0; i < n; i++) q[i]->queued = 0;
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < n; i++) {
      lg_reg *r = q[i];
      pthread_mutex_lock(&p->mu);
      int dead = r->dead;
      pthread_mutex_unlock(&p->mu);
      unsigned ready = 0;
      if (!dead) cgrpc_call_wait(r->call, r->mask, 0, &ready);
      if (ready) {
        lua_pushinteger(L, r->id);
        lua_rawseti(L, -2, ++nout);
      }
      lg_reg_unref(r);
    }
    free(q);
    if (nout > 0 || (end != INT64_MAX && lg_now_ms() >= end)) break;
  }
  return 1;
}

/* ------------------------------------------------------------------ */
/* Server: handlers run in a pool of worker lua_States                   */
/* ------------------------------------------------------------------ */

typedef struct {
  size_t used, limit; /* limit 0: none */
  int oom;            /* an allocation was refused */
} lg_alloc_state;

static void *lg_limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  lg_alloc_state *a = ud;
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    free(ptr);
    a->used -= old;
    return NULL;
  }
  if (nsize > old && a->limit && a->used + (nsize - old) > a->limit) {
    a->oom = 1;
    return NULL;
  }
  void *np = realloc(ptr, nsize);
  if (!np) {
    a->oom = 1;
    return NULL;
  }
  a->used = a->used - old + nsize;
  return np;
}

enum { SRC_MODULE = 0, SRC_FILE = 1, SRC_CHUNK = 2 };

typedef struct {
  char *name;
  int kind;
  char *src;
  size_t srclen;
  lpb_pool *pool; /* dynamic (table) services: one reference; else NULL */
} lg_service;

typedef struct lg_server lg_server;

typedef struct lg_worker {
  lua_State *L;
  lg_alloc_state alloc;
  int serve_ref;
  cgrpc_call *call; /* the RPC being served, for the cancel hook */
  lg_server *s;
  struct lg_worker *next;
} lg_worker;

struct lg_server {
  cgrpc_server *srv;
  pthread_mutex_t mu;
  lg_worker *idle;
  int nworkers;      /* alive, idle or busy (under mu) */
  lg_service *svcs;
  int nsvcs;
  char *path, *cpath;
  size_t mem_limit;
  int started;
  int nlisteners;
};

typedef struct {
  lg_server *s;
  char *service;
  char *method;
} lg_method;

static int lg_worker_boot(lua_State *L) {
  lg_worker *w = lua_touserdata(L, 1);
  lg_server *s = w->s;
  int nsvcs = (int)lua_tointeger(L, 2);
  luaL_openlibs(L);
  lg_set_package_paths(L, s->path, s->cpath);
  lg_require_cgrpc(L);
  int m = lua_gettop(L);
  for (int i = 0; i < nsvcs; i++) {
    lua_getfield(L, m, "_load_service");
    lua_pushstring(L, s->svcs[i].name);
    lua_pushinteger(L, s->svcs[i].kind);
    lua_pushlstring(L, s->svcs[i].src, s->svcs[i].srclen);
    if (s->svcs[i].pool) {
      lpb_push_pool(L, s->svcs[i].pool);
    } else {
      lua_pushnil(L);
    }
    lua_call(L, 4, 0);
  }
  lua_getfield(L, m, "_serve");
  w->serve_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static void lg_worker_free(lg_worker *w) {
  if (!w) return;
  if (w->L) lua_close(w->L);
  free(w);
}

static int lg_worker_panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "cgrpc: unprotected Lua error in a server worker: %s\n",
          msg ? msg : "?");
  abort();
}

/* A new worker state with the first nsvcs services loaded; NULL with err
 * set (and *oom if it was memory). */
static lg_worker *lg_worker_new(lg_server *s, int nsvcs, char *err,
                                size_t errlen, int *oom) {
  *oom = 0;
  lg_worker *w = calloc(1, sizeof *w);
  if (!w) {
    snprintf(err, errlen, "out of memory");
    *oom = 1;
    return NULL;
  }
  w->s = s;
  w->alloc.limit = s->mem_limit;
  w->L = lua_newstate(lg_limited_alloc, &w->alloc);
  if (!w->L) {
    snprintf(err, errlen, "cannot create a Lua state (memory limit too low?)");
    *oom = 1;
    free(w);
    return NULL;
  }
  lua_atpanic(w->L, lg_worker_panic);
  *(lg_worker **)lua_getextraspace(w->L) = w;
  lua_pushcfunction(w->L, lg_worker_boot);
  lua_pushlightuserdata(w->L, w);
  lua_pushinteger(w->L, nsvcs);
  int st = lua_pcall(w->L, 2, 0, 0);
  if (st != LUA_OK) {
    const char *msg = lua_tostring(w->L, -1);
    *oom = st == LUA_ERRMEM || w->alloc.oom;
    snprintf(err, errlen, "%s", msg ? msg : "error loading the service");
    lg_worker_free(w);
    return NULL;
  }
  return w;
}

/* Cancels a handler whose RPC was cancelled (client gone, deadline,
 * shutdown) even if it never calls into cgrpc: a count hook. */
static void lg_cancel_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lg_worker *w = *(lg_worker **)lua_getextraspace(L);
  if (w && w->call && cgrpc_call_is_cancelled(w->call))
    luaL_error(L, "RPC cancelled");
}

static int lg_worker_serve(lua_State *L) {
  lg_method *m = lua_touserdata(L, 1);
  cgrpc_call *call = lua_touserdata(L, 2);
  lg_worker *w = *(lg_worker **)lua_getextraspace(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, w->serve_ref);
  lua_pushstring(L, m->service);
  lua_pushstring(L, m->method);
  lgrpc_push_call(L, call);
  lua_call(L, 3, 0);
  return 0;
}

/* The cgrpc handler: runs on a server handler thread. */
static void lg_server_handler(cgrpc_call *call, void *ud) {
  lg_method *m = ud;
  lg_server *s = m->s;
  char err[512];
  pthread_mutex_lock(&s->mu);
  lg_worker *w = s->idle;
  if (w) s->idle = w->next;
  pthread_mutex_unlock(&s->mu);
  if (!w) {
    int oom;
    w = lg_worker_new(s, s->nsvcs, err, sizeof err, &oom);
    if (!w) {
      char msg[600];
      snprintf(msg, sizeof msg, "cannot start a Lua worker state: %s", err);
      cgrpc_call_finish(call, oom ? CGRPC_STATUS_RESOURCE_EXHAUSTED
                                  : CGRPC_STATUS_UNAVAILABLE,
                        msg, NULL);
      return;
    }
    pthread_mutex_lock(&s->mu);
    s->nworkers++;
    pthread_mutex_unlock(&s->mu);
  }
  lua_State *L = w->L;
  w->call = call;
  w->alloc.oom = 0;
  lua_sethook(L, lg_cancel_hook, LUA_MASKCOUNT, 1000);
  lua_pushcfunction(L, lg_worker_serve);
  lua_pushlightuserdata(L, m);
  lua_pushlightuserdata(L, call);
  int st = lua_pcall(L, 2, 0, 0);
  if (st != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    int oom = st == LUA_ERRMEM || w->alloc.oom;
    snprintf(err, sizeof err, "%s%s",
             oom ? "the handler's Lua state ran out of memory: " : "lua handler: ",
             msg ? msg : "(error object is not a string)");
    /* E_STATE if the Lua side finished already: ignored. */
    cgrpc_call_finish(call, oom ? CGRPC_STATUS_RESOURCE_EXHAUSTED
                                : CGRPC_STATUS_INTERNAL,
                      err, NULL);
  }
  lua_settop(L, 0);
  lua_sethook(L, NULL, 0, 0);
  w->call = NULL;
  if (w->alloc.oom) {
    /* A state that hit its limit is replaced rather than trusted. */
    lg_worker_free(w);
    pthread_mutex_lock(&s->mu);
    s->nworkers--;
    pthread_mutex_unlock(&s->mu);
    return;
  }
  pthread_mutex_lock(&s->mu);
  w->next = s->idle;
  s->idle = w;
  pthread_mutex_unlock(&s->mu);
}

static void lg_method_free(void *ud) {
  lg_method *m = ud;
  free(m->service);
  free(m->method);
  free(m);
}

typedef struct {
  lg_server *s;
} lg_server_ud;

static void lg_server_close(lg_server *s) {
  if (s->srv) {
    cgrpc_server_destroy(s->srv); /* waits for every handler */
    s->srv = NULL;
  }
  while (s->idle) {
    lg_worker *w = s->idle;
    s->idle = w->next;
    lg_worker_free(w);
  }
}

static void lg_server_free(lg_server *s) {
  lg_server_close(s);
  for (int i = 0; i < s->nsvcs; i++) {
    free(s->svcs[i].name);
    free(s->svcs[i].src);
    lpb_pool_unref(s->svcs[i].pool);
  }
  free(s->svcs);
  free(s->path);
  free(s->cpath);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static lg_server *lg_check_server(lua_State *L, int idx) {
  lg_server_ud *u = luaL_checkudata(L, idx, "cgrpc.server");
  if (!u->s || !u->s->srv) luaL_error(L, "cgrpc: the server is closed");
  return u->s;
}

static int l_server_gc(lua_State *L) {
  lg_server_ud *u = luaL_checkudata(L, 1, "cgrpc.server");
  if (u->s) lg_server_free(u->s);
  u->s = NULL;
  return 0;
}

/* server_new(opts|nil, path, cpath) -> server */
static int l_server_new(lua_State *L) {
  lua_settop(L, 3);
  const char *path = luaL_optstring(L, 2, NULL);
  const char *cpath = luaL_optstring(L, 3, NULL);
  lg_box *ob = lg_box_new(L, lg_free_srv_opts); /* 4 */
  cgrpc_server_options *o = NULL;
  int rc = cgrpc_server_options_create(&o);
  if (rc) return lg_raise_rc(L, rc, "server options");
  ob->p = o;
  size_t mem_limit = 256u << 20;
  if (!lua_isnil(L, 1)) {
    if (lua_type(L, 1) != LUA_TTABLE)
      return luaL_error(L, "cgrpc: server options must be a table, got %s",
                        luaL_typename(L, 1));
    static const char *const keys[] = {"threads", "max_recv_message_size",
                                       "max_send_message_size",
                                       "max_concurrent_streams", "memory_limit",
                                       NULL};
    lg_check_keys(L, 1, "server options", keys);
    if (lua_getfield(L, 1, "threads") != LUA_TNIL &&
        (rc = cgrpc_server_options_set_max_threads(
             o, (int)lg_checkint(L, -1, "threads"))))
      lg_raise_rc(L, rc, "threads");
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "max_recv_message_size") != LUA_TNIL &&
        (rc = cgrpc_server_options_set_max_recv_message_size(
             o, lg_checkint(L, -1, "max_recv_message_size"))))
      lg_raise_rc(L, rc, "max_recv_message_size");
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "max_send_message_size") != LUA_TNIL &&
        (rc = cgrpc_server_options_set_max_send_message_size(
             o, lg_checkint(L, -1, "max_send_message_size"))))
      lg_raise_rc(L, rc, "max_send_message_size");
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "max_concurrent_streams") != LUA_TNIL &&
        (rc = cgrpc_server_options_set_max_concurrent_streams(
             o, (int)lg_checkint(L, -1, "max_concurrent_streams"))))
      lg_raise_rc(L, rc, "max_concurrent_streams");
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "memory_limit") != LUA_TNIL) {
      int64_t lim = lg_checkint(L, -1, "memory_limit");
      if (lim < 0) luaL_error(L, "cgrpc: memory_limit must be >= 0 (0: none)");
      mem_limit = (size_t)lim;
    }
    lua_pop(L, 1);
  }
  lg_server_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->s = NULL;
  luaL_setmetatable(L, "cgrpc.server");
  lg_server *s = calloc(1, sizeof *s);
  if (!s) return luaL_error(L, "cgrpc: out of memory");
  pthread_mutex_init(&s->mu, NULL);
  s->mem_limit = mem_limit;
  s->path = path ? lg_strdup(path) : NULL;
  s->cpath = cpath ? lg_strdup(cpath) : NULL;
  u->s = s; /* from here the userdata frees it */
  rc = cgrpc_server_create(&s->srv, o);
  if (rc) return lg_raise_rc(L, rc, "creating the server");
  return 1;
}

/* server_listen(server, address, tls|nil) -> port | nil, message, rc */
static int l_server_listen(lua_State *L) {
  lg_server *s = lg_check_server(L, 1);
  const char *addr = lg_checkstr(L, 2, "address", NULL);
  lua_settop(L, 3);
  int port = 0, rc;
  if (s->started) return luaL_error(L, "cgrpc: listen after start");
  if (lua_isnil(L, 3) || (lua_type(L, 3) == LUA_TBOOLEAN && !lua_toboolean(L, 3))) {
    rc = cgrpc_server_add_listener(s->srv, addr, &port);
  } else {
    cgrpc_tls_options *to = lg_tls_options(L, 3, 1);
    lg_box *cb = lg_box_new(L, lg_free_creds);
    cgrpc_credentials *creds = NULL;
    rc = cgrpc_credentials_create_tls_server(&creds, to);
    if (rc) return lg_fail(L, rc, "TLS server credentials");
    cb->p = creds;
    rc = cgrpc_server_add_secure_listener(s->srv, addr, creds, &port);
  }
  if (rc) return lg_fail(L, rc, "listen");
  s->nlisteners++;
  lua_pushinteger(L, port);
  return 1;
}

/* In a probe state: pushes the method names of service `name`. */
static int lg_probe_methods(lua_State *L) {
  const char *name = lua_tostring(L, 1);
  lg_require_cgrpc(L);
  lua_getfield(L, -1, "_service_methods");
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
  return 1;
}

/* server_service(server, name, kind, src, pool|nil) -> { method names }
 * With a descriptor pool, handlers take and return tables of the
 * service's message types (cgrpc.lua's _load_service does the wrapping). */
static int l_server_service(lua_State *L) {
  lg_server *s = lg_check_server(L, 1);
  const char *name = lg_checkstr(L, 2, "service name", NULL);
  int kind = (int)lg_checkint(L, 3, "source kind");
  size_t srclen;
  const char *src = lg_checkstr(L, 4, "service source", &srclen);
  lpb_pool *pool = NULL;
  if (!lua_isnoneornil(L, 5) && !(pool = lpb_to_pool(L, 5)))
    return luaL_error(L, "cgrpc: expected a descriptor pool, got %s", luaL_typename(L, 5));
  if (s->started) return luaL_error(L, "cgrpc: service() after start()");
  if (kind < SRC_MODULE || kind > SRC_CHUNK)
    return luaL_error(L, "cgrpc: bad source kind");
  if (!*name || strchr(name, '/') || strchr(name, ' '))
    return luaL_error(L, "cgrpc: invalid service name '%s'", name);
  for (int i = 0; i < s->nsvcs; i++)
    if (strcmp(s->svcs[i].name, name) == 0)
      return luaL_error(L, "cgrpc: service '%s' is already registered", name);
  lg_service *svcs = realloc(s->svcs, (size_t)(s->nsvcs + 1) * sizeof *svcs);
  if (!svcs) return luaL_error(L, "cgrpc: out of memory");
  s->svcs = svcs;
  lg_service *sv = &s->svcs[s->nsvcs];
  sv->name = lg_strdup(name);
  sv->src = lg_strndup(src, srclen);
  sv->srclen = srclen;
  sv->kind = kind;
  sv->pool = NULL;
  if (!sv->name || !sv->src) {
    free(sv->name);
    free(sv->src);
    return luaL_error(L, "cgrpc: out of memory");
  }
  if (pool) {
    lpb_pool_ref(pool);
    sv->pool = pool;
  }
  s->nsvcs++;
  /* Load it in a probe state now: errors surface here, not per RPC, and
   * the method names become exact registrations (others: UNIMPLEMENTED). */
  char err[512];
  int oom;
  lg_worker *w = lg_worker_new(s, s->nsvcs, err, sizeof err, &oom);
  int ok = w != NULL;
  char **names = NULL;
  int nnames = 0;
  if (ok) {
    lua_State *P = w->L;
    lua_pushcfunction(P, lg_probe_methods);
    lua_pushstring(P, name);
    if (lua_pcall(P, 1, 1, 0) != LUA_OK) {
      const char *msg = lua_tostring(P, -1);
      snprintf(err, sizeof err, "%s", msg ? msg : "error listing the methods");
      ok = 0;
    } else {
      nnames = (int)lua_rawlen(P, -1);
      names = calloc((size_t)nnames + 1, sizeof *names);
      for (int i = 0; names && i < nnames; i++) {
        lua_rawgeti(P, -1, i + 1);
        names[i] = lg_strdup(lua_tostring(P, -1));
        lua_pop(P, 1);
      }
      if (!names) ok = 0, snprintf(err, sizeof err, "out of memory");
    }
    lg_worker_free(w);
  }
  if (!ok) {
    s->nsvcs--;
    free(sv->name);
    free(sv->src);
    lpb_pool_unref(sv->pool);
    return luaL_error(L, "cgrpc: service '%s': %s", name, err);
  }
  lua_createtable(L, nnames, 0);
  int rc = CGRPC_OK;
  for (int i = 0; i < nnames; i++) {
    char path[1024];
    snprintf(path, sizeof path, "/%s/%s", name, names[i] ? names[i] : "");
    lg_method *m = calloc(1, sizeof *m);
    if (m) {
      m->s = s;
      m->service = lg_strdup(name);
      m->method = lg_strdup(names[i] ? names[i] : "");
    }
    if (!m || !m->service || !m->method) {
      if (m) lg_method_free(m);
      rc = CGRPC_E_NOMEM;
    } else {
      rc = cgrpc_server_register_method(s->srv, path, lg_server_handler, m,
                                        lg_method_free);
      if (rc) lg_method_free(m);
    }
    if (rc) {
      snprintf(err, sizeof err, "registering method %.200s: %s",
               names[i] ? names[i] : "", cgrpc_strerror(rc));
      break;
    }
    lua_pushstring(L, names[i]);
    lua_rawseti(L, -2, i + 1);
  }
  for (int i = 0; i < nnames; i++) free(names[i]);
  free(names);
  if (rc) return luaL_error(L, "cgrpc: service '%s': %s", name, err);
  return 1;
}

static int l_server_start(lua_State *L) {
  lg_server *s = lg_check_server(L, 1);
  if (s->started) return luaL_error(L, "cgrpc: the server is already started");
  if (!s->nlisteners)
    return luaL_error(L, "cgrpc: start() needs a listen() first");
  int rc = cgrpc_server_start(s->srv);
  if (rc) return lg_fail(L, rc, "start");
  s->started = 1;
  lua_pushboolean(L, 1);
  return 1;
}

/* server_shutdown(server, grace_ms) */
static int l_server_shutdown(lua_State *L) {
  lg_server *s = lg_check_server(L, 1);
  int64_t grace = lua_isnoneornil(L, 2) ? 0 : lg_checkint(L, 2, "grace_ms");
  cgrpc_server_shutdown(s->srv, grace);
  return 0;
}

/* server_close(server): shutdown (no grace), wait for handlers, free. */
static int l_server_close(lua_State *L) {
  lg_server_ud *u = luaL_checkudata(L, 1, "cgrpc.server");
  if (u->s) lg_server_close(u->s);
  return 0;
}

/* server_workers(server) -> number of worker states alive (for tests) */
static int l_server_workers(lua_State *L) {
  lg_server_ud *u = luaL_checkudata(L, 1, "cgrpc.server");
  int n = 0;
  if (u->s) {
    pthread_mutex_lock(&u->s->mu);
    n = u->s->nworkers;
    pthread_mutex_unlock(&u->s->mu);
  }
  lua_pushinteger(L, n);
  return 1;
}

/* worker_oom() -> true if this (worker) state had an allocation refused
 * during the current RPC. */
static int l_worker_oom(lua_State *L) {
  void *ud = NULL;
  lua_Alloc f = lua_getallocf(L, &ud);
  lua_pushboolean(L, f == lg_limited_alloc && ((lg_alloc_state *)ud)->oom);
  return 1;
}

/* worker_memory() -> bytes in use, limit (0: none); nil outside a worker */
static int l_worker_memory(lua_State *L) {
  void *ud = NULL;
  lua_Alloc f = lua_getallocf(L, &ud);
  if (f != lg_limited_alloc) return 0;
  lua_pushinteger(L, (lua_Integer)((lg_alloc_state *)ud)->used);
  lua_pushinteger(L, (lua_Integer)((lg_alloc_state *)ud)->limit);
  return 2;
}

/* ------------------------------------------------------------------ */
/* Misc                                                                 */
/* ------------------------------------------------------------------ */

static int l_now_ms(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lg_now_ms());
  return 1;
}

static int l_sleep_ms(lua_State *L) {
  lg_sleep_ms(lg_checkint(L, 1, "ms"));
  return 0;
}

/* sleep_call(call, ms) -> true if slept fully, false if the call was
 * cancelled first (server handlers). */
static int l_sleep_call(lua_State *L) {
  cgrpc_call *c = lgrpc_check_call(L, 1);
  int64_t ms = lg_checkint(L, 2, "ms");
  int64_t end = lg_now_ms() + ms;
  for (;;) {
    if (cgrpc_call_is_cancelled(c)) {
      lua_pushboolean(L, 0);
      return 1;
    }
    int64_t left = end - lg_now_ms();
    if (left <= 0) break;
    lg_sleep_ms(left < 10 ? left : 10);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg lg_funcs[] = {
    {"metadata_table", l_metadata_table},
    {"channel_new", l_channel_new},
    {"channel_stub", l_channel_stub},
    {"channel_close", l_channel_close},
    {"channel_closed", l_channel_closed},
    {"channel_state", l_channel_state},
    {"channel_wait_state", l_channel_wait_state},
    {"channel_reset_backoff", l_channel_reset_backoff},
    {"channel_target", l_channel_target},
    {"channel_refs", l_channel_refs},
    {"channel_defaults", l_channel_defaults},
    {"live_channels", l_live_channels},
    {"is_channel", l_is_channel},
    {"unary", l_unary},
    {"call_start", l_call_start},
    {"call_destroy", l_call_destroy},
    {"call_status", l_call_status},
    {"call_initial_metadata", l_call_initial_metadata},
    {"call_auth_context", l_call_auth_context},
    {"call_wait", l_call_wait},
    {"call_time_remaining", l_call_time_remaining},
    {"call_finish", l_call_finish},
    {"call_send_initial_metadata", l_call_send_initial_metadata},
    {"thread_start", l_thread_start},
    {"thread_join", l_thread_join},
    {"thread_done", l_thread_done},
    {"poller_new", l_poller_new},
    {"poller_fd", l_poller_fd},
    {"poller_add", l_poller_add},
    {"poller_remove", l_poller_remove},
    {"poller_wait", l_poller_wait},
    {"server_new", l_server_new},
    {"server_listen", l_server_listen},
    {"server_service", l_server_service},
    {"server_start", l_server_start},
    {"server_shutdown", l_server_shutdown},
    {"server_close", l_server_close},
    {"server_workers", l_server_workers},
    {"worker_oom", l_worker_oom},
    {"worker_memory", l_worker_memory},
    {"now_ms", l_now_ms},
    {"sleep_ms", l_sleep_ms},
    {"sleep_call", l_sleep_call},
    {NULL, NULL}};

void lgrpc_open(lua_State *L) {
  if (luaL_newmetatable(L, "cgrpc.thread")) {
    lua_pushcfunction(L, l_thread_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, "cgrpc.poller")) {
    lua_pushcfunction(L, l_poller_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, "cgrpc.server")) {
    lua_pushcfunction(L, l_server_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, lg_funcs, 0);
  lpb_open(L);
}
