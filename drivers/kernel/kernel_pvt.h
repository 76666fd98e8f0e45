/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared by the kernel-socket transports. */
#ifndef CACHALOT_KERNEL_PVT_H
#define CACHALOT_KERNEL_PVT_H

struct transport_ops;

extern const struct transport_ops kernel_epoll_ops;
extern const struct transport_ops kernel_uring_ops;

/** TCP_NODELAY and keepalive (tcp-keepalive) on an accepted socket. */
void kernel_tune_socket(int fd);
/** Tell a refused client why (err from conn_new), and close it. */
void kernel_reject(int fd, int err);
/** 0 when io_uring can run here with what we need, else -errno. */
int kernel_uring_probe(const char **why);

#endif
