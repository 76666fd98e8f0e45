/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "kernel_pvt.h"
#include "transport.h"

int kernel_listen(const char *addr, int port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd;
	bool v6 = strchr(addr, ':') != NULL;

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &in6->sin6_addr) != 1)
			return -EINVAL;
		len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
			return -EINVAL;
		len = sizeof(*in);
	}
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, backlog)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

void kernel_tune_socket(int fd)
{
	int one = 1;
	long long ka = cfg_cur()->tcp_keepalive;

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
}

const struct transport_ops *kernel_transport(int mode, const char **why)
{
	*why = NULL;
	if (mode == CFG_IO_EPOLL) {
		*why = "kernel-io is set to epoll";
		return &kernel_epoll_ops;
	}
	if (kernel_uring_probe(why) == 0)
		return &kernel_uring_ops;
	return &kernel_epoll_ops;
}
