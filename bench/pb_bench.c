/*
 * pb_bench.c - encode/decode throughput of cgrpc's dynamic protobuf layer
 * (cgrpc_pb.h) and of protobuf-c generated code, on the same bytes.
 *
 * Run by bench/pb_bench.py (make bench-pb), which makes the inputs with
 * Python protobuf and runs this program once per repeat:
 *
 *   build/bin/pb_bench --set build/bench/pb/pb_bench.pb --seconds 0.5 \
 *       [--first cgrpc|pbc] --case LABEL:TYPE:FILE [--case ...]
 *
 * TYPE is a full message name of the descriptor set (cgrpc.bench.Order);
 * protobuf-c's generated descriptor of the same name is used for the
 * protobuf-c side.  For each case the program first checks that both
 * implementations decode FILE and re-encode it to the same number of
 * bytes, then times, for each operation (decode, encode) and each
 * implementation (the one given by --first goes first):
 *
 *   decode  cgrpc: cgrpc_pb_msg_decode + cgrpc_pb_msg_destroy
 *           pbc:   protobuf_c_message_unpack + protobuf_c_message_free_unpacked
 *   encode  cgrpc: cgrpc_pb_msg_encode (allocates the output) + cgrpc_free,
 *                  from a message decoded once beforehand
 *           pbc:   protobuf_c_message_get_packed_size + malloc +
 *                  protobuf_c_message_pack + free, from a message unpacked
 *                  once beforehand
 *
 * Each timing runs batches of iterations until --seconds have passed (a
 * short untimed warm-up first).  Output: one JSON object per line, check
 * lines ({"check": ...}) then result lines ({"msg", "impl", "op", "ops",
 * "secs", "size"}).  Exit status 0 if every check passed, 1 if one failed,
 * 2 on a usage or I/O error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "cgrpc.h"
#include "cgrpc_pb.h"
#include "pb_bench.pb-c.h"

#define MAX_CASES 8
/* Hard bounds on every timing loop, whatever the clock does. */
#define MAX_BATCH (1u << 20)
#define MAX_BATCHES 100000u

typedef struct bench_case {
  const char *label;
  const char *type_name;
  const char *path;
  uint8_t *data;
  size_t len;
  const cgrpc_pb_type *type;
  const ProtobufCMessageDescriptor *pbc_desc;
  cgrpc_pb_msg *cg_msg;      /* decoded once, for encode */
  ProtobufCMessage *pbc_msg; /* unpacked once, for encode */
} bench_case;

static const ProtobufCMessageDescriptor *const pbc_descs[] = {
    &cgrpc__bench__hello_request__descriptor,
    &cgrpc__bench__order__descriptor,
    &cgrpc__bench__point__descriptor,
    &cgrpc__bench__tag__descriptor,
    &cgrpc__bench__line_item__descriptor,
};

