"""The canonical field-by-field dump of tests/pb/pb_tool.c, from python
protobuf messages (see the format at the top of pb_tool.c)."""
import math
import struct

from google.protobuf.descriptor import FieldDescriptor as FD

SIGNED = {FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32,
          FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64}
UNSIGNED = {FD.TYPE_UINT32, FD.TYPE_FIXED32, FD.TYPE_UINT64, FD.TYPE_FIXED64}


def is_repeated(f):
    rep = getattr(f, "is_repeated", None)
    if rep is not None:
        return rep() if callable(rep) else rep
    return f.label == FD.LABEL_REPEATED


def is_map(f):
    return (f.type == FD.TYPE_MESSAGE and is_repeated(f)
            and f.message_type.GetOptions().map_entry)


def fmt(f, v):
    t = f.type
    if t in SIGNED:
        return "i:%d" % v
    if t in UNSIGNED:
        return "u:%d" % v
    if t == FD.TYPE_ENUM:
        return "e:%d" % v
    if t == FD.TYPE_BOOL:
        return "b:true" if v else "b:false"
    if t == FD.TYPE_FLOAT:
        return "f:nan" if math.isnan(v) else "f:0x%08x" % struct.unpack("<I", struct.pack("<f", v))[0]
    if t == FD.TYPE_DOUBLE:
        return "d:nan" if math.isnan(v) else "d:0x%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]
    if t == FD.TYPE_STRING:
        return "s:" + v.encode("utf-8").hex()
    if t == FD.TYPE_BYTES:
        return "y:" + bytes(v).hex()
    raise ValueError(t)


def dump(msg, prefix=""):
    out = []
    for f in msg.DESCRIPTOR.fields:
        path = prefix + ("." if prefix else "") + f.name
        val = getattr(msg, f.name)
        if is_map(f):
            kf = f.message_type.fields_by_name["key"]
            vf = f.message_type.fields_by_name["value"]
            items = sorted((fmt(kf, k), k) for k in val.keys())
            out.append("%s{#} = %d" % (path, len(items)))
            for kr, k in items:
                p = "%s{%s}" % (path, kr)
                if vf.type == FD.TYPE_MESSAGE:
                    out.append(p + " = <msg>")
                    out.extend(dump(val[k], p))
                else:
                    out.append("%s = %s" % (p, fmt(vf, val[k])))
        elif is_repeated(f):
            out.append("%s[#] = %d" % (path, len(val)))
            for i, v in enumerate(val):
                p = "%s[%d]" % (path, i)
                if f.type == FD.TYPE_MESSAGE:
                    out.append(p + " = <msg>")
                    out.extend(dump(v, p))
                else:
                    out.append("%s = %s" % (p, fmt(f, v)))
        elif f.type == FD.TYPE_MESSAGE:
            if msg.HasField(f.name):
                out.append(path + " = <msg>")
                out.extend(dump(val, path))
            else:
                out.append(path + " = <none>")
        else:
            unset = f.has_presence and not msg.HasField(f.name)
            out.append("%s = %s%s" % (path, fmt(f, val), " [unset]" if unset else ""))
    return out
