/* Channel: a target, its options, and the one connection (with
 * reconnection and backoff) that its calls share.  Connection state is
 * loop-only; the public state copy is under ch->mu. */
#ifndef CG_CHANNEL_H
#define CG_CHANNEL_H

#include "address.h"
#include "call.h"
#include "loop.h"
#include "tls.h"
#include "transport.h"

struct cgrpc_channel_options {
  int64_t connect_timeout_ms;
  int64_t max_send, max_recv;
  char *ua_prefix;
  char *authority;
  cgrpc_metadata md;
  int64_t backoff_initial_ms, backoff_max_ms;
  double backoff_multiplier, backoff_jitter;
  cgrpc_credentials *creds;
};

#define CG_MAX_ADDRS 16

struct cgrpc_channel {
  atomic_int refs; /* the user's handle, each stub, each call */
  cg_loop *loop;
  cg_target target;
  char *authority;
  char *user_agent;
  cgrpc_metadata default_md;
  int64_t max_send, max_recv;
  int64_t min_connect_ns;
  int64_t backoff_initial_ns, backoff_max_ns;
  double backoff_mult, backoff_jitter;
  cgrpc_credentials *creds; /* NULL or insecure: h2c */

  pthread_mutex_t mu;
  pthread_cond_t cv;
  cgrpc_connectivity_state state; /* (mu) */
  int closed;                     /* (mu) destroy was called */
  /* (mu) resolver thread's answer */
  cg_addr res_addrs[CG_MAX_ADDRS];
  int res_n;
  char res_err[200];

  /* (loop) */
  int shutdown;
  cg_transport *t;        /* ready connection for new calls */
  cg_transport *pending;  /* connected, TLS handshake under way */
  cg_transport *draining; /* connections finishing after GOAWAY */
  cgrpc_call *whead, *wtail; /* calls waiting for a connection */
  int connecting;
  int cfd;
  cg_watch cwatch;
  cg_timer ctimer; /* connect attempt timeout */
  cg_timer btimer; /* backoff before the next attempt */
  cg_addr addrs[CG_MAX_ADDRS];
  int naddrs, ai;
  int64_t cur_backoff_ns, next_attempt_ns;
  char last_error[400];
  cg_task connect_task, resolved_task, shutdown_task, reset_task;
  cg_transport_settings settings;
};

void cg_channel_ref(cgrpc_channel *ch);
void cg_channel_unref(cgrpc_channel *ch);

#endif
