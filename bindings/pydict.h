/* Protobuf messages as Python dicts, over cgrpc_pb.h (bindings/pydict.c).
 *
 * Wrapped by bindings/cgrpc.i for the Python module only, every function
 * %nothread: they build and read Python objects, so they run with the GIL
 * held.  On failure they return NULL with a Python exception set: the
 * class given to cgb_pb_set_error_class (cgrpc.ProtobufError, a
 * ValueError; ValueError until set), its message naming the field
 * ("helloworld.HelloRequest.name: expected str, got dict").
 *
 * Value mapping: integers of every width are Python ints (exact, range
 * checked on input; bool is refused); double/float are floats (ints
 * accepted; a float comes out as the shortest decimal that reads back as
 * the same float); bool; string is str; bytes is bytes (input: any
 * buffer); enum is the value's name (its number if undeclared; input:
 * either); message is a dict keyed by proto field names (JSON names
 * accepted on input; None values are skipped); repeated is a list (input:
 * list or tuple); map is a dict.  Unset fields are absent from the output;
 * of a oneof only the set member appears. */
#ifndef CGRPC_PYDICT_H
#define CGRPC_PYDICT_H

#include <Python.h>

#include "cgrpc_pb.h"

/* Sets the exception class raised for conversion errors (new reference
 * kept).  Returns Py_None, or NULL if cls is not an exception class. */
PyObject *cgb_pb_set_error_class(PyObject *cls);
/* dict -> wire bytes of message type type_name. */
PyObject *cgb_pb_encode(cgrpc_pb_pool *pool, const char *type_name, PyObject *obj);
/* wire bytes (any buffer) -> dict. */
PyObject *cgb_pb_decode(cgrpc_pb_pool *pool, const char *type_name, PyObject *data);
/* [service full names] */
PyObject *cgb_pb_services(cgrpc_pb_pool *pool);
/* [(name, path, input, output, client_streaming, server_streaming)] or
 * None if the pool has no such service. */
PyObject *cgb_pb_methods(cgrpc_pb_pool *pool, const char *service);
/* True if the pool defines message type name. */
PyObject *cgb_pb_has_type(cgrpc_pb_pool *pool, const char *name);

#endif
