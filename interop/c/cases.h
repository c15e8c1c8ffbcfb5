/* grpc's 14 standard interop client cases
 * (doc/interop-test-descriptions.md, "Client"). */
#ifndef INTEROP_CASES_H
#define INTEROP_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "cgrpc.h"

typedef struct interop_client {
  cgrpc_channel *ch;
  cgrpc_stub *test;   /* grpc.testing.TestService */
  cgrpc_stub *unimpl; /* grpc.testing.UnimplementedService */
  int64_t timeout_ms; /* deadline of every call (but the 1 ms one) */
  const uint8_t *zeros; /* INTEROP_MAX_REQUEST zero bytes for payloads */
} interop_client;

/* The largest request payload a case sends (large_unary's). */
#define INTEROP_MAX_REQUEST 271828

/* Runs one case: 0 on a pass; otherwise -1 with the reason in why. */
typedef int (*interop_case_fn)(const interop_client *c, char *why, size_t n);

typedef struct interop_case {
  const char *name;
  interop_case_fn run;
} interop_case;

/* All cases in the doc's order; *n gets their number. */
const interop_case *interop_cases(size_t *n);
/* The case called name, or NULL. */
const interop_case *interop_case_find(const char *name);

#endif
