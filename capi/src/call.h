/* The call object shared by both roles, its user-facing half (send, recv,
 * wait, cancel) and its stream half (run on the loop thread).
 *
 * Locking: fields marked (mu) are shared between user threads and the
 * loop thread and read/written under call->mu.  Fields marked (loop) are
 * touched only on the owning loop thread.  Order: call->mu may be held
 * while posting to the loop (the loop's queue lock is a leaf). */
#ifndef CG_CALL_H
#define CG_CALL_H

#include <nghttp2/nghttp2.h>

#include "internal.h"
#include "loop.h"
#include "metadata.h"
#include "pool.h"

struct cg_transport;

/* Work the loop has to do for a call (bits of call->ops). */
enum {
  CG_OP_START = 1 << 0,   /* client: open the stream */
  CG_OP_DATA = 1 << 1,    /* new outbound data or half-close */
  CG_OP_CANCEL = 1 << 2,  /* reset the stream */
  CG_OP_CONSUME = 1 << 3, /* the reader freed window */
  CG_OP_HEADERS = 1 << 4, /* server: send response headers */
  CG_OP_FINISH = 1 << 5   /* server: send the status */
};

/* One outbound piece: the 5-byte prefix and the message, or an external
 * message buffer sent without copy. */
typedef struct cg_out_chunk {
  struct cg_out_chunk *next;
  const uint8_t *p;
  size_t len;
  cgrpc_destroy_fn release;
  void *release_ud;
  uint8_t inl[];
} cg_out_chunk;

/* Bytes of unsent data a sender may leave queued before it blocks. */
#define CG_SEND_BOUND (64 * 1024)
/* Queued-but-unread bytes beyond which the window is no longer reopened. */
#define CG_RECV_HOLD (64 * 1024)
/* Largest header block accepted (name + value + 32 per field), the
 * SETTINGS_MAX_HEADER_LIST_SIZE we advertise. */
#define CG_MAX_HEADER_LIST (64 * 1024)

typedef struct cg_server_core cg_server_core;
typedef struct cg_method cg_method;

struct cgrpc_call {
  atomic_int refs;
  int is_server;
  cg_loop *loop;
  cgrpc_channel *ch;   /* client: owner (holds a ref) */
  cg_server_core *srv; /* server: owner (holds a ref) */
  char *method;
  char peer[96]; /* (mu) */
  int64_t deadline; /* CG_NEVER if none; fixed once set */
  int64_t max_recv, max_send;
  int wait_for_ready;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  cg_task task;
  unsigned ops; /* (mu) CG_OP_* waiting for the loop */

  /* (loop) stream */
  struct cg_transport *t;
  int32_t stream_id;
  struct cgrpc_call *tnext, *tprev; /* transport's list */
  struct cgrpc_call *pnext, *pprev; /* channel's waiting list */
  int waiting;                      /* on the channel's waiting list */
  int data_deferred;
  int headers_sent;     /* server: response headers submitted */
  int local_end_sent;   /* END_STREAM (or trailers) submitted */
  cg_timer deadline_timer;
  /* (loop) deframer */
  uint8_t fhdr[5];
  size_t fhave;
  cgrpc_buffer *fmsg;
  size_t fmsg_have;
  int discard; /* stream failed: drop further data */
  /* (loop) header block being received */
  cgrpc_metadata hdrs;
  int http_status;
  int grpc_status; /* -1 if absent */
  char *grpc_message;
  int content_type_ok;
  size_t hdr_bytes;   /* this header block, counted as HPACK does */
  int response_headers_seen;
  int64_t timeout_ns; /* server: grpc-timeout, -1 if none */
  char *req_path;     /* server: :path */
  int bad_request;    /* server: 0 ok, else HTTP status to answer */

