/* One HTTP/2 connection (client or server side) owned by a loop thread:
 * socket I/O, the nghttp2 session and its callbacks, the list of calls
 * on its streams.  Byte I/O goes through cg_io so TLS can slot in. */
#ifndef CG_TRANSPORT_H
#define CG_TRANSPORT_H

#include <nghttp2/nghttp2.h>
#include <sys/types.h>

#include "call.h"
#include "loop.h"

/* Byte-stream I/O under the HTTP/2 session: plain sockets now, TLS next.
 * read/write return bytes, 0 on EOF (read), or -1 with errno (EAGAIN). */
typedef struct cg_io {
  ssize_t (*read)(struct cg_io *io, void *buf, size_t n);
  ssize_t (*write)(struct cg_io *io, const void *buf, size_t n);
  void (*destroy)(struct cg_io *io);
  /* NULL for plain sockets.  Advances the handshake: 1 done, 0 waiting
   * for the events in *want (EPOLLIN/EPOLLOUT), -1 failed (reason in
   * err). */
  int (*handshake)(struct cg_io *io, uint32_t *want, char *err, size_t n);
  /* After the handshake: adds the peer's identity (auth context) to md. */
  void (*auth)(struct cg_io *io, cgrpc_metadata *md);
  int fd;
  char err[200]; /* why the last read or write failed, if known (TLS) */
} cg_io;
cg_io *cg_io_plain_new(int fd);

typedef struct cg_transport cg_transport;

typedef struct cg_transport_hooks {
  /* Server: a client opened stream_id; returns a new call (the transport
   * takes the reference) or NULL to refuse it. */
  cgrpc_call *(*new_stream)(cg_transport *t, int32_t stream_id);
  /* Client: the peer sent GOAWAY; no new streams on t. */
  void (*goaway)(cg_transport *t);
  /* t is closed and its calls have ended; t is freed after this. */
  void (*closed)(cg_transport *t);
  /* The TLS handshake finished: t may carry streams now. */
  void (*ready)(cg_transport *t);
} cg_transport_hooks;

typedef struct cg_transport_settings {
  int64_t handshake_timeout_ms; /* TLS only */
  uint32_t max_concurrent_streams; /* 0: do not advertise */
  uint32_t stream_window;
  uint32_t conn_window;
} cg_transport_settings;

struct cg_transport {
  cg_loop *loop;
  cg_io *io;
  cg_watch watch;
  nghttp2_session *session;
  int is_server;
  int closing;  /* torn down at the next close task */
  int draining; /* GOAWAY sent or received: no new streams */
  int close_after_flush; /* drained: close once the output is written */
  int ready;       /* handshake done (always for plain sockets) */
  int tls;
  cg_timer hs_timer; /* handshake deadline */
  cgrpc_metadata auth; /* peer identity, fixed once ready */
  uint32_t events;
  cg_bytes out;
  size_t out_off;
  cg_task flush_task, close_task, read_task;
  const cg_transport_hooks *hooks;
  void *owner;
  char peer[96];
  cgrpc_call *calls; /* streams with a call attached */
  int ncalls;
  int close_code;
  char close_msg[400];
  cg_transport *next; /* owner's list */
};

/* Takes ownership of io.  Submits our SETTINGS.  Loop thread. */
int cg_transport_create(cg_transport **out, cg_loop *loop, cg_io *io,
                        int is_server, const cg_transport_settings *st,
                        const cg_transport_hooks *hooks, void *owner,
                        const char *peer);
/* Flushes after the current loop iteration's work.  Loop thread. */
void cg_transport_schedule_flush(cg_transport *t);
/* Ends every call with (code, msg) and tears t down.  Loop thread. */
void cg_transport_close(cg_transport *t, int code, const char *msg);
/* Server: GOAWAY with the last processed stream; close when idle. */
void cg_transport_goaway(cg_transport *t);
void cg_transport_attach(cg_transport *t, cgrpc_call *c, int32_t stream_id);
void cg_transport_detach(cg_transport *t, cgrpc_call *c);
/* The data provider every stream uses (source.ptr is the call). */
extern const nghttp2_data_provider cg_data_provider_template;
nghttp2_data_provider cg_data_provider(cgrpc_call *c);

#endif
