/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "kernel_pvt.h"
#include "log.h"
#include "transport.h"

static int kernel_sockaddr(const char *addr, int port,
			   struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
			return -EINVAL;
		*len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof(*in);
	}
	return 0;
}

/* A TCP socket bound to addr:port, SO_REUSEPORT or not.  fd or -errno. */
static int kernel_bind(const char *addr, int port, bool reuseport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd, rc;

	if ((rc = kernel_sockaddr(addr, port, &ss, &len)))
		return rc;
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int kernel_listen(const char *addr, int port, int backlog)
{
	int fd = kernel_bind(addr, port, true);

	if (fd >= 0 && listen(fd, backlog)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/*
 * SO_REUSEPORT lets every worker have its own listener, and lets any
 * other process of the same user join the group: the kernel then spreads
 * new connections over two keyspaces.  Two checks keep the port ours:
 *   - a socket bound without SO_REUSEPORT conflicts with every listener
 *     on the port whose address overlaps (a running cachalot on 0.0.0.0
 *     or 127.0.0.1, a redis-server): bound and closed at once, it tells
 *     whether anybody listens there now.  SO_REUSEADDR keeps connections
 *     in TIME_WAIT from a previous run out of it, as redis-server does;
 *   - two cachalots starting at the same instant could both pass it, so
 *     each first binds an abstract unix socket named after the address
 *     and port.  That name is unique per network namespace (as the port
 *     is) and goes away with the process, however it ends.
 */
int kernel_listen_claim(const char *addr, int port)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	socklen_t len;
	int lock, probe, n;

	n = snprintf(un.sun_path + 1, sizeof(un.sun_path) - 1,
		     "cachalot-listen:%s:%d", addr, port);
	len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
	lock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lock < 0)
		return -errno;
	if (bind(lock, (struct sockaddr *)&un, len)) {
		int err = errno == EADDRINUSE ? -EADDRINUSE : -errno;
		close(lock);
		return err;
	}
	probe = kernel_bind(addr, port, false);
	if (probe < 0) {
		close(lock);
		return probe;
	}
	close(probe);
	return lock;
}

static unsigned long kernel_closes;
static int64_t kernel_rest_logged_ms;

void kernel_fd_closed(void)
{
	__atomic_add_fetch(&kernel_closes, 1, __ATOMIC_RELAXED);
}

bool kernel_accept_rest(struct kernel_accept_rest *r, int err, int64_t now_ms)
{
	int64_t last;

	if (err != EMFILE && err != ENFILE)
		return false;
	r->resting = true;
	r->closes = __atomic_load_n(&kernel_closes, __ATOMIC_RELAXED);
	r->since_ms = now_ms;
	/* Once a minute at most, whichever worker hits it. */
	last = __atomic_load_n(&kernel_rest_logged_ms, __ATOMIC_RELAXED);
	if (now_ms - last >= 60000 &&
	    __atomic_compare_exchange_n(&kernel_rest_logged_ms, &last, now_ms,
					false, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED))
		log_warning("Accepting client connection: %s; new connections "
			    "wait until a descriptor is free (raise 'ulimit "
			    "-n' or lower maxclients)",
			    strerror(err));
	return true;
}

bool kernel_accept_wake(struct kernel_accept_rest *r, int64_t now_ms)
{
	if (!r->resting)
		return true;
	if (__atomic_load_n(&kernel_closes, __ATOMIC_RELAXED) == r->closes &&
	    now_ms - r->since_ms < KERNEL_ACCEPT_RETRY_MS)
		return false;
	r->resting = false;
	return true;
}

/* The one parameter a kernel socket reads, as the kernel transports' cfg
 * view (registered when the transport is chosen, at start-up). */
static int kernel_params_id = -1;

static void kernel_params_build(const struct cfg *c, void *view)
{
	*(long long *)view = c->tcp_keepalive;
}

void kernel_tune_socket(int fd)
{
	int one = 1;
	long long ka = *(const long long *)cfg_view(kernel_params_id);

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ka > 0) {
		int idle = (int)ka, intvl = (int)(ka / 3 ? ka / 3 : 1), cnt = 3;
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
			   sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
}

void kernel_reject(int fd, int err)
{
	size_t len;
	const char *msg = transport_reject_text(err, &len);

	if (msg)
		(void)!send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	kernel_fd_closed();
}

const struct transport_ops *kernel_transport(int mode, const char **why)
{
	*why = NULL;
	if (kernel_params_id < 0)
		kernel_params_id =
		    cfg_view_register(sizeof(long long), kernel_params_build);
	if (mode == CFG_IO_EPOLL) {
		*why = "kernel-io is set to epoll";
		return &kernel_epoll_ops;
	}
	if (kernel_uring_probe(why) == 0)
		return &kernel_uring_ops;
	return &kernel_epoll_ops;
}
