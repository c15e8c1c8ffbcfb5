/* Protobuf messages as Python dicts; see pydict.h for the mapping.  Only
 * the cgrpc_pb.h API is used (no protobuf runtime types). */
#define PY_SSIZE_T_CLEAN
#include "pydict.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PyObject *cgb_pb_error_class; /* strong reference, or NULL */

static PyObject *pd_error_class(void) {
  return cgb_pb_error_class ? cgb_pb_error_class : PyExc_ValueError;
}

PyObject *cgb_pb_set_error_class(PyObject *cls) {
  if (!PyExceptionClass_Check(cls)) {
    PyErr_SetString(PyExc_TypeError, "expected an exception class");
    return NULL;
  }
  Py_INCREF(cls);
  Py_XSETREF(cgb_pb_error_class, cls);
  Py_RETURN_NONE;
}

/* Raises the error class with a printf-style message; returns -1. */
static int pd_fail(const char *fmt, ...) {
  char buf[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  PyErr_SetString(pd_error_class(), buf);
  return -1;
}

/* "pkg.Type.field[suffix]" */
typedef struct {
  char s[320];
} pd_where;

static void pd_where_set(pd_where *w, const cgrpc_pb_type *t,
                         const cgrpc_pb_field *f, const char *suffix) {
  snprintf(w->s, sizeof w->s, "%s.%s%s", cgrpc_pb_type_name(t),
           cgrpc_pb_field_name(f), suffix ? suffix : "");
}

static int pd_type_error(const pd_where *w, const char *want, PyObject *o) {
  return pd_fail("%s: expected %s, got %.100s", w->s, want, Py_TYPE(o)->tp_name);
}

/* The failure of a cgrpc_pb call, as the error class. */
static int pd_check_rc(int rc, const pd_where *w) {
  if (rc == CGRPC_OK) return 0;
  if (rc == CGRPC_E_NOMEM) {
    PyErr_NoMemory();
    return -1;
  }
  const char *detail = cgrpc_last_error();
  if (rc == CGRPC_E_TYPE && detail && *detail) return pd_fail("%s", detail);
  return pd_fail("%s: %s%s%s", w->s, cgrpc_strerror(rc), detail && *detail ? ": " : "",
                 detail ? detail : "");
}

/* ---- dict -> message ---- */

/* A Python int (or __index__ object), not bool: *neg, magnitude checks
 * done by the caller through the two outputs. */
static int pd_int(PyObject *o, const pd_where *w, const char *want,
                  long long *s, unsigned long long *u, int *is_neg) {
  if (PyBool_Check(o) || !PyIndex_Check(o)) return pd_type_error(w, want, o);
  PyObject *n = PyNumber_Index(o);
  if (!n) return -1;
  int overflow = 0;
  *s = PyLong_AsLongLongAndOverflow(n, &overflow);
  if (*s == -1 && PyErr_Occurred()) {
    Py_DECREF(n);
    return -1;
  }
  if (overflow < 0) {
    Py_DECREF(n);
    return pd_fail("%s: value out of range for %s", w->s, want);
  }
  if (overflow > 0) {
    *u = PyLong_AsUnsignedLongLong(n);
    Py_DECREF(n);
    if (PyErr_Occurred()) {
      PyErr_Clear();
      return pd_fail("%s: value out of range for %s", w->s, want);
    }
    *is_neg = 0;
    *s = -1; /* marks "above INT64_MAX" */
    return 1;
  }
  Py_DECREF(n);
  *is_neg = *s < 0;
  *u = (unsigned long long)*s;
  return 0;
}

/* Converts o for field f; *view is filled (and must be released) for
 * buffer inputs. */
static int pd_to_value(PyObject *o, const cgrpc_pb_field *f, const pd_where *w,
                       cgrpc_pb_value *v, Py_buffer *view) {
  cgrpc_pb_kind kind = cgrpc_pb_field_kind(f);
  long long s = 0;
  unsigned long long u = 0;
  int neg = 0, r;
  memset(v, 0, sizeof *v);
  v->kind = kind;
  switch (kind) {
    case CGRPC_PB_INT32:
      if ((r = pd_int(o, w, "int32", &s, &u, &neg)) < 0) return -1;
      if (r > 0 || s < INT32_MIN || s > INT32_MAX)
        return pd_fail("%s: value out of range for int32", w->s);
      v->v.i32 = (int32_t)s;
      return 0;
    case CGRPC_PB_UINT32:
      if ((r = pd_int(o, w, "uint32", &s, &u, &neg)) < 0) return -1;
      if (r > 0 || neg || s > (long long)UINT32_MAX)
        return pd_fail("%s: value out of range for uint32", w->s);
      v->v.u32 = (uint32_t)s;
      return 0;
    case CGRPC_PB_INT64:
      if ((r = pd_int(o, w, "int64", &s, &u, &neg)) < 0) return -1;
      if (r > 0) return pd_fail("%s: value out of range for int64", w->s);
      v->v.i64 = (int64_t)s;
      return 0;
    case CGRPC_PB_UINT64:
      if ((r = pd_int(o, w, "uint64", &s, &u, &neg)) < 0) return -1;
      if (neg) return pd_fail("%s: value out of range for uint64", w->s);
      v->v.u64 = (uint64_t)u;
      return 0;
    case CGRPC_PB_DOUBLE:
    case CGRPC_PB_FLOAT: {
      if (PyBool_Check(o) || !(PyFloat_Check(o) || PyLong_Check(o)))
        return pd_type_error(w, "float", o);
      double d = PyFloat_AsDouble(o);
      if (d == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return pd_fail("%s: value out of range for %s", w->s,
                       kind == CGRPC_PB_DOUBLE ? "double" : "float");
      }
      /* as a double either way: the C layer range-checks float fields */
      v->kind = CGRPC_PB_DOUBLE;
      v->v.d = d;
      return 0;
    }
    case CGRPC_PB_BOOL:
      if (!PyBool_Check(o)) return pd_type_error(w, "bool", o);
      v->v.b = o == Py_True;
      return 0;
    case CGRPC_PB_STRING: {
      if (!PyUnicode_Check(o)) return pd_type_error(w, "str", o);
      Py_ssize_t n = 0;
      const char *p = PyUnicode_AsUTF8AndSize(o, &n);
      if (!p) {
        PyErr_Clear();
        return pd_fail("%s: the string is not encodable as UTF-8 (lone surrogates?)", w->s);
      }
      v->v.s.data = p;
      v->v.s.len = (size_t)n;
      return 0;
    }
    case CGRPC_PB_BYTES:
      if (PyUnicode_Check(o) || !PyObject_CheckBuffer(o))
        return pd_type_error(w, "bytes", o);
      if (PyObject_GetBuffer(o, view, PyBUF_SIMPLE) != 0) return -1;
      v->v.s.data = view->buf;
      v->v.s.len = (size_t)view->len;
      return 0;
    case CGRPC_PB_ENUM:
      if (PyUnicode_Check(o)) {
        const char *name = PyUnicode_AsUTF8(o);
        int32_t n = 0;
        if (!name || cgrpc_pb_enum_value(f, name, &n) != CGRPC_OK) {
          PyErr_Clear();
          return pd_fail("%s: %.100s is not a value of enum %s", w->s, name ? name : "?",
                         cgrpc_pb_field_enum_type(f));
        }
        v->v.i32 = n;
        return 0;
      }
      if ((r = pd_int(o, w, "enum name (str) or number (int)", &s, &u, &neg)) < 0) return -1;
      if (r > 0 || s < INT32_MIN || s > INT32_MAX)
        return pd_fail("%s: value out of range for an enum", w->s);
      v->v.i32 = (int32_t)s;
      return 0;
    default:
      return pd_fail("%s: unsupported field kind %d", w->s, (int)kind);
  }
}

/* Sets or appends one scalar value. */
static int pd_put(PyObject *o, cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                  const pd_where *w, int append) {
  cgrpc_pb_value v;
  Py_buffer view;
  view.obj = NULL;
  if (pd_to_value(o, f, w, &v, &view) < 0) return -1;
  int rc = append ? cgrpc_pb_msg_append(msg, f, &v) : cgrpc_pb_msg_set(msg, f, &v);
  if (view.obj) PyBuffer_Release(&view);
  return pd_check_rc(rc, w);
}

static int pd_fill(PyObject *d, cgrpc_pb_msg *msg, int depth);

static int pd_fill_sub(PyObject *o, cgrpc_pb_msg *sub, const pd_where *w, int depth) {
  if (!PyDict_Check(o)) return pd_type_error(w, "dict (message)", o);
  if (depth + 1 > CGRPC_PB_MAX_DEPTH)
    return pd_fail("%s: messages nested more than %d deep (or a dict that contains itself)",
                   w->s, CGRPC_PB_MAX_DEPTH);
  return pd_fill(o, sub, depth + 1);
}

static int pd_set_field(PyObject *o, cgrpc_pb_msg *msg, const cgrpc_pb_type *t,
                        const cgrpc_pb_field *f, int depth) {
  pd_where w;
  pd_where_set(&w, t, f, NULL);
  cgrpc_pb_msg *sub = NULL;
  if (cgrpc_pb_field_is_map(f)) {
    if (!PyDict_Check(o)) return pd_type_error(&w, "dict (map)", o);
    const cgrpc_pb_type *et = cgrpc_pb_field_message_type(f);
    const cgrpc_pb_field *kf = cgrpc_pb_type_find_field(et, "key");
    const cgrpc_pb_field *vf = cgrpc_pb_type_find_field(et, "value");
    if (!kf || !vf) return pd_fail("%s: malformed map entry type", w.s);
    PyObject *items = PyDict_Items(o); /* a snapshot: values may run code */
    if (!items) return -1;
    int ret = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items) && ret == 0; i++) {
      PyObject *kv = PyList_GET_ITEM(items, i);
      PyObject *k = PyTuple_GET_ITEM(kv, 0), *val = PyTuple_GET_ITEM(kv, 1);
      pd_where ew, kw;
      char suffix[100];
      PyObject *kr = PyObject_Repr(k);
      const char *ks = kr ? PyUnicode_AsUTF8(kr) : NULL;
      if (!ks) PyErr_Clear();
      snprintf(suffix, sizeof suffix, "[%.80s]", ks ? ks : "?");
      Py_XDECREF(kr);
      pd_where_set(&ew, t, f, suffix);
      kw = ew;
      strncat(kw.s, " (key)", sizeof kw.s - strlen(kw.s) - 1);
      if (pd_check_rc(cgrpc_pb_msg_add_message(msg, f, &sub), &ew) < 0 ||
          pd_put(k, sub, kf, &kw, 0) < 0) {
        ret = -1;
      } else if (cgrpc_pb_field_kind(vf) == CGRPC_PB_MESSAGE) {
        cgrpc_pb_msg *vm = NULL;
        if (pd_check_rc(cgrpc_pb_msg_mutable(sub, vf, &vm), &ew) < 0 ||
            pd_fill_sub(val, vm, &ew, depth) < 0)
          ret = -1;
      } else if (pd_put(val, sub, vf, &ew, 0) < 0) {
        ret = -1;
      }
    }
    Py_DECREF(items);
    return ret;
  }
  if (cgrpc_pb_field_is_repeated(f)) {
    if (!PyList_Check(o) && !PyTuple_Check(o)) return pd_type_error(&w, "list", o);
    PyObject *seq = PySequence_Fast(o, "list expected"); /* new reference */
    if (!seq) return -1;
    int is_msg = cgrpc_pb_field_kind(f) == CGRPC_PB_MESSAGE, ret = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq) && ret == 0; i++) {
      PyObject *e = PySequence_Fast_GET_ITEM(seq, i);
      Py_INCREF(e);
      pd_where ew;
      char suffix[32];
      snprintf(suffix, sizeof suffix, "[%zd]", i);
      pd_where_set(&ew, t, f, suffix);
      if (is_msg) {
        if (pd_check_rc(cgrpc_pb_msg_add_message(msg, f, &sub), &ew) < 0 ||
            pd_fill_sub(e, sub, &ew, depth) < 0)
          ret = -1;
      } else if (pd_put(e, msg, f, &ew, 1) < 0) {
        ret = -1;
      }
      Py_DECREF(e);
    }
    Py_DECREF(seq);
    return ret;
  }
  if (cgrpc_pb_field_kind(f) == CGRPC_PB_MESSAGE) {
    if (!PyDict_Check(o)) return pd_type_error(&w, "dict (message)", o);
    if (pd_check_rc(cgrpc_pb_msg_mutable(msg, f, &sub), &w) < 0) return -1;
    return pd_fill_sub(o, sub, &w, depth);
  }
  return pd_put(o, msg, f, &w, 0);
}

