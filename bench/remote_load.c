/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * remote_load: a load generator that chooses the core its connections
 * land on, for bench/remote_bench.py.
 *
 * Kernel mode spreads connections over the workers' SO_REUSEPORT
 * listeners by a hash of the address pair, so a client cannot ask for a
 * core: this one connects until `conns` connections answered CLIENT INFO
 * with worker=<worker> and closes the others.  Then it reads one line
 * from stdin (the caller samples the server's CPU time in between, so the
 * connecting is not measured), runs `requests` commands (SET key value or
 * GET key, keys from the key file in turn) keeping `pipeline` of them in
 * flight on every connection, the way memtier's --pipeline does (a reply
 * in, a request out), and prints "done <requests> <seconds> <errors>".
 *
 * Python's socket loop would be the bottleneck at pipeline 16 and leave
 * the server idle (and polling) between batches; this keeps it busy.
 *
 * Usage: remote_load HOST PORT CONNS PIPELINE REQUESTS WORKER SET|GET
 *                    KEYFILE VALUE_SIZE
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RL_MAX_CONNS 256
#define RL_RBUF (1 << 20)

struct rl_conn {
	int fd;
	size_t next_key; /* index of the next request to send */
	uint64_t sent;	 /* requests sent */
	uint64_t done;	 /* replies parsed */
	char *rbuf;	 /* unparsed reply bytes */
	size_t rlen;
	char *wbuf;	   /* requests not yet written */
	size_t wlen, wcap; /* wlen bytes from wpos */
	size_t wpos;
};

static char **rl_req;	   /* one encoded request per key */
static size_t *rl_req_len; /* its length */
static size_t rl_nreq;
static uint64_t rl_errors;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static int rl_connect(const char *host, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port)};
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "bad host %s\n", host);
		exit(2);
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* The worker= field of CLIENT INFO, or -1. */
static int rl_worker_of(int fd)
{
	static const char q[] = "*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n";
	char buf[4096];
	size_t len = 0;
	const char *p;

	if (write(fd, q, sizeof(q) - 1) != (ssize_t)(sizeof(q) - 1))
		die("write");
	/* "$<n>\r\n<line>\n\r\n": enough once the last CRLF arrived. */
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			die("read");
		len += (size_t)n;
		buf[len] = '\0';
		if (len > 4 && strstr(buf, "\n\r\n"))
			break;
	}
	p = strstr(buf, " worker=");
	return p ? atoi(p + 8) : -1;
}

static void rl_keys(const char *path, bool set, size_t vsize)
{
	FILE *f = fopen(path, "r");
	char line[512];
	char *val = malloc(vsize + 1);
	size_t cap = 0;

	if (!f || !val)
		die(path);
	memset(val, 'x', vsize);
	while (fgets(line, sizeof(line), f)) {
		size_t kl = strcspn(line, "\r\n");
		char *r;
		int n;

		if (!kl)
			continue;
		line[kl] = '\0';
		if (rl_nreq == cap) {
			cap = cap ? cap * 2 : 1024;
			rl_req = realloc(rl_req, cap * sizeof(*rl_req));
			rl_req_len = realloc(rl_req_len, cap * sizeof(size_t));
			if (!rl_req || !rl_req_len)
				die("realloc");
		}
		r = malloc(kl + vsize + 64);
		if (!r)
			die("malloc");
		if (set)
			n = sprintf(r,
				    "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n",
				    kl, line, vsize);
		else
			n = sprintf(r, "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", kl,
				    line);
		if (set) {
			memcpy(r + n, val, vsize);
			n += (int)vsize;
			memcpy(r + n, "\r\n", 2);
			n += 2;
		}
		rl_req[rl_nreq] = r;
		rl_req_len[rl_nreq++] = (size_t)n;
	}
	fclose(f);
	free(val);
	if (!rl_nreq) {
		fprintf(stderr, "no keys in %s\n", path);
		exit(2);
	}
}

/* Queue k more requests on c. */
static void rl_queue(struct rl_conn *c, uint64_t k)
{
	for (; k; k--) {
		size_t i = c->next_key++ % rl_nreq;
		size_t n = rl_req_len[i];

		if (c->wpos + c->wlen + n > c->wcap) {
			memmove(c->wbuf, c->wbuf + c->wpos, c->wlen);
			c->wpos = 0;
			if (c->wlen + n > c->wcap) {
				c->wcap = (c->wlen + n) * 2;
				c->wbuf = realloc(c->wbuf, c->wcap);
				if (!c->wbuf)
					die("realloc");
			}
		}
		memcpy(c->wbuf + c->wpos + c->wlen, rl_req[i], n);
		c->wlen += n;
		c->sent++;
	}
}

