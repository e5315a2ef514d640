/*
 * Batched UDP for the DNSBL: recvmmsg fills up to `slots` query slots, one call into
 * JavaScript answers them all, sendmmsg sends the answers back to the address each query came
 * from. Node's dgram costs one `message` event, a Buffer, an rinfo object and one send per
 * datagram; here the per-datagram cost is the kernel's, and JavaScript runs once per batch.
 *
 * The slots are ArrayBuffers that JavaScript owns and keeps views of (no copy, no allocation
 * per datagram). The socket is watched by a uv_poll handle on Node's own loop, so answers are
 * computed on the thread that holds the zone, between its other work.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

/* recvmmsg rounds per readable event before yielding to the rest of the loop. */
#define MAX_ROUNDS 8

typedef struct {
  uv_poll_t poll;
  int fd;
  int closing;
  napi_env env;
  napi_async_context async;
  napi_ref on_batch;
  napi_ref on_closed;
  napi_ref buffers[4]; /* in, in_len, out, out_len: kept alive while we hold their pointers */
  napi_async_cleanup_hook_handle cleanup;
  uint8_t *in;
  size_t in_slot;
  uint16_t *in_len;
  uint8_t *out;
  size_t out_slot;
  uint16_t *out_len;
  uint32_t slots;
  struct mmsghdr *rmsg;
  struct mmsghdr *smsg;
  struct iovec *riov;
  struct iovec *siov;
  struct sockaddr_storage *addr;
  double received, sent, dropped, batches;
} batch_socket;

#define CHECK(env, call)                                                                      \
  do {                                                                                        \
    if ((call) != napi_ok) {                                                                  \
      const napi_extended_error_info *info_;                                                  \
      napi_get_last_error_info((env), &info_);                                                \
      napi_throw_error((env), NULL, info_->error_message ? info_->error_message : #call);     \
      return NULL;                                                                            \
    }                                                                                         \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, uv_err_name(-err), msg);
  return NULL;
}

