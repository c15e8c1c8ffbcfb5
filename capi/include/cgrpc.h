/*
 * cgrpc: gRPC for C and for every language that can call C.
 *
 * One header, opaque handles, integer return codes.  Conventions that hold
 * for every function below unless its comment says otherwise:
 *
 *  - Return codes: 0 (CGRPC_OK) is success; API errors are negative
 *    CGRPC_E_* values (fixed forever); cgrpc_strerror() names them.  The
 *    outcome of an RPC (a gRPC status code) is a different thing: read it
 *    with cgrpc_call_status().
 *  - Constructors write the new handle through their first (out) argument
 *    and leave it NULL on error.  Destructors accept NULL.
 *  - Inputs (strings, metadata, messages, options) are copied; the caller
 *    may free or reuse them when the function returns.
 *  - Anything the library hands out is released with the library's own
 *    function (cgrpc_buffer_free, cgrpc_free, ...), never with free().
 *  - Borrowed pointers returned by getters stay valid for as long as the
 *    comment says (usually: until the handle they came from is destroyed).
 *  - Time spans are in milliseconds; a negative timeout means "no limit".
 *  - Thread safety is stated per function; docs/THREADING.md has the
 *    whole contract.
 */
#ifndef CGRPC_H
#define CGRPC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define CGRPC_API
#elif defined(__GNUC__)
#define CGRPC_API __attribute__((visibility("default")))
#else
#define CGRPC_API
#endif

/* ------------------------------------------------------------------ */
/* Version                                                              */
/* ------------------------------------------------------------------ */

#define CGRPC_VERSION_MAJOR 0
#define CGRPC_VERSION_MINOR 1
#define CGRPC_VERSION_PATCH 0
#define CGRPC_VERSION "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH */
#define CGRPC_VERSION_NUMBER 100

/* The library's version string ("0.1.0"), static.  Compare with
 * CGRPC_VERSION to check that header and library match.  Thread-safe. */
CGRPC_API const char *cgrpc_version(void);

/* CGRPC_VERSION_NUMBER of the library.  Thread-safe. */
CGRPC_API int cgrpc_version_number(void);

/* ------------------------------------------------------------------ */
/* API return codes (not gRPC status codes)                             */
/* ------------------------------------------------------------------ */

#define CGRPC_OK 0
/* cgrpc_call_recv(): no more messages; the call's status is known. */
#define CGRPC_DONE 1
/* An argument is NULL, out of range, or unknown flag bits were set. */
#define CGRPC_E_INVALID_ARG (-1)
/* Out of memory. */
#define CGRPC_E_NOMEM (-2)
/* Another thread is already sending (or already receiving) on this call.
 * One sender and one receiver may run at once; two of a kind may not. */
#define CGRPC_E_BUSY (-3)
/* The operation is not allowed in the handle's current state (send after
 * close_send, finish twice, register after start, ...). */
#define CGRPC_E_STATE (-4)
/* The call has ended (status known, cancelled, or its channel closed);
 * nothing more can be sent.  Read the status for the reason. */
#define CGRPC_E_CLOSED (-5)
/* A timed wait ran out before the event happened.  Nothing was lost. */
#define CGRPC_E_TIMEOUT (-6)
/* A metadata key or value is invalid (see cgrpc_metadata_add). */
#define CGRPC_E_METADATA (-7)
/* A message is larger than the configured maximum send size. */
#define CGRPC_E_TOO_LARGE (-8)
/* The target string cannot be parsed. */
#define CGRPC_E_TARGET (-9)
/* An address could not be bound or listened on. */
#define CGRPC_E_ADDRESS (-10)
/* A system call failed (thread, socket, epoll, ...). */
#define CGRPC_E_SYSTEM (-11)
/* The function belongs to the other role (a server-only function on a
 * client call, or the reverse). */
#define CGRPC_E_ROLE (-12)
/* The requested item does not exist (metadata key, ...). */
#define CGRPC_E_NOT_FOUND (-13)
/* Server side: the RPC was cancelled (client cancel, deadline, connection
 * lost, server shutdown).  The handler should return. */
#define CGRPC_E_CANCELLED (-14)

/* TLS credentials could not be built: an unreadable or invalid
 * certificate, key or CA, or a key that does not match its certificate.
 * cgrpc_last_error() says which. */
#define CGRPC_E_TLS (-15)

/* Input could not be parsed: malformed protobuf bytes, or a descriptor
 * set that is invalid or refers to missing types.  cgrpc_last_error()
 * says where. */
#define CGRPC_E_PARSE (-16)
/* A value has the wrong type for the protobuf field it is given to, or
 * names no such field or enum value.  cgrpc_last_error() names the field. */
#define CGRPC_E_TYPE (-17)

/* A static, never-NULL description of an API return code.  Thread-safe. */
CGRPC_API const char *cgrpc_strerror(int rc);

/* Details of the last error a cgrpc function reported on this thread
 * ("" if none was recorded), e.g. why credentials or a listener failed.
 * Thread-local; valid until this thread's next cgrpc call. */
CGRPC_API const char *cgrpc_last_error(void);

