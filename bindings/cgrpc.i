/* SWIG interface for cgrpc, shared by the Python and Lua bindings.
 *
 * It exposes the C ABI almost one to one; out-parameters become extra
 * return values (Python: a list [rc, out...]; Lua: multiple results),
 * received bytes become the language's byte string, and the few things a
 * language needs on top (the server handler trampoline) live in
 * per-language sections below.  The idiomatic layers are python/cgrpc/
 * and lua/cgrpc.lua.
 *
 * Threads: with SWIG's thread support every wrapped call releases the
 * interpreter lock (Python's GIL) while C runs, except the trivial
 * accessors marked %nothread. */
%module(threads="1") core

%{
#include "cgrpc.h"
%}

%include <stdint.i>
%include <typemaps.i>

/* ---- inputs: bytes (with length) ---- */
#ifdef SWIGPYTHON
/* Any object with the buffer protocol (bytes, bytearray, memoryview);
 * the view is held until the C call returns. */
%typemap(in) (const void *BYTES, size_t BYTESLEN) (Py_buffer view) {
  view.obj = NULL;
  if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE) != 0) SWIG_fail;
  $1 = view.buf;
  $2 = (size_t)view.len;
}
%typemap(freearg) (const void *BYTES, size_t BYTESLEN) {
  if (view$argnum.obj) PyBuffer_Release(&view$argnum);
}
%typemap(typecheck) (const void *BYTES, size_t BYTESLEN) {
  $1 = PyObject_CheckBuffer($input);
}
#else
%apply (char *STRING, size_t LENGTH) { (const void *BYTES, size_t BYTESLEN) };
#endif
%apply (const void *BYTES, size_t BYTESLEN) { (const void *data, size_t len) };
%apply (const void *BYTES, size_t BYTESLEN) { (const void *value, size_t len) };
%apply (const void *BYTES, size_t BYTESLEN) { (const void *pem, size_t len) };

/* ---- outputs ---- */
%apply unsigned int *OUTPUT { unsigned *ready };
%apply int *OUTPUT { int *port };
%apply int *OUTPUT { int *code };

/* New handles: `T **out` becomes an extra result (NULL on error). */
%define CGRPC_OUT_HANDLE(TYPE)
%typemap(in, numinputs=0) TYPE **out (TYPE *tmp = NULL) { $1 = &tmp; }
#ifdef SWIGPYTHON
%typemap(argout) TYPE **out {
  %append_output(SWIG_NewPointerObj(SWIG_as_voidptr(*$1), $*1_descriptor, 0));
}
#endif
#ifdef SWIGLUA
%typemap(argout) TYPE **out {
  SWIG_NewPointerObj(L, (void *)*$1, $*1_descriptor, 0); SWIG_arg++;
}
#endif
%enddef
CGRPC_OUT_HANDLE(cgrpc_channel)
CGRPC_OUT_HANDLE(cgrpc_channel_options)
CGRPC_OUT_HANDLE(cgrpc_call)
CGRPC_OUT_HANDLE(cgrpc_call_options)
CGRPC_OUT_HANDLE(cgrpc_stub)
CGRPC_OUT_HANDLE(cgrpc_metadata)
CGRPC_OUT_HANDLE(cgrpc_server)
CGRPC_OUT_HANDLE(cgrpc_server_options)
CGRPC_OUT_HANDLE(cgrpc_credentials)
CGRPC_OUT_HANDLE(cgrpc_tls_options)

/* Borrowed metadata lists handed out by the library. */
%typemap(in, numinputs=0) const cgrpc_metadata **OUTMD (const cgrpc_metadata *tmp = NULL) { $1 = ($1_ltype)&tmp; }
#ifdef SWIGPYTHON
%typemap(argout) const cgrpc_metadata **OUTMD {
  %append_output(SWIG_NewPointerObj(SWIG_as_voidptr((void *)*$1), SWIGTYPE_p_cgrpc_metadata, 0));
}
#endif
#ifdef SWIGLUA
%typemap(argout) const cgrpc_metadata **OUTMD {
  SWIG_NewPointerObj(L, (void *)*$1, SWIGTYPE_p_cgrpc_metadata, 0); SWIG_arg++;
}
#endif
%apply const cgrpc_metadata **OUTMD { const cgrpc_metadata **md };
%apply const cgrpc_metadata **OUTMD { const cgrpc_metadata **auth };
%apply const cgrpc_metadata **OUTMD { const cgrpc_metadata **trailers };

