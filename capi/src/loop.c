/* epoll + eventfd loop with a task queue and a timer heap. */
#include "loop.h"

#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct cg_loop {
  int epfd, evfd;
  pthread_t thread;
  int started;
  char name[16];

  pthread_mutex_t qmu;
  cg_task *head, *tail;
  int stopped; /* under qmu: no more posts accepted */
  int quit;    /* loop thread only */

  cg_timer **heap;
  size_t nheap, capheap;
};

static void *loop_main(void *arg);

int cg_loop_create(cg_loop **out, const char *name) {
  cg_loop *l = calloc(1, sizeof(*l));
  if (!l) return CGRPC_E_NOMEM;
  snprintf(l->name, sizeof(l->name), "%s", name);
  pthread_mutex_init(&l->qmu, NULL);
  l->epfd = epoll_create1(EPOLL_CLOEXEC);
  l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (l->epfd < 0 || l->evfd < 0) goto fail;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0) goto fail;
  if (pthread_create(&l->thread, NULL, loop_main, l) != 0) goto fail;
  l->started = 1;
  *out = l;
  return CGRPC_OK;
fail:
  cg_loop_free(l);
  return CGRPC_E_SYSTEM;
}

void cg_loop_quit(cg_loop *loop) { loop->quit = 1; }

void cg_loop_join(cg_loop *loop) {
  if (loop->started) {
    pthread_join(loop->thread, NULL);
    loop->started = 0;
  }
}

void cg_loop_free(cg_loop *l) {
  if (!l) return;
  if (l->epfd >= 0) close(l->epfd);
  if (l->evfd >= 0) close(l->evfd);
  pthread_mutex_destroy(&l->qmu);
  free(l->heap);
  free(l);
}

int cg_loop_in_thread(const cg_loop *loop) {
  return loop->started && pthread_equal(pthread_self(), loop->thread);
}

int cg_loop_post(cg_loop *l, cg_task *t) {
  pthread_mutex_lock(&l->qmu);
  if (l->stopped) {
    pthread_mutex_unlock(&l->qmu);
    return -1;
  }
  if (t->queued) {
    pthread_mutex_unlock(&l->qmu);
    return 0;
  }
  t->queued = 1;
  t->next = NULL;
  int was_empty = l->head == NULL;
  if (l->tail)
    l->tail->next = t;
  else
    l->head = t;
  l->tail = t;
  pthread_mutex_unlock(&l->qmu);
  /* The loop drains the whole queue per wake-up, so only the first post
   * into an empty queue needs to wake it. */
  if (was_empty && !cg_loop_in_thread(l)) {
    uint64_t one = 1;
    ssize_t r = write(l->evfd, &one, sizeof(one));
    CG_UNUSED(r);
  }
  return 1;
}

int cg_loop_watch(cg_loop *l, cg_watch *w, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = w};
  return epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? CGRPC_E_SYSTEM : 0;
}
int cg_loop_rewatch(cg_loop *l, cg_watch *w, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = w};
  return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? CGRPC_E_SYSTEM : 0;
}
void cg_loop_unwatch(cg_loop *l, cg_watch *w) {
  epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

/* ---- timer heap (min-heap on when) ---- */

static void heap_swap(cg_loop *l, size_t a, size_t b) {
  cg_timer *t = l->heap[a];
  l->heap[a] = l->heap[b];
  l->heap[b] = t;
  l->heap[a]->idx = a;
  l->heap[b]->idx = b;
}
static void heap_up(cg_loop *l, size_t i) {
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (l->heap[p]->when <= l->heap[i]->when) break;
    heap_swap(l, p, i);
    i = p;
  }
}
static void heap_down(cg_loop *l, size_t i) {
  for (;;) {
    size_t c = 2 * i + 1, m = i;
    if (c < l->nheap && l->heap[c]->when < l->heap[m]->when) m = c;
    if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[m]->when) m = c + 1;
    if (m == i) break;
    heap_swap(l, i, m);
    i = m;
  }
}

void cg_timer_cancel(cg_loop *l, cg_timer *t) {
  size_t i = t->idx;
  if (i == SIZE_MAX) return;
  t->idx = SIZE_MAX;
  l->nheap--;
  if (i == l->nheap) return;
  l->heap[i] = l->heap[l->nheap];
  l->heap[i]->idx = i;
  heap_down(l, i);
  heap_up(l, i);
}

int cg_timer_set(cg_loop *l, cg_timer *t, int64_t when) {
  cg_timer_cancel(l, t);
  if (l->nheap == l->capheap) {
    size_t cap = l->capheap ? l->capheap * 2 : 16;
    cg_timer **h = realloc(l->heap, cap * sizeof(*h));
    if (!h) return CGRPC_E_NOMEM;
    l->heap = h;
    l->capheap = cap;
  }
  t->when = when;
  t->idx = l->nheap;
  l->heap[l->nheap++] = t;
  heap_up(l, t->idx);
  return 0;
}

/* ---- the loop ---- */

static void run_tasks(cg_loop *l, int final) {
  for (;;) {
    pthread_mutex_lock(&l->qmu);
    cg_task *t = l->head;
    l->head = l->tail = NULL;
    /* Refuse new posts only once the queue is empty, so work queued by
     * the last tasks (a transport's teardown) still runs. */
    if (final && !t) l->stopped = 1;
    pthread_mutex_unlock(&l->qmu);
    if (!t) return;
    while (t) {
      /* Clear queued just before running, so a task re-posted while an
       * earlier one runs is not relinked while still on this list. */
      pthread_mutex_lock(&l->qmu);
      cg_task *next = t->next;
      t->queued = 0;
      pthread_mutex_unlock(&l->qmu);
      t->fn(t);
      t = next;
    }
  }
}

static void run_timers(cg_loop *l) {
  int64_t now = cg_now_ns();
  while (l->nheap > 0 && l->heap[0]->when <= now) {
    cg_timer *t = l->heap[0];
    cg_timer_cancel(l, t);
    t->fn(t);
  }
}

static void *loop_main(void *arg) {
  cg_loop *l = arg;
  /* OpenSSL writes to the socket with write(), which raises SIGPIPE when
   * the peer has gone; a library must not kill its host for that.  With
   * the signal blocked on this thread the write just fails with EPIPE. */
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, NULL);
  struct epoll_event evs[64];
  while (!l->quit) {
    int timeout = -1;
    if (l->nheap > 0) {
      int64_t d = l->heap[0]->when - cg_now_ns();
      timeout = d <= 0 ? 0 : (int)CG_MIN(d / CG_MS + 1, 60000);
    }
    int n = epoll_wait(l->epfd, evs, 64, timeout);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; i++) {
      cg_watch *w = evs[i].data.ptr;
      if (!w) {
        uint64_t v;
        ssize_t r = read(l->evfd, &v, sizeof(v));
        CG_UNUSED(r);
        continue;
      }
      w->fn(w, evs[i].events);
    }
    run_timers(l);
    run_tasks(l, 0);
  }
  run_tasks(l, 1);
  return NULL;
}