static volatile size_t sink; /* keeps results observable */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int read_file(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "pb_bench: %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  /* Bounded: inputs of this benchmark are small; refuse anything > 64 MiB. */
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
    if (n == cap) {
      if (cap >= (64u << 20)) {
        fprintf(stderr, "pb_bench: %s: too large\n", path);
        free(buf);
        buf = NULL;
        break;
      }
      uint8_t *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  int err = ferror(f);
  fclose(f);
  if (!buf || err) {
    free(buf);
    fprintf(stderr, "pb_bench: cannot read %s\n", path);
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

/* ---- the four operations: one iteration each; return 0 or -1 ---- */

static int cg_decode(bench_case *c) {
  cgrpc_pb_msg *m;
  if (cgrpc_pb_msg_decode(&m, c->type, c->data, c->len) != CGRPC_OK)
    return -1;
  sink += (size_t)(uintptr_t)m & 1;
  cgrpc_pb_msg_destroy(m);
  return 0;
}

static int cg_encode(bench_case *c) {
  uint8_t *out;
  size_t n;
  if (cgrpc_pb_msg_encode(c->cg_msg, &out, &n) != CGRPC_OK) return -1;
  sink += n + out[0];
  cgrpc_free(out);
  return 0;
}

static int pbc_decode(bench_case *c) {
  ProtobufCMessage *m = protobuf_c_message_unpack(c->pbc_desc, NULL, c->len,
                                                  c->data);
  if (!m) return -1;
  sink += (size_t)(uintptr_t)m & 1;
  protobuf_c_message_free_unpacked(m, NULL);
  return 0;
}

static int pbc_encode(bench_case *c) {
  size_t n = protobuf_c_message_get_packed_size(c->pbc_msg);
  uint8_t *out = malloc(n ? n : 1);
  if (!out) return -1;
  size_t w = protobuf_c_message_pack(c->pbc_msg, out);
  sink += w + (n ? out[0] : 0);
  free(out);
  return w == n ? 0 : -1;
}

typedef int (*op_fn)(bench_case *);

/* Runs fn in batches until `seconds` have passed; *ops and *secs get the
 * iterations and the time they took.  -1 if an iteration failed. */
static int time_op(op_fn fn, bench_case *c, double seconds, uint64_t *ops,
                   double *secs) {
  /* Warm-up: about 5% of the run, at most 50 ms, untimed. */
  double warm = seconds * 0.05 > 0.05 ? 0.05 : seconds * 0.05;
  double t0 = now_s();
  for (unsigned i = 0; i < MAX_BATCHES && now_s() - t0 < warm; i++)
    for (unsigned j = 0; j < 64; j++)
      if (fn(c)) return -1;

  unsigned batch = 16;
  uint64_t n = 0;
  double start = now_s(), t = start;
  for (unsigned b = 0; b < MAX_BATCHES; b++) {
    double bs = t;
    for (unsigned j = 0; j < batch; j++)
      if (fn(c)) return -1;
    n += batch;
    t = now_s();
    if (t - start >= seconds) break;
    /* Aim at batches of about 2 ms so the clock is read rarely. */
    if (t - bs < 0.002 && batch < MAX_BATCH) batch *= 2;
  }
  *ops = n;
  *secs = t - start;
  return 0;
}

/* Decodes and re-encodes c->data with both implementations; keeps the
 * decoded messages for the encode timings.  0 if both re-encode to
 * c->len bytes. */
static int check_case(bench_case *c) {
  int ok = 1;
  uint8_t *cg_out = NULL, *pbc_out = NULL;
  size_t cg_len = 0, pbc_len = 0;

  if (cgrpc_pb_msg_decode(&c->cg_msg, c->type, c->data, c->len) != CGRPC_OK) {
    const char *e = cgrpc_last_error();
    fprintf(stderr, "pb_bench: cgrpc cannot decode %s: %s\n", c->path,
            e ? e : "?");
    c->cg_msg = NULL;
    ok = 0;
  } else if (cgrpc_pb_msg_encode(c->cg_msg, &cg_out, &cg_len) != CGRPC_OK) {
    fprintf(stderr, "pb_bench: cgrpc cannot encode %s\n", c->label);
    ok = 0;
  }
  c->pbc_msg = protobuf_c_message_unpack(c->pbc_desc, NULL, c->len, c->data);
  if (!c->pbc_msg) {
    fprintf(stderr, "pb_bench: protobuf-c cannot unpack %s\n", c->path);
    ok = 0;
  } else {
    pbc_len = protobuf_c_message_get_packed_size(c->pbc_msg);
    pbc_out = malloc(pbc_len ? pbc_len : 1);
    if (!pbc_out ||
        protobuf_c_message_pack(c->pbc_msg, pbc_out) != pbc_len)
      ok = 0;
  }
  if (ok && (cg_len != c->len || pbc_len != c->len)) ok = 0;
  printf("{\"check\": \"%s\", \"msg\": \"%s\", \"type\": \"%s\", "
         "\"input_size\": %zu, \"cgrpc_reencoded\": %zu, "
         "\"pbc_reencoded\": %zu, \"cgrpc_identical\": %s, "
         "\"pbc_identical\": %s}\n",
         ok ? "ok" : "FAILED", c->label, c->type_name, c->len, cg_len,
         pbc_len,
         cg_out && cg_len == c->len && !memcmp(cg_out, c->data, c->len)
             ? "true" : "false",
         pbc_out && pbc_len == c->len && !memcmp(pbc_out, c->data, c->len)
             ? "true" : "false");
  fflush(stdout);
  cgrpc_free(cg_out);
  free(pbc_out);
  return ok ? 0 : -1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: pb_bench --set FILE [--seconds S] [--first cgrpc|pbc]\n"
          "                --case LABEL:TYPE:FILE [--case ...]\n");
}

int main(int argc, char **argv) {
  const char *set_path = NULL;
  double seconds = 0.5;
  int pbc_first = 0;
  bench_case cases[MAX_CASES];
  size_t ncases = 0;
  memset(cases, 0, sizeof cases);

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) {
      usage();
      return 2;
    }
    const char *v = argv[++i];
    if (!strcmp(a, "--set")) {
      set_path = v;
    } else if (!strcmp(a, "--seconds")) {
      seconds = atof(v);
      if (!(seconds > 0 && seconds <= 60)) {
        fprintf(stderr, "pb_bench: --seconds must be in (0, 60]\n");
        return 2;
      }
    } else if (!strcmp(a, "--first")) {
      if (!strcmp(v, "pbc")) pbc_first = 1;
      else if (!strcmp(v, "cgrpc")) pbc_first = 0;
      else {
        usage();
        return 2;
      }
    } else if (!strcmp(a, "--case")) {
      if (ncases == MAX_CASES) {
        fprintf(stderr, "pb_bench: at most %d cases\n", MAX_CASES);
        return 2;
      }
      /* LABEL:TYPE:FILE (FILE may itself contain ':'). */
      char *s = strdup(v);
      char *c1 = s ? strchr(s, ':') : NULL;
      char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
      if (!c2) {
        usage();
        free(s);
        return 2;
      }
      *c1 = *c2 = '\0';
      cases[ncases].label = s;
      cases[ncases].type_name = c1 + 1;
      cases[ncases].path = c2 + 1;
      ncases++;
    } else {
      usage();
      return 2;
    }
  }
  if (!set_path || ncases == 0) {
    usage();
    return 2;
  }

  uint8_t *set;
  size_t set_len;
  if (read_file(set_path, &set, &set_len)) return 2;
  cgrpc_pb_pool *pool;
  if (cgrpc_pb_pool_load(&pool, set, set_len) != CGRPC_OK) {
    const char *e = cgrpc_last_error();
    fprintf(stderr, "pb_bench: cannot load %s: %s\n", set_path, e ? e : "?");
    return 2;
  }
  free(set);

  int failed = 0;
  for (size_t i = 0; i < ncases; i++) {
    bench_case *c = &cases[i];
    if (read_file(c->path, &c->data, &c->len)) return 2;
    c->type = cgrpc_pb_pool_find_type(pool, c->type_name);
    for (size_t k = 0; k < sizeof pbc_descs / sizeof pbc_descs[0]; k++)
      if (!strcmp(pbc_descs[k]->name, c->type_name)) c->pbc_desc = pbc_descs[k];
    if (!c->type || !c->pbc_desc) {
      fprintf(stderr, "pb_bench: unknown type %s\n", c->type_name);
      return 2;
    }
    if (check_case(c)) failed = 1;
  }
  if (failed) return 1;

  static const char *const op_names[2] = {"decode", "encode"};
  const op_fn cg_ops[2] = {cg_decode, cg_encode};
  const op_fn pbc_ops[2] = {pbc_decode, pbc_encode};
  for (size_t i = 0; i < ncases; i++) {
    bench_case *c = &cases[i];
    for (int op = 0; op < 2; op++) {
      for (int k = 0; k < 2; k++) {
        int is_pbc = (k == 0) == pbc_first;
        uint64_t ops;
        double secs;
        if (time_op(is_pbc ? pbc_ops[op] : cg_ops[op], c, seconds, &ops,
                    &secs)) {
          fprintf(stderr, "pb_bench: %s %s %s failed\n",
                  is_pbc ? "protobuf-c" : "cgrpc", op_names[op], c->label);
          return 1;
        }
        printf("{\"msg\": \"%s\", \"impl\": \"%s\", \"op\": \"%s\", "
               "\"ops\": %llu, \"secs\": %.6f, \"size\": %zu}\n",
               c->label, is_pbc ? "pbc" : "cgrpc", op_names[op],
               (unsigned long long)ops, secs, c->len);
        fflush(stdout);
      }
    }
  }

  for (size_t i = 0; i < ncases; i++) {
    cgrpc_pb_msg_destroy(cases[i].cg_msg);
    if (cases[i].pbc_msg) protobuf_c_message_free_unpacked(cases[i].pbc_msg, NULL);
    free(cases[i].data);
    free((char *)cases[i].label);
  }
  cgrpc_pb_pool_destroy(pool);
  return (int)(sink & 0); /* 0; reads sink */
}