/* Calls a JS function from a libuv callback, reporting what it throws as uncaught. */
static void call_js(batch_socket *s, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, result;
  napi_get_reference_value(env, fn_ref, &fn);
  napi_get_global(env, &recv); /* make_callback wants an object */
  if (napi_make_callback(env, s->async, recv, fn, argc, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void send_answers(batch_socket *s, int n) {
  int m = 0;
  for (int i = 0; i < n; i++) {
    uint16_t len = s->out_len[i];
    if (len == 0 || len > s->out_slot) continue;
    s->siov[m].iov_base = s->out + (size_t)i * s->out_slot;
    s->siov[m].iov_len = len;
    struct msghdr *h = &s->smsg[m].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = &s->addr[i];
    h->msg_namelen = s->rmsg[i].msg_hdr.msg_namelen;
    h->msg_iov = &s->siov[m];
    h->msg_iovlen = 1;
    m++;
  }
  for (int k = 0; k < m;) {
    int r = sendmmsg(s->fd, s->smsg + k, (unsigned)(m - k), MSG_DONTWAIT);
    if (r > 0) {
      k += r;
      s->sent += r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      /* The send buffer is full: UDP answers are dropped, as any DNS server's would be. */
      s->dropped += m - k;
      return;
    } else {
      /* This one destination failed (unreachable, refused): drop it, send the rest. */
      s->dropped++;
      k++;
    }
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  batch_socket *s = handle->data;
  (void)events;
  if (status < 0 || s->closing) return;
  for (int round = 0; round < MAX_ROUNDS && !s->closing; round++) {
    for (uint32_t i = 0; i < s->slots; i++) {
      struct msghdr *h = &s->rmsg[i].msg_hdr;
      s->riov[i].iov_base = s->in + (size_t)i * s->in_slot;
      s->riov[i].iov_len = s->in_slot;
      h->msg_name = &s->addr[i];
      h->msg_namelen = sizeof s->addr[i];
      h->msg_iov = &s->riov[i];
      h->msg_iovlen = 1;
      h->msg_control = NULL;
      h->msg_controllen = 0;
      h->msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->rmsg, s->slots, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN: drained. Anything else: nothing to read now either. */
    }
    if (n == 0) return;
    for (int i = 0; i < n; i++) {
      /* A datagram longer than its slot was cut: no query, no answer. */
      s->in_len[i] = (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : (uint16_t)s->rmsg[i].msg_len;
      s->out_len[i] = 0;
    }
    s->received += n;
    s->batches++;
    napi_handle_scope scope;
    if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
    napi_value count;
    napi_create_uint32(s->env, (uint32_t)n, &count);
    call_js(s, s->on_batch, 1, &count);
    napi_close_handle_scope(s->env, scope);
    if (s->closing) return; /* closed from inside the batch: the fd is gone */
    send_answers(s, n);
    if ((uint32_t)n < s->slots) return;
  }
}

static void free_socket(batch_socket *s) {
  free(s->rmsg);
  free(s->smsg);
  free(s->riov);
  free(s->siov);
  free(s->addr);
  free(s);
}

static void release_js(batch_socket *s) {
  napi_env env = s->env;
  for (int i = 0; i < 4; i++)
    if (s->buffers[i]) napi_delete_reference(env, s->buffers[i]);
  if (s->on_batch) napi_delete_reference(env, s->on_batch);
  if (s->async) napi_async_destroy(env, s->async);
}

static void on_closed(uv_handle_t *handle) {
  batch_socket *s = handle->data;
  if (s->cleanup) napi_remove_async_cleanup_hook(s->cleanup);
  napi_handle_scope scope;
  if (s->on_closed && napi_open_handle_scope(s->env, &scope) == napi_ok) {
    call_js(s, s->on_closed, 0, NULL);
    napi_close_handle_scope(s->env, scope);
    napi_delete_reference(s->env, s->on_closed);
  }
  release_js(s);
  free_socket(s);
}

static void begin_close(batch_socket *s) {
  if (s->closing) return;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  close(s->fd);
  s->fd = -1;
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

/* The environment is going away (a worker thread ending) with the socket still open. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  batch_socket *s = arg;
  (void)handle;
  if (s->on_closed) {
    napi_delete_reference(s->env, s->on_closed);
    s->on_closed = NULL;
  }
  begin_close(s);
}

static int get_buffer(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ab = false;
  napi_is_arraybuffer(env, v, &is_ab);
  if (!is_ab) return -1;
  void *p;
  if (napi_get_arraybuffer_info(env, v, &p, len) != napi_ok) return -1;
  *data = p;
  return 0;
}

static int get_u16(napi_env env, napi_value v, uint16_t **data, size_t *len) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) return -1;
  napi_typedarray_type type;
  void *p;
  if (napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL) != napi_ok) return -1;
  if (type != napi_uint16_array) return -1;
  *data = p;
  return 0;
}

/* open(family, host, port, reusePort, inBuf, inSlot, inLen, outBuf, outSlot, outLen, onBatch) */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 11) {
    napi_throw_type_error(env, NULL, "open: expected 11 arguments");
    return NULL;
  }
  uint32_t family, port, in_slot, out_slot;
  bool reuse_port;
  char host[64];
  size_t host_len;
  CHECK(env, napi_get_value_uint32(env, argv[0], &family));
  CHECK(env, napi_get_value_string_utf8(env, argv[1], host, sizeof host, &host_len));
  CHECK(env, napi_get_value_uint32(env, argv[2], &port));
  CHECK(env, napi_get_value_bool(env, argv[3], &reuse_port));
  CHECK(env, napi_get_value_uint32(env, argv[5], &in_slot));
  CHECK(env, napi_get_value_uint32(env, argv[8], &out_slot));

  uint8_t *in, *out;
  uint16_t *in_len, *out_len;
  size_t in_bytes, out_bytes, in_lens, out_lens;
  if (get_buffer(env, argv[4], &in, &in_bytes) || get_buffer(env, argv[7], &out, &out_bytes) ||
      get_u16(env, argv[6], &in_len, &in_lens) || get_u16(env, argv[9], &out_len, &out_lens)) {
    napi_throw_type_error(env, NULL, "open: slots must be ArrayBuffers, lengths Uint16Arrays");
    return NULL;
  }
  if (in_slot == 0 || out_slot == 0 || in_slot > 65535 || out_slot > 65535 || in_lens == 0 ||
      in_lens != out_lens || in_bytes < in_lens * in_slot || out_bytes < out_lens * out_slot) {
    napi_throw_range_error(env, NULL, "open: slot sizes and counts do not match the buffers");
    return NULL;
  }
  napi_valuetype fn_type;
  napi_typeof(env, argv[10], &fn_type);
  if (fn_type != napi_function) {
    napi_throw_type_error(env, NULL, "open: onBatch must be a function");
    return NULL;
  }

  struct sockaddr_storage sa;
  socklen_t sa_len;
  memset(&sa, 0, sizeof sa);
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) goto bad_host;
    sa_len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&sa;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) goto bad_host;
    sa_len = sizeof *a;
  }

  int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "setsockopt SO_REUSEPORT", err);
  }
  if (bind(fd, (struct sockaddr *)&sa, sa_len) < 0) {
    int err = errno;
    close(fd);
    char what[96];
    snprintf(what, sizeof what, "bind %s port %u", host, port);
    return throw_errno(env, what, err);
  }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bound_len);
  uint32_t bound_port = ntohs(bound.ss_family == AF_INET6
                                  ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                  : ((struct sockaddr_in *)&bound)->sin_port);

  batch_socket *s = calloc(1, sizeof *s);
  uint32_t slots = (uint32_t)in_lens;
  if (s) {
    s->rmsg = calloc(slots, sizeof *s->rmsg);
    s->smsg = calloc(slots, sizeof *s->smsg);
    s->riov = calloc(slots, sizeof *s->riov);
    s->siov = calloc(slots, sizeof *s->siov);
    s->addr = calloc(slots, sizeof *s->addr);
  }
  if (!s || !s->rmsg || !s->smsg || !s->riov || !s->siov || !s->addr) {
    close(fd);
    if (s) free_socket(s);
    napi_throw_error(env, "ENOMEM", "open: out of memory");
    return NULL;
  }
  s->fd = fd;
  s->env = env;
  s->in = in;
  s->in_slot = in_slot;
  s->in_len = in_len;
  s->out = out;
  s->out_slot = out_slot;
  s->out_len = out_len;
  s->slots = slots;
  s->poll.data = s;

  uv_loop_t *loop;
  napi_value resource_name;
  napi_status st = napi_get_uv_event_loop(env, &loop);
  if (st == napi_ok) st = napi_create_string_utf8(env, "RempartUdpBatch", NAPI_AUTO_LENGTH, &resource_name);
  if (st == napi_ok) st = napi_async_init(env, NULL, resource_name, &s->async);
  if (st == napi_ok) st = napi_create_reference(env, argv[10], 1, &s->on_batch);
  const int buffer_args[4] = {4, 6, 7, 9};
  for (int i = 0; i < 4 && st == napi_ok; i++)
    st = napi_create_reference(env, argv[buffer_args[i]], 1, &s->buffers[i]);
  if (st != napi_ok || uv_poll_init_socket(loop, &s->poll, fd) != 0) {
    close(fd);
    release_js(s);
    free_socket(s);
    napi_throw_error(env, NULL, "open: could not watch the socket");
    return NULL;
  }
  int uerr = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (uerr == 0) napi_add_async_cleanup_hook(env, on_env_cleanup, s, &s->cleanup);
  if (uerr != 0) {
    begin_close(s);
    napi_throw_error(env, uv_err_name(uerr), "open: could not start reading the socket");
    return NULL;
  }

  napi_value result, handle, port_value;
  CHECK(env, napi_create_object(env, &result));
  CHECK(env, napi_create_external(env, s, NULL, NULL, &handle));
  CHECK(env, napi_create_uint32(env, bound_port, &port_value));
  CHECK(env, napi_set_named_property(env, result, "socket", handle));
  CHECK(env, napi_set_named_property(env, result, "port", port_value));
  return result;

bad_host:
  napi_throw_type_error(env, "EINVAL", "open: the host is not an address of that family");
  return NULL;
}

static batch_socket *socket_arg(napi_env env, napi_value v) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "expected a socket from open()");
    return NULL;
  }
  return p;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, v;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  batch_socket *s = argc == 1 ? socket_arg(env, argv[0]) : NULL;
  if (!s) return NULL;
  const double values[4] = {s->received, s->sent, s->dropped, s->batches};
  CHECK(env, napi_create_array_with_length(env, 4, &result));
  for (uint32_t i = 0; i < 4; i++) {
    CHECK(env, napi_create_double(env, values[i], &v));
    CHECK(env, napi_set_element(env, result, i, v));
  }
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  batch_socket *s = argc == 2 ? socket_arg(env, argv[0]) : NULL;
  if (!s) return NULL;
  if (s->closing) {
    napi_throw_error(env, "ERR_SOCKET_DGRAM_NOT_RUNNING", "close: the socket is already closed");
    return NULL;
  }
  CHECK(env, napi_create_reference(env, argv[1], 1, &s->on_closed));
  begin_close(s);
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  const napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  return exports;
}