/* ------------------------------------------------------------------ */
/* gRPC status codes (the outcome of an RPC)                            */
/* ------------------------------------------------------------------ */

typedef enum cgrpc_status_code {
  CGRPC_STATUS_OK = 0,
  CGRPC_STATUS_CANCELLED = 1,
  CGRPC_STATUS_UNKNOWN = 2,
  CGRPC_STATUS_INVALID_ARGUMENT = 3,
  CGRPC_STATUS_DEADLINE_EXCEEDED = 4,
  CGRPC_STATUS_NOT_FOUND = 5,
  CGRPC_STATUS_ALREADY_EXISTS = 6,
  CGRPC_STATUS_PERMISSION_DENIED = 7,
  CGRPC_STATUS_RESOURCE_EXHAUSTED = 8,
  CGRPC_STATUS_FAILED_PRECONDITION = 9,
  CGRPC_STATUS_ABORTED = 10,
  CGRPC_STATUS_OUT_OF_RANGE = 11,
  CGRPC_STATUS_UNIMPLEMENTED = 12,
  CGRPC_STATUS_INTERNAL = 13,
  CGRPC_STATUS_UNAVAILABLE = 14,
  CGRPC_STATUS_DATA_LOSS = 15,
  CGRPC_STATUS_UNAUTHENTICATED = 16
} cgrpc_status_code;

/* The canonical upper-case name ("DEADLINE_EXCEEDED") of a status code,
 * static; "UNKNOWN_CODE" for values outside 0..16.  Thread-safe. */
CGRPC_API const char *cgrpc_status_name(int code);

/* ------------------------------------------------------------------ */
/* Memory handed out by the library                                     */
/* ------------------------------------------------------------------ */

/* A received message: library-owned bytes. */
typedef struct cgrpc_buffer cgrpc_buffer;

/* Pointer to the message bytes (never NULL, even for an empty message);
 * valid until cgrpc_buffer_free().  Thread-safe on distinct buffers. */
CGRPC_API const uint8_t *cgrpc_buffer_data(const cgrpc_buffer *buf);
/* Length of the message in bytes. */
CGRPC_API size_t cgrpc_buffer_len(const cgrpc_buffer *buf);
/* Releases a buffer.  NULL is a no-op. */
CGRPC_API void cgrpc_buffer_free(cgrpc_buffer *buf);

/* Releases a string or block the library allocated for the caller
 * (documented as "free with cgrpc_free").  NULL is a no-op. */
CGRPC_API void cgrpc_free(void *p);

/* Called by the library exactly once to release a user_data it was given,
 * on a thread the function registering it documents. */
typedef void (*cgrpc_destroy_fn)(void *user_data);

/* ------------------------------------------------------------------ */
/* Metadata                                                             */
/* ------------------------------------------------------------------ */

/* An ordered list of (key, value) entries.  A list the caller created is
 * owned by the caller; a list the library hands out (received metadata)
 * is borrowed and read-only.  Keys are lower-case ASCII of [0-9a-z_.-];
 * keys ending in "-bin" carry raw bytes (base64 on the wire), others
 * printable ASCII (0x20..0x7E).  Keys starting with "grpc-" are reserved.
 * Reading one list from many threads at once is safe; changing it while
 * another thread reads it is not. */
typedef struct cgrpc_metadata cgrpc_metadata;

/* Creates an empty list.  Returns CGRPC_OK or CGRPC_E_INVALID_ARG /
 * CGRPC_E_NOMEM.  Free with cgrpc_metadata_destroy(). */
CGRPC_API int cgrpc_metadata_create(cgrpc_metadata **out);
/* Destroys a list the caller created.  NULL is a no-op.  Never call it on a
 * list the library handed out. */
CGRPC_API void cgrpc_metadata_destroy(cgrpc_metadata *md);
/* Appends a copy of (key, value[0..len)).  Returns CGRPC_OK,
 * CGRPC_E_METADATA for an invalid or reserved key or a value with bytes
 * not allowed for a non-binary key, CGRPC_E_INVALID_ARG for NULL
 * arguments, CGRPC_E_NOMEM. */
CGRPC_API int cgrpc_metadata_add(cgrpc_metadata *md, const char *key,
                                 const void *value, size_t len);
/* Number of entries. */
CGRPC_API size_t cgrpc_metadata_count(const cgrpc_metadata *md);
/* Key of entry i, NUL-terminated, borrowed; NULL if i is out of range. */
CGRPC_API const char *cgrpc_metadata_key(const cgrpc_metadata *md, size_t i);
/* Value of entry i (decoded bytes for "-bin" keys; always followed by a
 * NUL not counted in *len), borrowed; NULL if i is out of range.  len may
 * be NULL. */
CGRPC_API const uint8_t *cgrpc_metadata_value(const cgrpc_metadata *md,
                                              size_t i, size_t *len);
/* First value for key, as cgrpc_metadata_value; NULL if absent. */
CGRPC_API const uint8_t *cgrpc_metadata_get(const cgrpc_metadata *md,
                                            const char *key, size_t *len);

/* ------------------------------------------------------------------ */
/* Credentials: insecure (h2c), TLS, mutual TLS                         */
/* ------------------------------------------------------------------ */

