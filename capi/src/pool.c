/* Growing thread pool for RPC handlers (see pool.h). */
#include "pool.h"

struct cg_pool {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  cg_job *head, *tail;
  int max, nthreads, idle, stopping;
  pthread_t *threads;
};

static void *worker(void *arg) {
  cg_pool *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->head && !p->stopping) {
      p->idle++;
      pthread_cond_wait(&p->cv, &p->mu);
      p->idle--;
    }
    cg_job *j = p->head;
    if (!j) break; /* stopping and nothing left */
    p->head = j->next;
    if (!p->head) p->tail = NULL;
    pthread_mutex_unlock(&p->mu);
    j->fn(j);
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

int cg_pool_create(cg_pool **out, int max_threads) {
  cg_pool *p = calloc(1, sizeof(*p));
  if (!p) return CGRPC_E_NOMEM;
  p->threads = calloc((size_t)max_threads, sizeof(pthread_t));
  if (!p->threads) {
    free(p);
    return CGRPC_E_NOMEM;
  }
  p->max = max_threads;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  *out = p;
  return CGRPC_OK;
}

int cg_pool_submit(cg_pool *p, cg_job *j) {
  pthread_mutex_lock(&p->mu);
  if (p->stopping) {
    pthread_mutex_unlock(&p->mu);
    return CGRPC_E_STATE;
  }
  j->next = NULL;
  if (p->tail)
    p->tail->next = j;
  else
    p->head = j;
  p->tail = j;
  if (p->idle > 0) {
    pthread_cond_signal(&p->cv);
  } else if (p->nthreads < p->max) {
    if (pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0)
      p->nthreads++;
    /* If no thread could start, a running one picks the job up later. */
  }
  pthread_mutex_unlock(&p->mu);
  return CGRPC_OK;
}

void cg_pool_shutdown(cg_pool *p) {
  pthread_mutex_lock(&p->mu);
  p->stopping = 1;
  pthread_cond_broadcast(&p->cv);
  int n = p->nthreads;
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < n; i++) pthread_join(p->threads[i], NULL);
  pthread_mutex_lock(&p->mu);
  p->nthreads = 0;
  pthread_mutex_unlock(&p->mu);
}

void cg_pool_free(cg_pool *p) {
  if (!p) return;
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p->threads);
  free(p);
}
