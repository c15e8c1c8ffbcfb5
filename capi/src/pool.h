/* A pool of handler threads that grows on demand up to a bound; jobs
 * beyond it wait in FIFO order.  Any thread may submit. */
#ifndef CG_POOL_H
#define CG_POOL_H

#include "internal.h"

typedef struct cg_job {
  struct cg_job *next;
  void (*fn)(struct cg_job *job);
} cg_job;

typedef struct cg_pool cg_pool;

int cg_pool_create(cg_pool **out, int max_threads);
/* Queues job; starts a thread if none is idle and the bound allows.
 * Returns 0, or CGRPC_E_STATE after shutdown. */
int cg_pool_submit(cg_pool *p, cg_job *job);
/* Runs what is queued, then stops and joins every thread. */
void cg_pool_shutdown(cg_pool *p);
void cg_pool_free(cg_pool *p);

#endif