/* Immutable once built; share them among channels, servers and threads.
 * Channels and listeners keep their own reference, so the caller may
 * destroy its handle at once. */
typedef struct cgrpc_credentials cgrpc_credentials;

/* A builder for TLS credentials (not thread-safe while being changed).
 * PEM may be given as files or as bytes; the last setter of a kind wins. */
typedef struct cgrpc_tls_options cgrpc_tls_options;

typedef enum cgrpc_client_cert_mode {
  /* The server does not ask for a client certificate. */
  CGRPC_CLIENT_CERT_NONE = 0,
  /* Asks; a certificate the client sends is verified against the roots. */
  CGRPC_CLIENT_CERT_REQUEST = 1,
  /* Requires a certificate that verifies against the roots (mutual TLS). */
  CGRPC_CLIENT_CERT_REQUIRE = 2
} cgrpc_client_cert_mode;

/* Creates a TLS option builder (verification on, 20 s handshake
 * timeout).  Returns CGRPC_OK, CGRPC_E_INVALID_ARG, CGRPC_E_NOMEM.  Every
 * setter below copies its input and returns CGRPC_OK or
 * CGRPC_E_INVALID_ARG (NULL or empty input, value out of range); files
 * are read when the credentials are created, not here. */
CGRPC_API int cgrpc_tls_options_create(cgrpc_tls_options **out);
/* Destroys a builder (wiping key bytes); credentials made from it are
 * unaffected.  NULL is a no-op. */
CGRPC_API void cgrpc_tls_options_destroy(cgrpc_tls_options *opts);
/* CA certificates that verify the peer.  Client default: the system's
 * roots (/etc/ssl/certs).  Server: the CA of client certificates. */
CGRPC_API int cgrpc_tls_options_set_root_certs_file(cgrpc_tls_options *opts,
                                                    const char *path);
CGRPC_API int cgrpc_tls_options_set_root_certs_pem(cgrpc_tls_options *opts,
                                                   const void *pem, size_t len);
/* Our certificate chain (leaf first) and its private key: required for a
 * server, optional for a client (mutual TLS). */
CGRPC_API int cgrpc_tls_options_set_cert_chain_file(cgrpc_tls_options *opts,
                                                    const char *path);
CGRPC_API int cgrpc_tls_options_set_cert_chain_pem(cgrpc_tls_options *opts,
                                                   const void *pem, size_t len);
CGRPC_API int cgrpc_tls_options_set_private_key_file(cgrpc_tls_options *opts,
                                                     const char *path);
CGRPC_API int cgrpc_tls_options_set_private_key_pem(cgrpc_tls_options *opts,
                                                    const void *pem,
                                                    size_t len);
/* Client: the name to verify the server's certificate against and send
 * as SNI (and the default :authority) instead of the target's host. */
CGRPC_API int cgrpc_tls_options_set_target_name_override(
    cgrpc_tls_options *opts, const char *name);
/* Client: non-zero turns off certificate verification.  INSECURE: anyone
 * on the path can impersonate the server.  For tests only. */
CGRPC_API int cgrpc_tls_options_set_insecure_skip_verification(
    cgrpc_tls_options *opts, int skip);
/* Server: whether to ask for and verify client certificates. */
CGRPC_API int cgrpc_tls_options_set_client_cert_mode(cgrpc_tls_options *opts,
                                                     int mode);
/* Server: a connection whose handshake takes longer is closed.  Default
 * 20000. */
CGRPC_API int cgrpc_tls_options_set_handshake_timeout(cgrpc_tls_options *opts,
                                                      int64_t ms);

/* Plaintext HTTP/2 (h2c), the default when no credentials are given. */
CGRPC_API int cgrpc_credentials_create_insecure(cgrpc_credentials **out);
/* TLS 1.2+ with ALPN h2 for channels; verification on unless turned off.
 * Loads and checks everything now: returns CGRPC_OK, CGRPC_E_TLS (see
 * cgrpc_last_error()), CGRPC_E_INVALID_ARG, CGRPC_E_NOMEM. */
CGRPC_API int cgrpc_credentials_create_tls_client(cgrpc_credentials **out,
                                                  const cgrpc_tls_options *opts);
/* TLS for a server listener; needs a certificate chain and key.  Same
 * return codes. */
CGRPC_API int cgrpc_credentials_create_tls_server(cgrpc_credentials **out,
                                                  const cgrpc_tls_options *opts);
/* Drops the caller's reference.  NULL is a no-op.  Thread-safe. */
CGRPC_API void cgrpc_credentials_destroy(cgrpc_credentials *creds);

/* ------------------------------------------------------------------ */
/* Channel                                                              */
/* ------------------------------------------------------------------ */

/* A connection (and its reconnection) to one target, shared by any number
 * of threads, stubs and calls.  Fully thread-safe. */
typedef struct cgrpc_channel cgrpc_channel;

/* Options read by cgrpc_channel_create(); reusable for many channels.
 * A builder is not thread-safe: build it on one thread. */
typedef struct cgrpc_channel_options cgrpc_channel_options;