static int pd_fill(PyObject *d, cgrpc_pb_msg *msg, int depth) {
  const cgrpc_pb_type *t = cgrpc_pb_msg_type(msg);
  PyObject *items = PyDict_Items(d); /* a snapshot: conversions may run code */
  if (!items) return -1;
  int ret = 0;
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items) && ret == 0; i++) {
    PyObject *kv = PyList_GET_ITEM(items, i);
    PyObject *k = PyTuple_GET_ITEM(kv, 0), *val = PyTuple_GET_ITEM(kv, 1);
    if (!PyUnicode_Check(k)) {
      ret = pd_fail("%s: field names are str, got a %.100s key", cgrpc_pb_type_name(t),
                    Py_TYPE(k)->tp_name);
      break;
    }
    const char *name = PyUnicode_AsUTF8(k);
    if (!name) {
      ret = -1;
      break;
    }
    const cgrpc_pb_field *f = cgrpc_pb_type_find_field_any(t, name);
    if (!f) {
      ret = pd_fail("%s: no field named '%.100s'", cgrpc_pb_type_name(t), name);
      break;
    }
    if (val == Py_None) continue; /* None: leave the field unset */
    ret = pd_set_field(val, msg, t, f, depth);
  }
  Py_DECREF(items);
  return ret;
}

