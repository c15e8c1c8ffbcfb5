/* Targets and addresses: parsing "host:port", "[v6]:port", "dns:///...",
 * "unix:/path"; resolving; naming a peer. */
#ifndef CG_ADDRESS_H
#define CG_ADDRESS_H

#include "internal.h"

#include <sys/socket.h>

typedef struct cg_target {
  char *host;      /* NULL for unix */
  char *port;      /* decimal string */
  char *unix_path; /* non-NULL for unix sockets */
  char *authority; /* default :authority ("host:port" or "localhost") */
  int numeric;     /* host is an IP literal: no resolver needed */
} cg_target;

/* Parses target; returns 0 or CGRPC_E_TARGET / CGRPC_E_NOMEM. */
int cg_target_parse(cg_target *t, const char *target);
void cg_target_free(cg_target *t);

typedef struct cg_addr {
  struct sockaddr_storage ss;
  socklen_t len;
} cg_addr;

/* Resolves t into at most max addresses (blocking for host names).
 * Returns the count (>= 1), or -1 with a message in err. */
int cg_target_resolve(const cg_target *t, cg_addr *out, int max, char *err,
                      size_t errlen);

/* "ipv4:1.2.3.4:80", "ipv6:[::1]:80", "unix:/p" */
void cg_addr_name(const struct sockaddr *sa, socklen_t len, char *buf,
                  size_t buflen);

#endif