/* Creates an option builder holding the defaults.  Returns CGRPC_OK,
 * CGRPC_E_INVALID_ARG, CGRPC_E_NOMEM. */
CGRPC_API int cgrpc_channel_options_create(cgrpc_channel_options **out);
/* Destroys a builder.  Channels made from it are unaffected. */
CGRPC_API void cgrpc_channel_options_destroy(cgrpc_channel_options *opts);
/* Minimum time one connection attempt may take before it is abandoned
 * (grpc's MIN_CONNECT_TIMEOUT).  Default 20000.  ms > 0. */
CGRPC_API int cgrpc_channel_options_set_connect_timeout(
    cgrpc_channel_options *opts, int64_t ms);
/* Largest message this channel sends; bigger sends fail with
 * CGRPC_E_TOO_LARGE.  Default: no limit (-1).  bytes >= 0 or -1. */
CGRPC_API int cgrpc_channel_options_set_max_send_message_size(
    cgrpc_channel_options *opts, int64_t bytes);
/* Largest message this channel accepts; a bigger one ends its call with
 * RESOURCE_EXHAUSTED (other calls go on).  Default 4 MiB; -1: no limit. */
CGRPC_API int cgrpc_channel_options_set_max_recv_message_size(
    cgrpc_channel_options *opts, int64_t bytes);
/* Text put before cgrpc's own "grpc-c-cgrpc/VERSION" in user-agent.
 * Returns CGRPC_E_METADATA if it has non-printable characters. */
CGRPC_API int cgrpc_channel_options_set_user_agent(cgrpc_channel_options *opts,
                                                   const char *prefix);
/* :authority sent with every call, instead of the target's host:port. */
CGRPC_API int cgrpc_channel_options_set_authority(cgrpc_channel_options *opts,
                                                  const char *authority);
/* Metadata added to every call of the channel (before per-call metadata).
 * Validated as cgrpc_metadata_add. */
CGRPC_API int cgrpc_channel_options_add_metadata(cgrpc_channel_options *opts,
                                                 const char *key,
                                                 const void *value, size_t len);
/* Client credentials (TLS or insecure) for the channel; the options
 * keep a reference.  Returns CGRPC_E_INVALID_ARG for server credentials. */
CGRPC_API int cgrpc_channel_options_set_credentials(
    cgrpc_channel_options *opts, const cgrpc_credentials *creds);
/* Reconnect backoff (grpc doc/connection-backoff.md).  Defaults: initial
 * 1000 ms, multiplier 1.6, jitter 0.2, max 120000 ms.  Returns
 * CGRPC_E_INVALID_ARG unless initial_ms > 0, multiplier >= 1,
 * 0 <= jitter < 1 and max_ms >= initial_ms. */
CGRPC_API int cgrpc_channel_options_set_backoff(cgrpc_channel_options *opts,
                                                int64_t initial_ms,
                                                double multiplier,
                                                double jitter, int64_t max_ms);

/* Creates a channel to target and returns at once: the channel connects
 * lazily, on its first call or cgrpc_channel_state(ch, 1).  Targets:
 * "host:port", "dns:///host:port", "dns:host:port", "1.2.3.4:port",
 * "[::1]:port", "unix:/path" or "unix:///path".  A missing port means 443.
 * opts may be NULL (defaults).  Returns CGRPC_OK, CGRPC_E_TARGET,
 * CGRPC_E_INVALID_ARG, CGRPC_E_NOMEM, CGRPC_E_SYSTEM (no I/O thread).
 * Thread-safe. */
CGRPC_API int cgrpc_channel_create(cgrpc_channel **out, const char *target,
                                   const cgrpc_channel_options *opts);
/* Closes the channel: calls still running end with CANCELLED ("channel
 * closed"), waiting threads wake, the connection closes, and the handle
 * must not be used again.  Calls and stubs made from it stay valid handles
 * until destroyed (their operations then fail cleanly); memory is freed
 * when the last of them is gone.  Blocks until the I/O thread has stopped.
 * Call it once, from any thread. */
CGRPC_API void cgrpc_channel_destroy(cgrpc_channel *ch);

typedef enum cgrpc_connectivity_state {
  CGRPC_CHANNEL_IDLE = 0,
  CGRPC_CHANNEL_CONNECTING = 1,
  CGRPC_CHANNEL_READY = 2,
  CGRPC_CHANNEL_TRANSIENT_FAILURE = 3,
  CGRPC_CHANNEL_SHUTDOWN = 4
} cgrpc_connectivity_state;

/* Current connectivity state.  If try_to_connect is non-zero and the
 * channel is IDLE, starts connecting.  Thread-safe. */
CGRPC_API cgrpc_connectivity_state cgrpc_channel_state(cgrpc_channel *ch,
                                                       int try_to_connect);
/* Waits until the state differs from last_seen or timeout_ms passes.
 * Returns CGRPC_OK (changed), CGRPC_E_TIMEOUT, CGRPC_E_INVALID_ARG.
 * Thread-safe. */
CGRPC_API int cgrpc_channel_wait_for_state_change(
    cgrpc_channel *ch, cgrpc_connectivity_state last_seen, int64_t timeout_ms);
