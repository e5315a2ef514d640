/*
 * Not a test: an open-loop HTTP/1.1 load generator, for the latency targets (issue #3: p99 at
 * most 2 ms for look-ups at 10x CrowdSec's rate). Request j is due at start + j / rate and goes
 * out on the first idle keep-alive connection (one request in flight per connection, as a
 * bouncer or nginx's auth_request does); its latency runs from when it was due, so a stall of
 * the server counts against every request that waited behind it (no coordinated omission).
 *
 * Why C: the Node client it replaces (bench/open-loop.ts, still used where the protocol is not
 * HTTP) paused 11-49 ms per 10 s run for its own collections and compilations, which read as
 * the server's tail. This one allocates nothing while it runs and spins on epoll on its own core.
 * Debian has wrk but not wrk2, whose constant-rate mode this is.
 *
 *   cc -O2 -o bench/out/open-loop-http bench/open-loop-http.c
 *   bench/out/open-loop-http --port P --requests FILE --rate R [--seconds 10] [--warmup 1]
 *                            [--connections 16] [--label NAME]
 *
 * FILE holds whole requests, each followed by a NUL byte; they are sent in turn, round and
 * round. Answers are framed by Content-Length (as Rempart's API answers). Prints one line:
 *   LABEL|answers/s (those due in the measured seconds)|p50|p99|non-2xx|max|client's longest pause
 * with the times in ms ("1.23ms"). The first --warmup seconds go out at the same rate and are not
 * counted. An idle connection the server closes (its keep-alive timeout: at a low rate the
 * connections at the bottom of the idle stack wait long) is opened again. Exit status 1 on a
 * connection closed with a request in flight, another error, or an answer it cannot frame.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 1024
#define BUFFER 65536

struct conn {
  int fd;
  int busy;
  double due;      /* ms, when the request in flight was due */
  size_t have;     /* bytes of answer read so far */
  char buf[BUFFER];
};

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "open-loop-http: %s\n", what);
  exit(1);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* One whole answer at the head of c->buf: its length, 0 if incomplete; its status in *status. */
static size_t frame(const struct conn *c, int *status) {
  const char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
  if (end == NULL) {
    if (c->have == BUFFER) die("an answer's head is longer than 64 KB");
    return 0;
  }
  size_t head = end - c->buf + 4, body = 0;
  if (c->have < 12 || memcmp(c->buf, "HTTP/1.", 7) != 0) die("an answer that is not HTTP/1.x");
  *status = atoi(c->buf + 9);
  for (const char *p = c->buf; p < end; p++) {
    if ((p == c->buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
      body = strtoul(p + 15, NULL, 10);
      break;
    }
  }
  if (head + body > BUFFER) die("an answer longer than 64 KB");
  return c->have >= head + body ? head + body : 0;
}

static void open_connection(int ep, const struct sockaddr_in *addr, struct conn *c, int i) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  if (fd < 0 || connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) die("cannot connect");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->have = 0;
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv) {
  int port = 0, connections = 16;
  double rate = 0, seconds = 10, warmup = 1;
  const char *file = NULL, *label = "open-loop";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--requests")) file = argv[i + 1];
    else if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--warmup")) warmup = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--connections")) connections = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--label")) label = argv[i + 1];
    else {
      fprintf(stderr, "open-loop-http: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (port <= 0 || file == NULL || rate <= 0 || connections < 1 || connections > MAX_CONNECTIONS) {
    fprintf(stderr, "usage: open-loop-http --port P --requests FILE --rate R [--seconds S] "
                    "[--warmup S] [--connections 1-%d] [--label NAME]\n", MAX_CONNECTIONS);
    return 2;
  }

  /* The requests, NUL-separated. */
  FILE *f = fopen(file, "rb");
  if (f == NULL) die("cannot open the requests file");
  struct stat st;
  fstat(fileno(f), &st);
  char *text = malloc(st.st_size + 1);
  if (fread(text, 1, st.st_size, f) != (size_t)st.st_size) die("cannot read the requests file");
  fclose(f);
  size_t count = 0;
  for (off_t i = 0; i < st.st_size; i++) count += text[i] == '\0';
  if (count == 0) die("no request in the file (each ends with a NUL byte)");
  const char **req = malloc(count * sizeof *req);
  size_t *len = malloc(count * sizeof *len);
  for (size_t k = 0, at = 0; k < count; k++) {
    req[k] = text + at;
    len[k] = strlen(text + at);
    at += len[k] + 1;
  }

  /* Latencies: room for every answer, allocated before the run. */
  size_t room = (size_t)(rate * (seconds + 2)) + connections + 16, n = 0, bad = 0;
  double *lat = malloc(room * sizeof *lat);
  struct conn *conns = calloc(connections, sizeof *conns);
  int *idle = malloc(connections * sizeof *idle), nidle = 0;
  int ep = epoll_create1(0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  for (int i = 0; i < connections; i++) {
    open_connection(ep, &addr, &conns[i], i);
    idle[nidle++] = i;
  }

  double started = now_ms(), measured = started + warmup * 1e3, end = measured + seconds * 1e3;
  double last = started, stall = 0, step = 1e3 / rate;
  unsigned long seq = 0, reconnects = 0;
  struct epoll_event events[MAX_CONNECTIONS];
  for (;;) {
    double t = now_ms();
    if (t - last > stall) stall = t - last;
    last = t;
    int sending = t < end;
    if (!sending && nidle == connections) break;
    if (!sending && t > end + 1e3) { /* answers still owed after 1 s: the server is stuck */
      fprintf(stderr, "open-loop-http: %d answers still owed 1 s after the end\n", connections - nidle);
      break;
    }
    for (double due = started + seq * step; sending && due <= t && nidle > 0; due = started + seq * step) {
      struct conn *c = &conns[idle[--nidle]];
      size_t k = seq++ % count;
      c->due = due;
      c->busy = 1;
      if (write(c->fd, req[k], len[k]) != (ssize_t)len[k]) die("a request did not go out whole");
    }
    int ready = epoll_wait(ep, events, MAX_CONNECTIONS, 0);
    if (ready < 0 && errno != EINTR) die("epoll_wait failed");
    for (int e = 0; e < ready; e++) {
      struct conn *c = &conns[events[e].data.u32];
      ssize_t got = read(c->fd, c->buf + c->have, BUFFER - c->have);
      if (got == 0 && !c->busy) {
        /* An idle connection the server closed (its keep-alive timeout): open another. */
        close(c->fd);
        open_connection(ep, &addr, c, events[e].data.u32);
        reconnects++;
        continue;
      }
      if (got <= 0) die(got == 0 ? "the server closed a connection with a request in flight" : "a read failed");
      c->have += got;
      int status;
      size_t whole;
      while ((whole = frame(c, &status)) > 0) {
        double done = now_ms();
        if (!c->busy) die("an answer to no request");
        if (c->due >= measured) {
          if (n < room) lat[n++] = done - c->due;
          if (status < 200 || status > 299) bad++;
        }
        c->busy = 0;
        idle[nidle++] = c - conns;
        memmove(c->buf, c->buf + whole, c->have - whole);
        c->have -= whole;
      }
    }
  }
  if (n == 0) die("no answer in the measured time");
  if (reconnects > 0) fprintf(stderr, "open-loop-http: %lu idle connections closed by the server, opened again\n", reconnects);
  qsort(lat, n, sizeof *lat, cmp);
  printf("%s|%.0f|%.2fms|%.2fms|%zu|%.2fms|%.2fms\n", label, n / seconds, lat[n / 2],
         lat[(size_t)(n * 0.99)], bad, lat[n - 1], stall);
  return 0;
}