/* ---- message -> dict ---- */

static double pd_float(float f) {
  if (!isfinite(f)) return (double)f;
  char buf[40];
  for (int p = 6; p <= 9; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, (double)f);
    double d = strtod(buf, NULL);
    if ((float)d == f) return d;
  }
  return (double)f;
}

static PyObject *pd_msg_to_dict(const cgrpc_pb_msg *msg, int depth);

static PyObject *pd_value(const cgrpc_pb_field *f, const cgrpc_pb_value *v, int depth) {
  switch (v->kind) {
    case CGRPC_PB_DOUBLE: return PyFloat_FromDouble(v->v.d);
    case CGRPC_PB_FLOAT: return PyFloat_FromDouble(pd_float(v->v.f));
    case CGRPC_PB_INT64: return PyLong_FromLongLong((long long)v->v.i64);
    case CGRPC_PB_UINT64: return PyLong_FromUnsignedLongLong((unsigned long long)v->v.u64);
    case CGRPC_PB_INT32: return PyLong_FromLong((long)v->v.i32);
    case CGRPC_PB_UINT32: return PyLong_FromUnsignedLong((unsigned long)v->v.u32);
    case CGRPC_PB_BOOL: return PyBool_FromLong(v->v.b);
    case CGRPC_PB_STRING:
      return PyUnicode_DecodeUTF8(v->v.s.data ? v->v.s.data : "", (Py_ssize_t)v->v.s.len,
                                  "replace");
    case CGRPC_PB_BYTES:
      return PyBytes_FromStringAndSize(v->v.s.data ? v->v.s.data : "", (Py_ssize_t)v->v.s.len);
    case CGRPC_PB_ENUM: {
      const char *name = cgrpc_pb_enum_name(f, v->v.i32);
      return name ? PyUnicode_FromString(name) : PyLong_FromLong((long)v->v.i32);
    }
    case CGRPC_PB_MESSAGE:
      if (!v->v.msg) return PyDict_New();
      if (depth + 1 > CGRPC_PB_MAX_DEPTH) {
        pd_fail("%s: messages nested more than %d deep", cgrpc_pb_field_name(f),
                CGRPC_PB_MAX_DEPTH);
        return NULL;
      }
      return pd_msg_to_dict(v->v.msg, depth + 1);
    default:
      pd_fail("%s: unsupported field kind %d", cgrpc_pb_field_name(f), (int)v->kind);
      return NULL;
  }
}