/* Forgets the backoff: a channel waiting in TRANSIENT_FAILURE tries again
 * now, and the next backoff starts from the initial value.  Thread-safe. */
CGRPC_API void cgrpc_channel_reset_backoff(cgrpc_channel *ch);

/* ------------------------------------------------------------------ */
/* Stub                                                                 */
/* ------------------------------------------------------------------ */

/* A service name bound to a channel.  Immutable; share it freely among
 * threads.  It holds a reference on the channel's memory (not on its
 * connection: destroying the channel still closes it). */
typedef struct cgrpc_stub cgrpc_stub;

/* Creates a stub for service ("package.Service").  Returns CGRPC_OK,
 * CGRPC_E_INVALID_ARG (NULL or a name with '/' or spaces), CGRPC_E_NOMEM.
 * Thread-safe. */
CGRPC_API int cgrpc_stub_create(cgrpc_stub **out, cgrpc_channel *ch,
                                const char *service);
/* Destroys the stub.  Calls started from it are unaffected. */
CGRPC_API void cgrpc_stub_destroy(cgrpc_stub *stub);
/* The service name, borrowed, valid until the stub is destroyed. */
CGRPC_API const char *cgrpc_stub_service(const cgrpc_stub *stub);

/* ------------------------------------------------------------------ */
/* Calls (client and server side)                                       */
/* ------------------------------------------------------------------ */

/* One RPC.  Any number of messages each way, so it serves all four kinds
 * (unary, server streaming, client streaming, bidirectional).  Threads:
 * one thread may send (send, close_send, send_initial_metadata, finish)
 * while another receives (recv, initial_metadata, status); a second
 * concurrent sender or receiver gets CGRPC_E_BUSY.  cgrpc_call_cancel,
 * cgrpc_call_wait and the getters of fixed facts are safe from any thread. */
typedef struct cgrpc_call cgrpc_call;

/* Per-call options: deadline, metadata, wait-for-ready.  A builder, read
 * when a call starts and reusable; not thread-safe while being changed,
 * but many threads may start calls with one finished builder at once. */
typedef struct cgrpc_call_options cgrpc_call_options;

/* Creates a builder with no deadline, no metadata, fail-fast.  Returns
 * CGRPC_OK, CGRPC_E_INVALID_ARG, CGRPC_E_NOMEM.  Setters return CGRPC_OK
 * or CGRPC_E_INVALID_ARG (NULL builder); add_metadata also
 * CGRPC_E_METADATA and CGRPC_E_NOMEM. */
CGRPC_API int cgrpc_call_options_create(cgrpc_call_options **out);
/* Destroys a builder; calls started with it are unaffected.  NULL is a
 * no-op. */
CGRPC_API void cgrpc_call_options_destroy(cgrpc_call_options *opts);
/* Deadline relative to the moment the call starts; < 0 clears it.
 * Sent as grpc-timeout; when it passes the call ends with
 * DEADLINE_EXCEEDED. */
CGRPC_API int cgrpc_call_options_set_timeout(cgrpc_call_options *opts,
                                             int64_t ms);
/* Appends request metadata, validated as cgrpc_metadata_add. */
CGRPC_API int cgrpc_call_options_add_metadata(cgrpc_call_options *opts,
                                              const char *key,
                                              const void *value, size_t len);
/* Non-zero: wait for a connection (until the deadline) instead of failing
 * with UNAVAILABLE while the channel is in TRANSIENT_FAILURE. */
CGRPC_API int cgrpc_call_options_set_wait_for_ready(cgrpc_call_options *opts,
                                                    int enable);

/* Starts a call of the full method path ("/package.Service/Method") on
 * ch; returns without waiting for the connection.  opts may be NULL.
 * Returns CGRPC_OK, CGRPC_E_INVALID_ARG (NULL, or a path not of the form
 * "/service/method"), CGRPC_E_CLOSED (channel destroyed), CGRPC_E_NOMEM.
 * Destroy the call with cgrpc_call_destroy().  Thread-safe. */
CGRPC_API int cgrpc_call_start(cgrpc_call **out, cgrpc_channel *ch,
                               const char *method,
                               const cgrpc_call_options *opts);
/* As cgrpc_call_start() for "/<stub's service>/<method>". */
CGRPC_API int cgrpc_stub_call_start(cgrpc_call **out, const cgrpc_stub *stub,
                                    const char *method,
                                    const cgrpc_call_options *opts);

/* cgrpc_call_send flags. */
/* Half-close after this message (the last message of the call). */
#define CGRPC_SEND_LAST 0x1u

/* Sends one message (copied).  Blocks while the call's unsent data is
 * beyond its bound (backpressure from a slow peer).  A server handler's
 * first send also sends its initial metadata.  Returns CGRPC_OK,
 * CGRPC_E_BUSY (another thread is sending), CGRPC_E_STATE (already
 * half-closed or finished), CGRPC_E_CLOSED (client: the call has ended),
 * CGRPC_E_CANCELLED (server: the RPC was cancelled), CGRPC_E_TOO_LARGE,
 * CGRPC_E_INVALID_ARG (unknown flags, data NULL with len > 0). */