  /* (mu) outbound */
  cg_out_chunk *oq_head, *oq_tail;
  size_t out_pending;
  int send_closed; /* no more messages: half-close or finish */
  int sent_any;    /* server: a message was queued */
  /* (mu) inbound */
  cgrpc_buffer *rq_head, *rq_tail;
  size_t queued_bytes;
  size_t unconsumed; /* received bytes not yet returned to the window */
  int recv_eos;      /* the peer sent END_STREAM */
  /* (mu) who is inside */
  int sending, receiving, users, destroyed;
  /* (mu) metadata */
  cgrpc_metadata send_md;     /* client: request; server: response headers */
  cgrpc_metadata *initial_md; /* received, published once */
  cgrpc_metadata *trailers;   /* client: received trailers */
  cgrpc_metadata auth;        /* peer identity, set when on a connection */
  int initial_md_ready;
  int initial_md_sent; /* server: user sent (or will send) headers */
  /* (mu) end */
  int status_set; /* client: final status known */
  int code;
  char *message;
  /* The message cgrpc_call_abort replaced: a thread may still hold it
   * (cgrpc_call_status lends it), so it lives until the call is freed. */
  char *message_replaced;
  int cancelled; /* client: cancelled locally; server: RPC aborted */
  int finished;  /* server: cgrpc_call_finish done */
  int fin_code;
  char *fin_msg;
  cgrpc_metadata fin_trailers;

  /* (mu) cgrpc_call_set_notify */
  cgrpc_notify_fn notify;
  void *notify_ud;
  cgrpc_destroy_fn notify_destroy;

  /* server: dispatch */
  const cg_method *handler;
  int in_handler; /* (mu) handler running or queued */
  cg_job job; /* handler thread job */
};

/* ---- lifetime ---- */
cgrpc_call *cg_call_new(int is_server, cg_loop *loop);
void cg_call_ref(cgrpc_call *c);
void cg_call_unref(cgrpc_call *c);

/* Wakes threads waiting on the call and its notify callback (mu held). */
void cg_call_wake_locked(cgrpc_call *c);

/* Queues ops for the loop (call->mu held).  The task takes a ref. */
void cg_call_post_locked(cgrpc_call *c, unsigned ops);

/* Ends a client call with a status unless it already ended (mu held);
 * wakes waiters.  Returns 1 if this set the status. */
int cg_call_set_status_locked(cgrpc_call *c, int code, const char *msg);
/* Server: marks the RPC aborted (mu held); wakes the handler. */
void cg_call_abort_locked(cgrpc_call *c);

/* ---- stream half, loop thread ---- */
/* The transport drops its link to the call (stream gone or transport
 * closing); code/msg give the outcome if the call had none yet. */
void cg_call_stream_closed(cgrpc_call *c, uint32_t h2_error, int code,
                           const char *msg);
void cg_call_on_begin_headers(cgrpc_call *c);
int cg_call_on_header(cgrpc_call *c, const uint8_t *name, size_t nlen,
                      const uint8_t *value, size_t vlen);
void cg_call_on_headers_done(cgrpc_call *c, int end_stream);
void cg_call_on_data(cgrpc_call *c, const uint8_t *data, size_t len);
void cg_call_on_end_stream(cgrpc_call *c);
ssize_t cg_call_read_data(cgrpc_call *c, uint8_t *buf, size_t len,
                          uint32_t *flags);
/* Runs the ops posted to a call (the call's task function). */
void cg_call_run_ops(cg_task *task);
/* Deadline timer callback. */
void cg_call_deadline_fired(cg_timer *tm);

/* Client (loop): route a new call to a connection or the waiting list;
 * take it off the waiting list; open its stream on t. */
void cg_client_start(cgrpc_call *c);
void cg_client_unwait(cgrpc_call *c);
void cg_client_call_submit(cgrpc_call *c, struct cg_transport *t);
/* Role-specific parts, in client.c and server.c. */
void cg_client_on_headers_done(cgrpc_call *c, int end_stream);
void cg_server_on_headers_done(cgrpc_call *c, int end_stream);
void cg_server_call_ops(cgrpc_call *c, unsigned ops);
void cg_server_call_released(cgrpc_call *c);
void cg_client_call_released(cgrpc_call *c);
ssize_t cg_server_read_eof(cgrpc_call *c, uint32_t *flags);
/* Server: answers a request it cannot accept with a status (no handler). */
void cg_server_reject(cgrpc_call *c, int code, const char *msg);

#endif
