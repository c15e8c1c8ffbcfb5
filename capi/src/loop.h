/* The I/O loop: one thread that owns sockets and nghttp2 sessions.  Other
 * threads talk to it only through cg_loop_post(); timers and fd watches
 * are touched on the loop thread only. */
#ifndef CG_LOOP_H
#define CG_LOOP_H

#include "internal.h"

typedef struct cg_loop cg_loop;

/* Work handed to the loop.  Embedded in its owner; a task is queued at
 * most once at a time (posting it again while queued is a no-op). */
typedef struct cg_task {
  struct cg_task *next;
  void (*fn)(struct cg_task *task);
  int queued; /* guarded by the loop's queue lock */
} cg_task;

typedef struct cg_watch {
  int fd;
  void (*fn)(struct cg_watch *w, uint32_t events);
} cg_watch;

typedef struct cg_timer {
  int64_t when;
  size_t idx; /* position in the heap, SIZE_MAX when not armed */
  void (*fn)(struct cg_timer *t);
} cg_timer;

int cg_loop_create(cg_loop **out, const char *name);
/* Asks the loop to finish: tasks still queued run, then the thread ends.
 * Loop thread only. */
void cg_loop_quit(cg_loop *loop);
/* Waits for the loop thread to end (never from the loop thread). */
void cg_loop_join(cg_loop *loop);
void cg_loop_free(cg_loop *loop);

/* Queues task.  Returns 1 if queued now, 0 if it already was, -1 if the
 * loop has stopped (the task will never run).  Any thread. */
int cg_loop_post(cg_loop *loop, cg_task *task);
int cg_loop_in_thread(const cg_loop *loop);

/* fd watches (EPOLLIN/EPOLLOUT bits); loop thread only. */
int cg_loop_watch(cg_loop *loop, cg_watch *w, uint32_t events);
int cg_loop_rewatch(cg_loop *loop, cg_watch *w, uint32_t events);
void cg_loop_unwatch(cg_loop *loop, cg_watch *w);

static inline void cg_timer_init(cg_timer *t, void (*fn)(cg_timer *)) {
  t->when = 0;
  t->idx = SIZE_MAX;
  t->fn = fn;
}
/* Arms (or re-arms) t for the monotonic time when; loop thread only. */
int cg_timer_set(cg_loop *loop, cg_timer *t, int64_t when);
void cg_timer_cancel(cg_loop *loop, cg_timer *t);

#endif
