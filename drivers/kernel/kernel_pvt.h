/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the kernel-socket transports. */
#ifndef CACHALOT_KERNEL_PVT_H
#define CACHALOT_KERNEL_PVT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

struct transport_ops;

extern const struct transport_ops kernel_epoll_ops;
extern const struct transport_ops kernel_uring_ops;

/** TCP_NODELAY and keepalive (tcp-keepalive) on an accepted socket. */
void kernel_tune_socket(int fd);
/** Tell a refused client why (err from conn_new), and close it. */
void kernel_reject(int fd, int err);
/*
 * accept() out of descriptors (EMFILE, ENFILE): the connection stays in
 * the backlog and the listener stays ready, so retrying at once spins.
 * The listener rests until a descriptor is freed (a client of any worker
 * closes) or KERNEL_ACCEPT_RETRY_MS passes, since descriptors can be freed
 * outside our sight too.  One per worker.
 */
#define KERNEL_ACCEPT_RETRY_MS 100

struct kernel_accept_rest {
	bool resting;
	unsigned long closes; /* kernel_fd_closed() count when it began */
	int64_t since_ms;
};

/** A client socket was closed (any worker).  Context: any thread. */
void kernel_fd_closed(void);
/** Whether err from accept means "rest"; if so start resting (logs the
 * first time in a while).  Context: the listener's worker. */
bool kernel_accept_rest(struct kernel_accept_rest *r, int err, int64_t now_ms);
/** Whether a resting listener may try again now; ends the rest. */
bool kernel_accept_wake(struct kernel_accept_rest *r, int64_t now_ms);

/** Whether fd is one of fds[0..n) (relisten keeps listeners it reuses). */
static inline bool kernel_fd_in(int fd, const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] == fd)
			return true;
	return false;
}

/** Stop listening on fd at once, then close it: a request still holding
 * the socket (io_uring's accept until its cancel completes) would keep
 * it listening, and CONFIG SET must not answer before the old addresses
 * refuse.  Context: the listener's worker. */
static inline void kernel_listen_drop(int fd)
{
	shutdown(fd, SHUT_RDWR);
	close(fd);
}

/** 0 when io_uring can run here with what we need, else -errno. */
int kernel_uring_probe(const char **why);

#endif