static int pd_get(const cgrpc_pb_msg *msg, const cgrpc_pb_field *f, size_t i,
                  cgrpc_pb_value *v) {
  int rc = cgrpc_pb_msg_get(msg, f, i, v);
  if (rc)
    return pd_fail("%s.%s: reading the field failed: %s",
                   cgrpc_pb_type_name(cgrpc_pb_msg_type(msg)), cgrpc_pb_field_name(f),
                   cgrpc_strerror(rc));
  return 0;
}

static PyObject *pd_field_value(const cgrpc_pb_msg *msg, const cgrpc_pb_field *f,
                                int depth) {
  cgrpc_pb_value v;
  size_t n = cgrpc_pb_msg_count(msg, f);
  if (cgrpc_pb_field_is_map(f)) {
    const cgrpc_pb_type *et = cgrpc_pb_field_message_type(f);
    const cgrpc_pb_field *kf = cgrpc_pb_type_find_field(et, "key");
    const cgrpc_pb_field *vf = cgrpc_pb_type_find_field(et, "value");
    if (!kf || !vf) {
      pd_fail("%s: malformed map entry type", cgrpc_pb_field_name(f));
      return NULL;
    }
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    for (size_t j = 0; j < n; j++) {
      cgrpc_pb_value kv, vv;
      if (pd_get(msg, f, j, &v) < 0) goto map_fail;
      if (!v.v.msg) continue;
      if (pd_get(v.v.msg, kf, 0, &kv) < 0 || pd_get(v.v.msg, vf, 0, &vv) < 0) goto map_fail;
      PyObject *k = pd_value(kf, &kv, depth);
      PyObject *x = k ? pd_value(vf, &vv, depth) : NULL;
      int bad = !x || PyDict_SetItem(d, k, x) < 0; /* a later equal key wins */
      Py_XDECREF(k);
      Py_XDECREF(x);
      if (bad) goto map_fail;
    }
    return d;
  map_fail:
    Py_DECREF(d);
    return NULL;
  }
  PyObject *l = PyList_New((Py_ssize_t)n);
  if (!l) return NULL;
  for (size_t j = 0; j < n; j++) {
    PyObject *x = pd_get(msg, f, j, &v) < 0 ? NULL : pd_value(f, &v, depth);
    if (!x) {
      Py_DECREF(l);
      return NULL;
    }
    PyList_SET_ITEM(l, (Py_ssize_t)j, x);
  }
  return l;
}