CGRPC_API int cgrpc_call_send(cgrpc_call *call, const void *data, size_t len,
                              unsigned flags);
/* As cgrpc_call_send, without copying: the library reads data until it
 * calls release(user_data) exactly once (on the I/O thread, or on the
 * calling thread if an error is returned).  release may be NULL. */
CGRPC_API int cgrpc_call_send_nocopy(cgrpc_call *call, const void *data,
                                     size_t len, unsigned flags,
                                     cgrpc_destroy_fn release, void *user_data);
/* Client: half-closes (no more messages).  Idempotent.  Returns CGRPC_OK,
 * CGRPC_E_BUSY, CGRPC_E_ROLE on a server call. */
CGRPC_API int cgrpc_call_close_send(cgrpc_call *call);

/* Receives the next message, blocking until one arrives or the peer has
 * no more.  Returns CGRPC_OK with *msg set (free with cgrpc_buffer_free),
 * CGRPC_DONE when there are no more messages (client: the status is then
 * known; server: the client half-closed), CGRPC_E_CANCELLED (server: the
 * RPC was cancelled), CGRPC_E_BUSY (another thread is receiving). */
CGRPC_API int cgrpc_call_recv(cgrpc_call *call, cgrpc_buffer **msg);

/* Client: blocks until the server's initial metadata (response headers)
 * or the call's end, then sets *md to it (empty if the server answered
 * with trailers only or the call failed).  Server: the client's request
 * metadata, at once.  Borrowed, valid until the call is destroyed.
 * Returns CGRPC_OK, CGRPC_E_INVALID_ARG. */
CGRPC_API int cgrpc_call_initial_metadata(cgrpc_call *call,
                                          const cgrpc_metadata **md);

/* Client: blocks until the call has ended, then reports its status.  Any
 * out pointer may be NULL.  *message is the decoded grpc-message (UTF-8,
 * "" if none) and *trailers the trailing metadata, both borrowed, valid
 * until the call is destroyed.  Returns CGRPC_OK, CGRPC_E_ROLE on a server
 * call.  Messages still queued stay readable with cgrpc_call_recv. */
CGRPC_API int cgrpc_call_status(cgrpc_call *call, int *code,
                                const char **message,
                                const cgrpc_metadata **trailers);

/* Events for cgrpc_call_wait. */
/* cgrpc_call_recv would not block. */
#define CGRPC_EVENT_RECV 0x1u
/* cgrpc_call_send would not block (or would fail at once). */
#define CGRPC_EVENT_SEND 0x2u
/* Client: initial metadata arrived (or the call ended). */
#define CGRPC_EVENT_INITIAL_METADATA 0x4u
/* The call has ended (client: status known; server: finished or
 * cancelled). */
#define CGRPC_EVENT_DONE 0x8u

/* Waits until one of the events in mask is ready or timeout_ms passes,
 * and writes the ready subset of mask to *ready (may be NULL).  Lets a
 * binding wait in slices (to check for signals) before a call that
 * would block.  Returns CGRPC_OK, CGRPC_E_TIMEOUT (*ready = 0),
 * CGRPC_E_INVALID_ARG.  Thread-safe. */
CGRPC_API int cgrpc_call_wait(cgrpc_call *call, unsigned mask,
                              int64_t timeout_ms, unsigned *ready);

/* Called when one of a call's events may have become ready. */
typedef void (*cgrpc_notify_fn)(cgrpc_call *call, void *user_data);

/* Registers fn to run whenever one of the call's events (see
 * cgrpc_call_wait) may have become ready: a message arrived, send space
 * freed, metadata or the status arrived, the call ended.  It lets an event
 * loop (a coroutine scheduler, a language runtime) learn about many calls
 * without a thread each: typically fn writes to an eventfd or pipe the loop
 * polls, and the loop then asks cgrpc_call_wait(call, mask, 0, &ready).
 * fn runs on cgrpc's I/O thread or on a thread using the call, with the
 * call's lock held: it must be quick, must not block and must not call
 * cgrpc functions.  It runs once at registration too.  A new fn (or NULL)
 * replaces the old one; destroy (may be NULL) is called once with the old
 * user_data when replaced, or by cgrpc_call_destroy (client; after it no
 * notification runs), or when a server call is freed.  Returns CGRPC_OK,
 * CGRPC_E_INVALID_ARG.  Thread-safe. */
CGRPC_API int cgrpc_call_set_notify(cgrpc_call *call, cgrpc_notify_fn fn,
                                    void *user_data, cgrpc_destroy_fn destroy);

/* Cancels the call: client: ends it with CANCELLED (RST_STREAM CANCEL to
 * the server) unless it already ended; server: ends the RPC with
 * CANCELLED for the client.  Waiting threads wake.  Idempotent, any
 * thread, any time before destroy. */
CGRPC_API void cgrpc_call_cancel(cgrpc_call *call);

/* Non-zero once the call was cancelled or its deadline passed (server: or
 * the client went away).  Thread-safe. */
CGRPC_API int cgrpc_call_is_cancelled(const cgrpc_call *call);

