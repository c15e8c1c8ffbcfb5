/* Test-only methods (cgrpc.test.Probe) that report what a handler sees. */
#ifndef PROBES_H
#define PROBES_H

#include <stdatomic.h>

#include "cgrpc.h"

/* Set by WaitCancel when its handler saw the cancellation. */
extern atomic_int probe_cancel_seen;
/* Messages Flood has handed to cgrpc_call_send so far. */
extern atomic_int probe_flood_sent;
/* Handlers of Sleep running right now, and the most at once. */
extern atomic_int probe_running, probe_max_running;

/* Misuse: how many of its 8 misuse checks gave the right code. */
extern atomic_int probe_misuse_ok;

int probes_register(cgrpc_server *srv);

#endif