static PyObject *pd_msg_to_dict(const cgrpc_pb_msg *msg, int depth) {
  const cgrpc_pb_type *t = cgrpc_pb_msg_type(msg);
  size_t nf = cgrpc_pb_type_field_count(t);
  PyObject *d = PyDict_New();
  if (!d) return NULL;
  for (size_t i = 0; i < nf; i++) {
    const cgrpc_pb_field *f = cgrpc_pb_type_field(t, i);
    PyObject *x;
    if (cgrpc_pb_field_is_repeated(f)) {
      if (cgrpc_pb_msg_count(msg, f) == 0) continue;
      x = pd_field_value(msg, f, depth);
    } else {
      cgrpc_pb_value v;
      if (!cgrpc_pb_msg_has(msg, f)) continue;
      x = pd_get(msg, f, 0, &v) < 0 ? NULL : pd_value(f, &v, depth);
    }
    if (!x || PyDict_SetItemString(d, cgrpc_pb_field_name(f), x) < 0) {
      Py_XDECREF(x);
      Py_DECREF(d);
      return NULL;
    }
    Py_DECREF(x);
  }
  return d;
}

/* ---- entry points ---- */

static const cgrpc_pb_type *pd_type(cgrpc_pb_pool *pool, const char *name) {
  if (!pool) {
    PyErr_SetString(PyExc_ValueError, "the descriptor pool is closed");
    return NULL;
  }
  const cgrpc_pb_type *t = cgrpc_pb_pool_find_type(pool, name);
  if (!t) pd_fail("no message type '%.200s' in the descriptor set", name);
  return t;
}

PyObject *cgb_pb_encode(cgrpc_pb_pool *pool, const char *type_name, PyObject *obj) {
  const cgrpc_pb_type *t = pd_type(pool, type_name);
  if (!t) return NULL;
  if (!PyDict_Check(obj)) {
    pd_fail("%s: expected dict (message), got %.100s", cgrpc_pb_type_name(t),
            Py_TYPE(obj)->tp_name);
    return NULL;
  }
  cgrpc_pb_msg *msg = NULL;
  int rc = cgrpc_pb_msg_create(&msg, t);
  if (rc) {
    if (rc == CGRPC_E_NOMEM) return PyErr_NoMemory();
    pd_fail("%s: %s", cgrpc_pb_type_name(t), cgrpc_strerror(rc));
    return NULL;
  }
  PyObject *out = NULL;
  if (pd_fill(obj, msg, 0) == 0) {
    uint8_t *data = NULL;
    size_t len = 0;
    rc = cgrpc_pb_msg_encode(msg, &data, &len);
    if (rc == CGRPC_OK) {
      out = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)len);
      cgrpc_free(data);
    } else if (rc == CGRPC_E_NOMEM) {
      PyErr_NoMemory();
    } else {
      const char *detail = cgrpc_last_error();
      pd_fail("%s: encoding failed: %s%s%s%s", cgrpc_pb_type_name(t), cgrpc_strerror(rc),
              detail && *detail ? " (" : "", detail ? detail : "", detail && *detail ? ")" : "");
    }
  }
  cgrpc_pb_msg_destroy(msg);
  return out;
}

