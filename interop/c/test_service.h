/* grpc.testing.TestService as grpc's interop server features describe it
 * (doc/interop-test-descriptions.md, "Server").  UnimplementedCall and
 * grpc.testing.UnimplementedService are left out on purpose, so that the
 * library answers UNIMPLEMENTED. */
#ifndef INTEROP_TEST_SERVICE_H
#define INTEROP_TEST_SERVICE_H

#include "cgrpc.h"

typedef struct interop_server_info {
  const char *server_id; /* SimpleResponse.server_id (fill_server_id) */
  char hostname[256];    /* SimpleResponse.hostname (fill_server_id) */
} interop_server_info;

/* Registers the service's handlers on srv (before start).  info must
 * outlive the server.  Returns a cgrpc code. */
int interop_test_service_register(cgrpc_server *srv,
                                  const interop_server_info *info);

#endif
