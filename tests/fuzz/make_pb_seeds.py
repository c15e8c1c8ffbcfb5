"""Seed corpora for the libFuzzer targets, made from the test schema at
build time: python-protobuf messages for fuzz_pb_decode (first byte: type
index, as in fuzz_pb_decode.c) and descriptor sets for fuzz_pb_pool.

usage: make_pb_seeds.py SET OUTDIR"""
import os
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pb"))

TYPES = ["pbtest.All", "pbtest.Scalars", "pbtest.legacy.Req", "pbtest.legacy.Defaults",
         "google.protobuf.Timestamp", "pbtest.All.MI32PointEntry"]


def main(set_path, out):
    raw = open(set_path, "rb").read()
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(raw)
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    cls = lambda n: message_factory.GetMessageClass(pool.FindMessageTypeByName(n))  # noqa
    import test_pb_oracle as t  # full_all and the merge cases

    msgs = []
    full = t.full_all(cls)
    msgs.append((0, full.SerializeToString()))
    msgs.append((0, b""))
    for i, data in enumerate(t._merge_cases(cls("pbtest.All"))):
        msgs.append((0, data))
    msgs.append((1, full.s.SerializeToString()))
    Req = cls("pbtest.legacy.Req")
    r = Req(id=1, name="n", level=5, p_str="s")
    r.child.id = 2
    r.child.name = "c"
    r.unpacked.extend([1, 2])
    r.packed.extend([3, 4])
    msgs.append((2, r.SerializeToString() + bytes([0xa0, 0x06, 0x2a])))
    msgs.append((3, cls("pbtest.legacy.Defaults")(d_i32=1, d_str="x", d_level=5).SerializeToString()))
    msgs.append((4, full.ts.SerializeToString()))
    d = os.path.join(out, "seeds_fuzz_pb_decode")
    os.makedirs(d, exist_ok=True)
    for i, (ty, data) in enumerate(msgs):
        with open(os.path.join(d, "seed%02d" % i), "wb") as f:
            f.write(bytes([ty]) + data)

    d = os.path.join(out, "seeds_fuzz_pb_pool")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "full"), "wb") as f:
        f.write(raw)
    # each file with what it needs, and without source info to stay small
    for k, fd in enumerate(fds.file):
        sub = descriptor_pb2.FileDescriptorSet()
        names = set(fd.dependency) | {fd.name}
        for g in fds.file:
            if g.name in names:
                h = sub.file.add()
                h.CopyFrom(g)
                h.ClearField("source_code_info")
        with open(os.path.join(d, "file%02d" % k), "wb") as f:
            f.write(sub.SerializeToString())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