PyObject *cgb_pb_decode(cgrpc_pb_pool *pool, const char *type_name, PyObject *data) {
  const cgrpc_pb_type *t = pd_type(pool, type_name);
  if (!t) return NULL;
  Py_buffer view;
  if (PyUnicode_Check(data) || PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) != 0) {
    PyErr_Clear();
    pd_fail("%s: expected bytes to decode, got %.100s", cgrpc_pb_type_name(t),
            Py_TYPE(data)->tp_name);
    return NULL;
  }
  cgrpc_pb_msg *msg = NULL;
  int rc = cgrpc_pb_msg_decode(&msg, t, view.buf, (size_t)view.len);
  PyBuffer_Release(&view);
  if (rc) {
    if (rc == CGRPC_E_NOMEM) return PyErr_NoMemory();
    const char *detail = cgrpc_last_error();
    pd_fail("%s: cannot decode: %s%s%s%s", cgrpc_pb_type_name(t), cgrpc_strerror(rc),
            detail && *detail ? " (" : "", detail ? detail : "", detail && *detail ? ")" : "");
    return NULL;
  }
  PyObject *out = pd_msg_to_dict(msg, 0);
  cgrpc_pb_msg_destroy(msg);
  return out;
}

PyObject *cgb_pb_services(cgrpc_pb_pool *pool) {
  if (!pool) {
    PyErr_SetString(PyExc_ValueError, "the descriptor pool is closed");
    return NULL;
  }
  size_t n = cgrpc_pb_pool_service_count(pool);
  PyObject *l = PyList_New((Py_ssize_t)n);
  if (!l) return NULL;
  for (size_t i = 0; i < n; i++) {
    PyObject *s = PyUnicode_FromString(cgrpc_pb_pool_service_name(pool, i));
    if (!s) {
      Py_DECREF(l);
      return NULL;
    }
    PyList_SET_ITEM(l, (Py_ssize_t)i, s);
  }
  return l;
}

PyObject *cgb_pb_methods(cgrpc_pb_pool *pool, const char *service) {
  if (!pool) {
    PyErr_SetString(PyExc_ValueError, "the descriptor pool is closed");
    return NULL;
  }
  size_t ns = cgrpc_pb_pool_service_count(pool), s;
  for (s = 0; s < ns; s++)
    if (strcmp(cgrpc_pb_pool_service_name(pool, s), service) == 0) break;
  if (s == ns) Py_RETURN_NONE;
  size_t n = cgrpc_pb_pool_method_count(pool, s);
  PyObject *l = PyList_New((Py_ssize_t)n);
  if (!l) return NULL;
  for (size_t i = 0; i < n; i++) {
    const cgrpc_pb_method *m = cgrpc_pb_pool_method(pool, s, i);
    PyObject *x = Py_BuildValue(
        "(ssssNN)", cgrpc_pb_method_name(m), cgrpc_pb_method_path(m),
        cgrpc_pb_type_name(cgrpc_pb_method_input(m)),
        cgrpc_pb_type_name(cgrpc_pb_method_output(m)),
        PyBool_FromLong(cgrpc_pb_method_client_streaming(m)),
        PyBool_FromLong(cgrpc_pb_method_server_streaming(m)));
    if (!x) {
      Py_DECREF(l);
      return NULL;
    }
    PyList_SET_ITEM(l, (Py_ssize_t)i, x);
  }
  return l;
}

PyObject *cgb_pb_has_type(cgrpc_pb_pool *pool, const char *name) {
  if (!pool) {
    PyErr_SetString(PyExc_ValueError, "the descriptor pool is closed");
    return NULL;
  }
  return PyBool_FromLong(cgrpc_pb_pool_find_type(pool, name) != NULL);
}