/* A received message: the buffer becomes a byte string and is freed. */
%typemap(in, numinputs=0) cgrpc_buffer **msg (cgrpc_buffer *tmp = NULL) { $1 = &tmp; }
#ifdef SWIGPYTHON
%typemap(argout) cgrpc_buffer **msg {
  if (*$1) {
    %append_output(PyBytes_FromStringAndSize((const char *)cgrpc_buffer_data(*$1),
                                             (Py_ssize_t)cgrpc_buffer_len(*$1)));
    cgrpc_buffer_free(*$1);
  } else {
    %append_output(SWIG_Py_Void());
  }
}
#endif
#ifdef SWIGLUA
%typemap(argout) cgrpc_buffer **msg {
  if (*$1) {
    lua_pushlstring(L, (const char *)cgrpc_buffer_data(*$1), cgrpc_buffer_len(*$1));
    cgrpc_buffer_free(*$1);
  } else {
    lua_pushnil(L);
  }
  SWIG_arg++;
}
#endif

/* Status message: text (UTF-8, bad bytes replaced in Python). */
%typemap(in, numinputs=0) const char **message (const char *tmp = NULL) { $1 = ($1_ltype)&tmp; }
#ifdef SWIGPYTHON
%typemap(argout) const char **message {
  const char *s = *$1 ? *$1 : "";
  %append_output(PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace"));
}
#endif
#ifdef SWIGLUA
%typemap(argout) const char **message {
  lua_pushstring(L, *$1 ? *$1 : ""); SWIG_arg++;
}
#endif

/* Bytes out of a helper: (const char **bytes_out, size_t *bytes_len). */
%typemap(in, numinputs=0) (const char **bytes_out, size_t *bytes_len)
    (const char *p = NULL, size_t n = 0) { $1 = ($1_ltype)&p; $2 = &n; }
#ifdef SWIGPYTHON
%typemap(argout) (const char **bytes_out, size_t *bytes_len) {
  if (*$1) %append_output(PyBytes_FromStringAndSize(*$1, (Py_ssize_t)*$2));
  else %append_output(SWIG_Py_Void());
}
#endif
#ifdef SWIGLUA
%typemap(argout) (const char **bytes_out, size_t *bytes_len) {
  if (*$1) lua_pushlstring(L, *$1, *$2); else lua_pushnil(L);
  SWIG_arg++;
}
#endif

/* Trivial accessors: not worth releasing the interpreter lock. */
%feature("nothread") cgrpc_version;
%feature("nothread") cgrpc_version_number;
%feature("nothread") cgrpc_strerror;
%feature("nothread") cgrpc_status_name;
%feature("nothread") cgrpc_last_error;
%feature("nothread") cgrpc_metadata_count;
%feature("nothread") cgrpc_metadata_key;
%feature("nothread") cgb_metadata_value;
%feature("nothread") cgrpc_metadata_create;
%feature("nothread") cgrpc_metadata_add;
%feature("nothread") cgrpc_metadata_destroy;
%feature("nothread") cgrpc_call_method;
%feature("nothread") cgrpc_call_time_remaining;
%feature("nothread") cgrpc_call_options_create;
%feature("nothread") cgrpc_call_options_destroy;
%feature("nothread") cgrpc_call_options_set_timeout;
%feature("nothread") cgrpc_call_options_add_metadata;
%feature("nothread") cgrpc_call_options_set_wait_for_ready;
%feature("nothread") cgrpc_call_auth_context;

/* Not wrapped: raw buffers and callbacks (replaced by the helpers). */
%ignore cgrpc_buffer_data;
%ignore cgrpc_buffer_len;
%ignore cgrpc_buffer_free;
%ignore cgrpc_free;
%ignore cgrpc_metadata_value;
%ignore cgrpc_metadata_get;
%ignore cgrpc_call_send_nocopy;
%ignore cgrpc_unary;
%ignore cgrpc_stub_unary;
%ignore cgrpc_server_register_method;
%ignore cgrpc_server_set_fallback_handler;

#define CGRPC_API
%include "cgrpc.h"

%inline %{
/* Unary in two steps, so a binding pays for few interpreter-lock
 * releases: start + send + half-close, then (after waiting for
 * CGRPC_EVENT_DONE in slices) reply, status and both metadata lists. */
static int cgb_unary_start(cgrpc_channel *ch, const char *method,
                           const void *data, size_t len,
                           const cgrpc_call_options *opts, cgrpc_call **out) {
  int rc = cgrpc_call_start(out, ch, method, opts);
  if (rc) return rc;
  rc = cgrpc_call_send(*out, data, len, CGRPC_SEND_LAST);
  if (rc == CGRPC_E_CLOSED) rc = CGRPC_OK; /* the status says why */
  if (rc) {
    cgrpc_call_destroy(*out);
    *out = NULL;
  }
  return rc;
}

/* *msg is the reply (NULL if none); a second reply makes the status
 * INTERNAL, as cgrpc_unary does.  Metadata lists are borrowed from call. */
static int cgb_unary_finish(cgrpc_call *call, int *code, cgrpc_buffer **msg,
                            const char **message, const cgrpc_metadata **md,
                            const cgrpc_metadata **trailers) {
  *msg = NULL;
  int rc = cgrpc_call_recv(call, msg);
  if (rc == CGRPC_OK) {
    cgrpc_buffer *extra = NULL;
    if (cgrpc_call_recv(call, &extra) == CGRPC_OK) {
      cgrpc_buffer_free(extra);
      cgrpc_call_status(call, code, message, trailers);
      cgrpc_call_initial_metadata(call, md);
      *code = CGRPC_STATUS_INTERNAL;
      *message = "server sent more than one response message";
      return CGRPC_OK;
    }
  } else if (rc != CGRPC_DONE) {
    return rc;
  }
  rc = cgrpc_call_status(call, code, message, trailers);
  if (rc == CGRPC_OK) rc = cgrpc_call_initial_metadata(call, md);
  return rc;
}

/* Wait (at most slice_ms) and receive in one trip: CGRPC_E_TIMEOUT when
 * nothing is ready yet (call again), else as cgrpc_call_recv. */
static int cgb_recv(cgrpc_call *call, int64_t slice_ms, cgrpc_buffer **msg) {
  unsigned ready = 0;
  *msg = NULL;
  int rc = cgrpc_call_wait(call, CGRPC_EVENT_RECV, slice_ms, &ready);
  return rc ? rc : cgrpc_call_recv(call, msg);
}

/* Wait (at most slice_ms) for send space and send in one trip:
 * CGRPC_E_TIMEOUT when the call is still full (nothing was sent). */
static int cgb_send(cgrpc_call *call, const void *data, size_t len,
                    unsigned flags, int64_t slice_ms) {
  unsigned ready = 0;
  int rc = cgrpc_call_wait(call, CGRPC_EVENT_SEND, slice_ms, &ready);
  return rc ? rc : cgrpc_call_send(call, data, len, flags);
}

/* Value i of a metadata list as bytes (None/nil if out of range). */
static void cgb_metadata_value(const cgrpc_metadata *md, size_t i,
                               const char **bytes_out, size_t *bytes_len) {
  *bytes_out = (const char *)cgrpc_metadata_value(md, i, bytes_len);
}
%}

/* ---- Python: server handlers run Python callables ---- */
#ifdef SWIGPYTHON
%{
/* Set by cgrpc's atexit hook: from then on no handler enters Python. */
static volatile int cgb_py_exiting;
/* This handler thread already has its (kept) Python thread state. */
static __thread int cgb_py_thread_ready;

static void cgb_py_handler(cgrpc_call *call, void *user_data) {
  if (cgb_py_exiting || !Py_IsInitialized() || _Py_IsFinalizing()) {
    cgrpc_call_finish(call, CGRPC_STATUS_UNAVAILABLE,
                      "the Python interpreter is shutting down", NULL);
    return;
  }
  if (!cgb_py_thread_ready) {
    /* First RPC on this handler thread: make its Python thread state once
     * and keep it, so each later RPC only takes and drops the GIL. */
    PyGILState_Ensure();
    PyEval_SaveThread();
    cgb_py_thread_ready = 1;
  }
  PyGILState_STATE g = PyGILState_Ensure();
  PyObject *obj = SWIG_NewPointerObj(SWIG_as_voidptr(call), SWIGTYPE_p_cgrpc_call, 0);
  PyObject *r = obj ? PyObject_CallFunctionObjArgs((PyObject *)user_data, obj, NULL) : NULL;
  if (!r) {
    /* The Python layer catches handler errors; this is a bug there. */
    PyErr_WriteUnraisable((PyObject *)user_data);
    cgrpc_call_finish(call, CGRPC_STATUS_UNKNOWN, "handler dispatch failed", NULL);
  }
  Py_XDECREF(r);
  Py_XDECREF(obj);
  PyGILState_Release(g);
}

static void cgb_py_release(void *user_data) {
  if (!Py_IsInitialized() || _Py_IsFinalizing()) return; /* leak at exit */
  PyGILState_STATE g = PyGILState_Ensure();
  Py_DECREF((PyObject *)user_data);
  PyGILState_Release(g);
}
%}

%feature("nothread") cgb_server_set_dispatcher;
%feature("nothread") cgb_python_exiting;
%inline %{
/* Routes every method of srv to the Python callable dispatch(call). */
static int cgb_server_set_dispatcher(cgrpc_server *srv, PyObject *dispatch) {
  if (!PyCallable_Check(dispatch)) return CGRPC_E_INVALID_ARG;
  Py_INCREF(dispatch);
  int rc = cgrpc_server_set_fallback_handler(srv, cgb_py_handler, dispatch,
                                             cgb_py_release);
  if (rc) Py_DECREF(dispatch);
  return rc;
}

/* Called from Python's atexit before servers are stopped. */
static void cgb_python_exiting(void) { cgb_py_exiting = 1; }
%}

/* ---- Python: protobuf messages as dicts (bindings/pydict.c) ----
 * Descriptor pools from cgrpc_pb.h and the dict converters.  The
 * converters touch Python objects, so they keep the GIL (%nothread). */
%{
#include "cgrpc_pb.h"
#include "pydict.h"
%}
CGRPC_OUT_HANDLE(cgrpc_pb_pool)
%feature("nothread") cgrpc_pb_pool_destroy;
%feature("nothread") cgb_pb_set_error_class;
%feature("nothread") cgb_pb_encode;
%feature("nothread") cgb_pb_decode;
%feature("nothread") cgb_pb_services;
%feature("nothread") cgb_pb_methods;
%feature("nothread") cgb_pb_has_type;
int cgrpc_pb_pool_load(cgrpc_pb_pool **out, const void *data, size_t len);
void cgrpc_pb_pool_destroy(cgrpc_pb_pool *pool);
PyObject *cgb_pb_set_error_class(PyObject *cls);
PyObject *cgb_pb_encode(cgrpc_pb_pool *pool, const char *type_name, PyObject *obj);
PyObject *cgb_pb_decode(cgrpc_pb_pool *pool, const char *type_name, PyObject *data);
PyObject *cgb_pb_services(cgrpc_pb_pool *pool);
PyObject *cgb_pb_methods(cgrpc_pb_pool *pool, const char *service);
PyObject *cgb_pb_has_type(cgrpc_pb_pool *pool, const char *name);
#endif

/* ---- Lua: threads, shared channels, worker states (bindings/lua.i) ---- */
#ifdef SWIGLUA
%include "lua.i"
#endif