/* Milliseconds left until the call's deadline (0 once passed), or -1 when
 * it has none.  Thread-safe. */
CGRPC_API int64_t cgrpc_call_time_remaining(const cgrpc_call *call);

/* Full method path, borrowed, valid until the call is destroyed. */
CGRPC_API const char *cgrpc_call_method(const cgrpc_call *call);

/* The remote address ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000",
 * "unix:/path"), "" before the call is on a connection; borrowed, valid
 * until the call is destroyed.  Thread-safe. */
CGRPC_API const char *cgrpc_call_peer(const cgrpc_call *call);

/* The peer's identity, as grpc's auth context: "transport_security_type"
 * ("ssl" or "insecure") and, for a peer that presented a certificate
 * (verified unless verification was turned off), "x509_subject" (RFC
 * 2253), "x509_common_name", one "x509_subject_alternative_name" per DNS,
 * IP, URI or email SAN, and "x509_pem_cert".  Server: the client; client:
 * the server (empty before the call is on a connection).  Borrowed, valid
 * until the call is destroyed.  Returns CGRPC_OK, CGRPC_E_INVALID_ARG.
 * Thread-safe. */
CGRPC_API int cgrpc_call_auth_context(cgrpc_call *call,
                                      const cgrpc_metadata **auth);

/* Ends the call now with status code and message (UTF-8, may be NULL),
 * for a local failure such as a response that cannot be parsed.
 * Client: like cgrpc_call_cancel (the stream is reset), but the call's
 * status is code/message rather than CANCELLED.  If the status is already
 * known it is kept, unless it is OK (the peer ended the call while
 * messages were still queued, and one of them failed here): then
 * code/message replace it.  Server: like cgrpc_call_finish(call, code,
 * message, NULL).  Thread-safe like cgrpc_call_cancel.  Returns CGRPC_OK,
 * CGRPC_E_STATE (already ended with an error status; nothing changed),
 * CGRPC_E_INVALID_ARG (code outside 1..16), and on a server call the
 * codes of cgrpc_call_finish. */
CGRPC_API int cgrpc_call_abort(cgrpc_call *call, int code,
                               const char *message);

/* Client: cancels the call if still running and releases it.  Server:
 * must not be called on the handler's call (the library owns it).
 * NULL is a no-op.  Call once, when no other thread uses the call. */
CGRPC_API void cgrpc_call_destroy(cgrpc_call *call);

/* Blocking unary helper: starts the call, sends request, reads the reply
 * and the status.  *code gets the gRPC status; *reply the response (NULL
 * unless code is OK; free with cgrpc_buffer_free); *message (may be NULL)
 * a copy of the status message to free with cgrpc_free.  Returns CGRPC_OK
 * when the RPC ran (whatever its status), or the API error that kept it
 * from running.  Thread-safe. */
CGRPC_API int cgrpc_unary(cgrpc_channel *ch, const char *method,
                          const void *request, size_t request_len,
                          const cgrpc_call_options *opts, int *code,
                          cgrpc_buffer **reply, char **message);

/* As cgrpc_unary for "/<stub's service>/<method>". */
CGRPC_API int cgrpc_stub_unary(const cgrpc_stub *stub, const char *method,
                               const void *request, size_t request_len,
                               const cgrpc_call_options *opts, int *code,
                               cgrpc_buffer **reply, char **message);

/* ------------------------------------------------------------------ */
/* Server                                                               */
/* ------------------------------------------------------------------ */

/* Listens, accepts, and runs each RPC's handler on its own thread (from a
 * pool that grows to a bound).  Handlers for many services on one server.
 * Thread-safe: start and shutdown from any thread. */
typedef struct cgrpc_server cgrpc_server;
typedef struct cgrpc_server_options cgrpc_server_options;

/* Creates a server option builder holding the defaults.  Returns
 * CGRPC_OK, CGRPC_E_INVALID_ARG, CGRPC_E_NOMEM.  Setters return CGRPC_OK
 * or CGRPC_E_INVALID_ARG (NULL builder or value out of range).  Not
 * thread-safe while being changed; read by cgrpc_server_create. */
CGRPC_API int cgrpc_server_options_create(cgrpc_server_options **out);
/* Destroys a builder; servers made from it are unaffected.  NULL is a
 * no-op. */
CGRPC_API void cgrpc_server_options_destroy(cgrpc_server_options *opts);
/* Most handler threads at once; RPCs beyond it wait for a free thread.
 * Default 64.  n >= 1. */
CGRPC_API int cgrpc_server_options_set_max_threads(cgrpc_server_options *opts,
                                                   int n);
/* As the channel options.  Defaults: receive 4 MiB, send unlimited. */
CGRPC_API int cgrpc_server_options_set_max_recv_message_size(
    cgrpc_server_options *opts, int64_t bytes);
CGRPC_API int cgrpc_server_options_set_max_send_message_size(
    cgrpc_server_options *opts, int64_t bytes);
/* HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection.  Default 1000. */
CGRPC_API int cgrpc_server_options_set_max_concurrent_streams(
    cgrpc_server_options *opts, int n);