/* Complete replies at the front of c's buffer: simple ones (+ - :) and
 * bulk strings, all these commands answer. */
static uint64_t rl_parse(struct rl_conn *c)
{
	size_t pos = 0;
	uint64_t got = 0;

	for (;;) {
		char *p = c->rbuf + pos;
		char *e = memchr(p, '\n', c->rlen - pos);
		size_t end;

		if (!e)
			break;
		end = (size_t)(e - c->rbuf) + 1;
		if (*p == '$') {
			long n = strtol(p + 1, NULL, 10);
			if (n >= 0) {
				if (c->rlen < end + (size_t)n + 2)
					break;
				end += (size_t)n + 2;
			}
		} else if (*p == '-') {
			rl_errors++;
		}
		pos = end;
		got++;
	}
	memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
	c->rlen -= pos;
	return got;
}

int main(int argc, char **argv)
{
	struct rl_conn cs[RL_MAX_CONNS];
	struct pollfd pf[RL_MAX_CONNS];
	struct timespec t0, t1;
	unsigned nconn, pipeline, tries = 0;
	uint64_t requests, quota, done = 0;
	int worker, port;
	char go[16];

	if (argc != 10) {
		fprintf(stderr, "usage: remote_load HOST PORT CONNS PIPELINE "
				"REQUESTS WORKER SET|GET KEYFILE VALUE_SIZE\n");
		return 2;
	}
	port = atoi(argv[2]);
	nconn = (unsigned)atoi(argv[3]);
	pipeline = (unsigned)atoi(argv[4]);
	requests = strtoull(argv[5], NULL, 10);
	worker = atoi(argv[6]);
	if (!nconn || nconn > RL_MAX_CONNS || !pipeline)
		return 2;
	rl_keys(argv[8], strcmp(argv[7], "SET") == 0, strtoul(argv[9], 0, 10));
	for (unsigned i = 0; i < nconn;) {
		int fd = rl_connect(argv[1], port);

		if (++tries > 200 * nconn) {
			fprintf(stderr, "no connection lands on worker %d\n",
				worker);
			return 2;
		}
		if (rl_worker_of(fd) != worker) {
			close(fd);
			continue;
		}
		memset(&cs[i], 0, sizeof(cs[i]));
		cs[i].fd = fd;
		cs[i].next_key = (size_t)i * (rl_nreq / nconn);
		cs[i].rbuf = malloc(RL_RBUF);
		if (!cs[i].rbuf)
			die("malloc");
		pf[i].fd = fd;
		i++;
	}
	printf("ready %u %u\n", nconn, tries);
	fflush(stdout);
	if (!fgets(go, sizeof(go), stdin))
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	quota = requests / nconn;
	for (unsigned i = 0; i < nconn; i++)
		rl_queue(&cs[i], quota < pipeline ? quota : pipeline);
	while (done < quota * nconn) {
		for (unsigned i = 0; i < nconn; i++)
			pf[i].events = (cs[i].done < quota ? POLLIN : 0) |
				       (cs[i].wlen ? POLLOUT : 0);
		if (poll(pf, nconn, 10000) <= 0)
			die("poll");
		for (unsigned i = 0; i < nconn; i++) {
			struct rl_conn *c = &cs[i];

			if (pf[i].revents & POLLOUT) {
				ssize_t n =
				    write(c->fd, c->wbuf + c->wpos, c->wlen);
				if (n < 0 && errno != EAGAIN)
					die("write");
				if (n > 0) {
					c->wpos += (size_t)n;
					c->wlen -= (size_t)n;
				}
			}
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t n = read(c->fd, c->rbuf + c->rlen,
						 RL_RBUF - c->rlen);
				uint64_t got, more;

				if (n <= 0)
					die("read");
				c->rlen += (size_t)n;
				got = rl_parse(c);
				c->done += got;
				done += got;
				more = quota - c->sent;
				rl_queue(c, got < more ? got : more);
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("done %llu %.6f %llu\n", (unsigned long long)done,
	       (double)(t1.tv_sec - t0.tv_sec) +
		   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (unsigned long long)rl_errors);
	return 0;
}