/* A method handler.  Runs on a handler thread, never on the I/O thread.
 * call is library-owned and valid until the handler returns; use recv,
 * send, send_initial_metadata and finish on it.  A handler that returns
 * without cgrpc_call_finish() ends the RPC with UNKNOWN. */
typedef void (*cgrpc_handler_fn)(cgrpc_call *call, void *user_data);

/* Creates a stopped server.  opts may be NULL.  Returns CGRPC_OK,
 * CGRPC_E_INVALID_ARG, CGRPC_E_NOMEM, CGRPC_E_SYSTEM. */
CGRPC_API int cgrpc_server_create(cgrpc_server **out,
                                  const cgrpc_server_options *opts);
/* Binds and listens on address ("127.0.0.1:0", "[::1]:50051",
 * "0.0.0.0:8080", "unix:/path"); port 0 picks a free port, written to
 * *port (may be NULL; 0 for unix sockets).  Before start only.  Returns
 * CGRPC_OK, CGRPC_E_TARGET, CGRPC_E_ADDRESS (with errno's reason in
 * the name), CGRPC_E_STATE (after start). */
CGRPC_API int cgrpc_server_add_listener(cgrpc_server *srv, const char *address,
                                        int *port);
/* As cgrpc_server_add_listener, serving TLS with creds (server
 * credentials; insecure credentials mean h2c).  Listeners of one server
 * may mix TLS and h2c.  Returns also CGRPC_E_INVALID_ARG for client
 * credentials. */
CGRPC_API int cgrpc_server_add_secure_listener(cgrpc_server *srv,
                                               const char *address,
                                               const cgrpc_credentials *creds,
                                               int *port);
/* Registers handler for the full method path "/package.Service/Method".
 * destroy (may be NULL) is called once with user_data when the server is
 * destroyed, on the destroying thread.  Before start only.  Returns
 * CGRPC_OK, CGRPC_E_INVALID_ARG (bad path), CGRPC_E_STATE (started or the
 * path is already registered), CGRPC_E_NOMEM. */
CGRPC_API int cgrpc_server_register_method(cgrpc_server *srv,
                                           const char *method,
                                           cgrpc_handler_fn handler,
                                           void *user_data,
                                           cgrpc_destroy_fn destroy);
/* Registers a handler for every method not registered otherwise (for
 * bindings that route themselves).  Without it such methods get
 * UNIMPLEMENTED.  Same rules as cgrpc_server_register_method. */
CGRPC_API int cgrpc_server_set_fallback_handler(cgrpc_server *srv,
                                                cgrpc_handler_fn handler,
                                                void *user_data,
                                                cgrpc_destroy_fn destroy);
/* Starts serving.  Returns CGRPC_OK, CGRPC_E_STATE (already started or
 * no listener), CGRPC_E_SYSTEM. */
CGRPC_API int cgrpc_server_start(cgrpc_server *srv);
/* Graceful shutdown: stops accepting, sends GOAWAY, lets running RPCs
 * finish for up to grace_ms (< 0: wait for ever), then cancels the rest
 * and waits for their handlers to return.  Idempotent; blocks.  Must not
 * be called from one of this server's handlers (CGRPC_E_STATE).  Returns
 * CGRPC_OK. */
CGRPC_API int cgrpc_server_shutdown(cgrpc_server *srv, int64_t grace_ms);
/* Shuts down with no grace if needed, releases handlers' user_data and
 * frees the server.  Not from one of its handlers. */
CGRPC_API void cgrpc_server_destroy(cgrpc_server *srv);

/* Server call: sends the response headers now, with md (may be NULL).
 * Optional; otherwise they go with the first message or the status.
 * Returns CGRPC_OK, CGRPC_E_STATE (already sent), CGRPC_E_ROLE,
 * CGRPC_E_CANCELLED, CGRPC_E_BUSY. */
CGRPC_API int cgrpc_call_send_initial_metadata(cgrpc_call *call,
                                               const cgrpc_metadata *md);
/* Server call: adds md (copied) to the trailing metadata that the RPC's
 * status will carry, whoever ends it (cgrpc_call_finish, a generated
 * skeleton, a binding); cgrpc_call_finish's own trailers come after.
 * Returns CGRPC_OK, CGRPC_E_STATE (already finished), CGRPC_E_ROLE,
 * CGRPC_E_CANCELLED, CGRPC_E_INVALID_ARG, CGRPC_E_NOMEM.  From the
 * handler's thread, or any thread that also owns the call's sends. */
CGRPC_API int cgrpc_call_set_trailing_metadata(cgrpc_call *call,
                                               const cgrpc_metadata *md);
/* Server call: ends the RPC with code, message (UTF-8, may be NULL) and
 * trailing metadata (may be NULL), after the messages already sent.
 * Returns CGRPC_OK, CGRPC_E_STATE (already finished), CGRPC_E_ROLE,
 * CGRPC_E_CANCELLED, CGRPC_E_INVALID_ARG (code outside 0..16). */
CGRPC_API int cgrpc_call_finish(cgrpc_call *call, int code, const char *message,
                                const cgrpc_metadata *trailers);

#ifdef __cplusplus
}
#endif

#endif /* CGRPC_H */
