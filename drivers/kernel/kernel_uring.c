/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The io_uring transport: completion-driven, one ring per worker.
 *
 * Why: epoll costs a read(2) and a send(2) per request plus the
 * epoll_wait.  Here a loop turn is normally one io_uring_enter: it submits
 * every SEND the previous flush queued and sleeps until the next request
 * arrives; the kernel receives on its own.
 *
 * Receive: every connection has one multishot RECV armed for its life,
 * reading into a per-worker ring of provided buffers (incrementally
 * consumed on Linux 6.12+, so small requests pack together and a large
 * bulk arrives in one or two pieces).  dispatch() copies the bytes into
 * conn_rx_space() and hands the buffer back.  The copy is what makes it
 * safe: conn owns its input buffer and may memmove, realloc or free it
 * whenever it likes (conn_resume_paused() parses, conn_closed() frees), so
 * the kernel must never hold a pointer into it.  A multishot RECV ends (no
 * IORING_CQE_F_MORE) on EOF, on error, or with -ENOBUFS when the pool ran
 * dry during one wait; it is then re-armed, or the connection closed.
 *
 * Send: at most one SEND per connection in flight.  Every first attempt
 * carries MSG_DONTWAIT, which io_uring honours by completing the SEND
 * during submission (the probe checks this kernel does): a full, short or
 * -EAGAIN result is in the CQ when io_uring_enter returns, and nothing of
 * ours is left in the kernel.  Two consequences:
 *  - wait() asks for 1 + (number of such SENDs) completions, so a turn
 *    does not end at once on its own send completions;
 *  - a large output (UR_DIRECT_MIN) is sent straight from conn's buffer
 *    with no copy: flush() submits before it returns, and conn_tx_done()
 *    waits for the CQE.  A short result then arms POLLOUT and the rest
 *    goes, again from conn's buffer, when the socket has room.
 * Small outputs are copied to a transport-owned tx buffer (conn may
 * append and realloc meanwhile), conn_tx_done() is called at once, and
 * the SEND waits for the next io_uring_enter, batched with all others.  A
 * short result sends the rest from the copy with MSG_WAITALL.
 *
 * Lifetime: user_data is the struct ur_conn pointer with the operation in
 * the low bits.  ur_conn.refs counts operations the kernel holds (the
 * RECV, the SEND or POLLOUT).  close() forgets the struct conn at once
 * (conn_closed(), e->c = NULL), cancels by user_data, and the ur_conn is
 * freed when its last CQE came back.  A CQE handler holds its operation's
 * reference until it returns, so a close() from inside conn code cannot
 * free the ur_conn under the handler.  Sockets are registered files; a
 * cleared slot is reused only after the SQEs queued before were
 * submitted, so nothing queued for a closed connection can reach the next
 * one (plain fds, the fallback, are submitted before close(2) for the
 * same reason).
 *
 * The ring is SINGLE_ISSUER + DEFER_TASKRUN where the kernel has them:
 * completions are produced only inside our io_uring_enter, never while
 * conn code runs.
 *
 * Threading: everything runs on the owning worker.  wait() may run with
 * RCU offline; it touches only the ring.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>
#include <mimalloc.h>

#include "clock.h"
#include "conn.h"
#include "kernel_pvt.h"
#include "log.h"
#include "transport.h"
#include "worker_pvt.h"

#define UR_SQ_ENTRIES 4096 /* CQ: twice that */
/*
 * Receive buffers, 2 MB per worker either way (one huge page, touched at
 * attach so it shows in RSS from the start): incremental (Linux 6.12),
 * where receives pack into the head buffer and a 32 KB buffer returns as
 * soon as it is full and delivered, or one whole buffer per receive.  The
 * kernel walks the whole ring whatever the load, so every byte of it ends
 * up resident: it was 16 MB per worker (~16 B/key of RSS growth while 1M
 * keys were loaded).  A turn that receives more than the ring gets
 * -ENOBUFS and re-arms; a large bulk arrives in 32 KB pieces.
 */
#define UR_NBUF_INC 64
#define UR_BUFSZ_INC (32 * 1024)
#define UR_NBUF 512
#define UR_BUFSZ 4096
#define UR_BGID 0
#define UR_PBUF_RING_INC 2	    /* IOU_PBUF_RING_INC (6.12) */
#define UR_CQE_F_BUF_MORE (1U << 4) /* IORING_CQE_F_BUF_MORE (6.12) */
#define UR_DIRECT_MIN (32 * 1024)   /* send from conn's buffer */
#define UR_TX_MAX (1u << 20)	    /* bytes per SEND */
#define UR_TX_KEEP 16384	    /* tx buffer kept between sends */
#define UR_CQE_BATCH 256
#define UR_DRAIN_MS 500	   /* detach waits this long for CQEs */
#define UR_MAX_FILES 65536 /* registered file table, per worker */

/* The low bits of user_data (ur_conn is at least 8-byte aligned). */
enum ur_op {
	UR_IGNORE = 0, /* cancel results */
	UR_RECV,
	UR_SEND,
	UR_POLLOUT,
	UR_ACCEPT, /* listener index in the high bits */
	UR_WAKE_READ,
	UR_WAKE_POLL,
};
#define UR_OP_MASK 7ull

struct ur_conn {
	struct conn *c; /* NULL once closed */
	int fd;
	int slot;	/* registered file index, or -1 */
	uint8_t refs;	/* operations the kernel still holds */
	bool rx_armed;	/* the multishot RECV is live */
	bool rx_hold;	/* conn holds enough input: not re-armed */
	uint8_t tx_op;	/* UR_SEND or UR_POLLOUT live, or 0 */
	bool tx_direct; /* the SEND reads conn's own buffer */
	char *tx;	/* copy of small outputs */
	uint32_t tx_off, tx_len, tx_cap;
};

struct ur_worker {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	char *bufs;
	unsigned nbuf, bufsz;
	unsigned br_added;     /* buffers given back, not yet published */
	uint32_t *buf_off;     /* incremental: bytes of each buffer used */
	unsigned nconn;	       /* ur_conns not yet freed */
	unsigned nsend_inline; /* MSG_DONTWAIT SENDs not yet submitted */
	bool direct_queued;    /* this flush queued a direct SEND */
	uint32_t *free_slots;  /* registered file table: unused indexes */
	uint32_t *pend_slots;  /* cleared, reusable after the next submit */
	unsigned nfree, npend;
	uint32_t rearm_accept; /* listeners that found no free SQE */
	uint32_t rest_accept;  /* listeners resting out of descriptors */
	uint32_t listen_gen;   /* bumped by relisten: older accepts are stale */
	struct kernel_accept_rest rest;
	bool rearm_wake;
	bool wake_poll;	 /* READ on the non-blocking eventfd fails */
	bool wake_armed; /* the kernel may write wake_val */
	bool stopping;
	uint64_t wake_val;
	struct wstats *st; /* the worker's: memory gauges */
};

/* Whether a SEND with MSG_DONTWAIT completes during submission (-EAGAIN
 * rather than waiting for POLLOUT).  Set by the probe. */
static bool ur_inline_send;

static void ur_close(struct worker *w, struct conn *c);

/* ---- ring and buffer set-up (shared with the probe) ----------------- */

/* The fastest flag set the kernel takes: DEFER_TASKRUN (6.1), then
 * COOP_TASKRUN (5.19), then none. */
static int ur_ring_init(struct io_uring *ring, unsigned entries)
{
	static const unsigned flagsets[] = {
	    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
	    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
		IORING_SETUP_SUBMIT_ALL,
	    0,
	};
	int rc = -EINVAL;

	for (size_t i = 0; i < sizeof(flagsets) / sizeof(flagsets[0]); i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = flagsets[i] | IORING_SETUP_CQSIZE;
		p.cq_entries = entries * 2;
		rc = io_uring_queue_init_params(entries, ring, &p);
		if (rc != -EINVAL)
			break;
	}
	return rc;
}

/* Anonymous memory on 2 MB boundaries, backed by huge pages where THP
 * allows: receives walk round the whole buffer ring, and with 4 KB pages
 * each one cost a TLB miss (_copy_to_iter tripled in the profile). */
static char *ur_map_huge(size_t len)
{
	const size_t huge = 2u << 20;
	char *p = mmap(NULL, len + huge, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + len, (size_t)(p + huge - a));
	madvise(a, len, MADV_HUGEPAGE);
	memset(a, 0, len);
	return a;
}

static void ur_bufs_free(struct io_uring_buf_ring *br, char *bufs,
			 unsigned nbuf, unsigned size)
{
	if (br)
		munmap(br, nbuf * sizeof(struct io_uring_buf));
	if (bufs)
		munmap(bufs, (size_t)nbuf * size);
}

/* Register nbuf buffers of size bytes as group UR_BGID. */
static int ur_bufs_init(struct io_uring *ring, unsigned nbuf, unsigned size,
			bool inc, struct io_uring_buf_ring **brp, char **bufsp)
{
	struct io_uring_buf_reg reg;
	struct io_uring_buf_ring *br;
	char *bufs;
	int rc;

	br = mmap(NULL, nbuf * sizeof(struct io_uring_buf),
		  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (br == MAP_FAILED)
		return -errno;
	bufs = ur_map_huge((size_t)nbuf * size);
	if (!bufs) {
		rc = -errno;
		ur_bufs_free(br, NULL, nbuf, size);
		return rc;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	reg.ring_entries = nbuf;
	reg.bgid = UR_BGID;
	reg.pad = inc ? UR_PBUF_RING_INC : 0; /* "flags" in newer headers */
	rc = io_uring_register_buf_ring(ring, &reg, 0);
	if (rc) {
		ur_bufs_free(br, bufs, nbuf, size);
		return rc;
	}
	io_uring_buf_ring_init(br);
	for (unsigned i = 0; i < nbuf; i++)
		io_uring_buf_ring_add(br, bufs + (size_t)i * size, size,
				      (unsigned short)i,
				      io_uring_buf_ring_mask(nbuf), (int)i);
	io_uring_buf_ring_advance(br, (int)nbuf);
	*brp = br;
	*bufsp = bufs;
	return 0;
}

static void ur_prep_recv(struct io_uring_sqe *sqe, int fd)
{
	io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = UR_BGID;
}

/* ---- probe ---------------------------------------------------------- */

/* A multishot RECV with a provided buffer on a socketpair: the feature
 * (Linux 6.0) that no opcode probe can show.  Exits the ring. */
static int ur_probe_recv(struct io_uring *ring, const char **why)
{
	struct io_uring_buf_ring *br = NULL;
	struct __kernel_timespec ts = {.tv_sec = 1};
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	char *bufs = NULL;
	int sv[2], rc;

	rc = ur_bufs_init(ring, 8, 64, false, &br, &bufs);
	if (rc) {
		*why = "kernel lacks provided buffer rings (Linux 5.19)";
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		rc = -errno;
		*why = "socketpair failed";
		goto out;
	}
	sqe = io_uring_get_sqe(ring);
	ur_prep_recv(sqe, sv[0]);
	io_uring_sqe_set_data64(sqe, 1);
	if (write(sv[1], "x", 1) != 1) {
		rc = -errno;
		*why = "socketpair write failed";
		goto out_sv;
	}
	rc = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
	if (rc >= 0 && !(cqe->user_data == 1 && cqe->res == 1 &&
			 (cqe->flags & IORING_CQE_F_MORE) &&
			 (cqe->flags & IORING_CQE_F_BUFFER)))
		rc = cqe->res < 0 ? cqe->res : -EOPNOTSUPP;
	if (rc < 0)
		*why = "kernel lacks multishot recv (Linux 6.0)";
	else
		rc = 0;
out_sv:
	close(sv[0]);
	close(sv[1]);
out:
	/* The ring goes first: the kernel must drop the buffers first. */
	io_uring_queue_exit(ring);
	ur_bufs_free(br, bufs, 8, 64);
	return rc;
}

/* Does a MSG_DONTWAIT SEND on a full socket complete at submission? */
static void ur_probe_dontwait(struct io_uring *ring)
{
	static char fill[16384];
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int sv[2], small = 4096;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	while (send(sv[0], fill, sizeof(fill), MSG_DONTWAIT) > 0)
		;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_send(sqe, sv[0], fill, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	io_uring_sqe_set_data64(sqe, 2);
	if (io_uring_submit(ring) == 1 && io_uring_peek_cqe(ring, &cqe) == 0)
		ur_inline_send = cqe->res == -EAGAIN;
	/* If it went to poll after all, the peer's close ends it. */
	close(sv[1]);
	if (!ur_inline_send) {
		struct __kernel_timespec ts = {.tv_sec = 1};

		io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	}
	if (io_uring_peek_cqe(ring, &cqe) == 0)
		io_uring_cqe_seen(ring, cqe);
	close(sv[0]);
}

int kernel_uring_probe(const char **why)
{
	static const struct {
		int op;
		const char *missing;
	} need[] = {
	    {IORING_OP_ACCEPT, "kernel lacks IORING_OP_ACCEPT"},
	    {IORING_OP_RECV, "kernel lacks IORING_OP_RECV"},
	    {IORING_OP_SEND, "kernel lacks IORING_OP_SEND"},
	    {IORING_OP_READ, "kernel lacks IORING_OP_READ"},
	    {IORING_OP_POLL_ADD, "kernel lacks IORING_OP_POLL_ADD"},
	    {IORING_OP_ASYNC_CANCEL, "kernel lacks IORING_OP_ASYNC_CANCEL"},
	};
	static char msg[96];
	struct io_uring_probe *probe;
	struct io_uring ring;
	const char *lack = NULL;
	int rc;

	*why = NULL;
	rc = ur_ring_init(&ring, 8);
	if (rc) {
		snprintf(msg, sizeof(msg), "io_uring_setup failed: %s",
			 strerror(-rc));
		*why = msg;
		return rc;
	}
	if (!(ring.features & IORING_FEAT_FAST_POLL))
		lack = "kernel lacks IORING_FEAT_FAST_POLL";
	else if (!(ring.features & IORING_FEAT_NODROP))
		lack = "kernel lacks IORING_FEAT_NODROP";
	else if (!(ring.features & IORING_FEAT_EXT_ARG))
		lack = "kernel lacks IORING_FEAT_EXT_ARG";
	probe = lack ? NULL : io_uring_get_probe_ring(&ring);
	if (!lack && !probe)
		lack = "io_uring_get_probe failed";
	for (size_t i = 0; probe && !lack && i < sizeof(need) / sizeof(need[0]);
	     i++)
		if (!io_uring_opcode_supported(probe, need[i].op))
			lack = need[i].missing;
	if (probe)
		io_uring_free_probe(probe);
	if (lack) {
		*why = lack;
		io_uring_queue_exit(&ring);
		return -EOPNOTSUPP;
	}
	ur_probe_dontwait(&ring);
	return ur_probe_recv(&ring, why);
}

/* ---- submission helpers --------------------------------------------- */

static inline void ur_bufs_publish(struct ur_worker *u)
{
	if (u->br_added) {
		io_uring_buf_ring_advance(u->br, (int)u->br_added);
		u->br_added = 0;
	}
}

static inline void ur_buf_put(struct ur_worker *u, unsigned bid)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * u->bufsz, u->bufsz,
			      (unsigned short)bid,
			      io_uring_buf_ring_mask(u->nbuf),
			      (int)u->br_added++);
}

static void ur_submit(struct ur_worker *u)
{
	ur_bufs_publish(u);
	io_uring_submit(&u->ring);
	u->nsend_inline = 0;
}

/* A free SQE; when the SQ is full, submit what is queued and retry.
 * NULL only if the kernel takes nothing; callers then fall back to
 * something that needs no SQE. */
static struct io_uring_sqe *ur_sqe(struct ur_worker *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (sqe)
		return sqe;
	ur_submit(u);
	return io_uring_get_sqe(&u->ring);
}

/* Registered files spare the kernel an fget/fput per operation. */
static inline void ur_sqe_file(struct io_uring_sqe *sqe,
			       const struct ur_conn *e, enum ur_op op)
{
	if (e->slot >= 0) {
		sqe->fd = e->slot;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)e | op);
}

/* An accept's user data: listener index and generation above the op. */
static uint64_t ur_accept_data(const struct ur_worker *u, int i)
{
	return ((uint64_t)u->listen_gen << 8) | ((uint64_t)i << 3) | UR_ACCEPT;
}

static void ur_arm_accept(struct worker *w, int i)
{
	struct ur_worker *u = w->tpd;
	struct io_uring_sqe *sqe = ur_sqe(u);

	if (!sqe) {
		u->rearm_accept |= 1u << i;
		return;
	}
	u->rearm_accept &= ~(1u << i);
	io_uring_prep_multishot_accept(sqe, w->listen_fd[i], NULL, NULL,
				       SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, ur_accept_data(u, i));
}

static void ur_arm_wake(struct worker *w)
{
	struct ur_worker *u = w->tpd;
	struct io_uring_sqe *sqe = ur_sqe(u);

	u->rearm_wake = sqe == NULL;
	if (!sqe)
		return;
	u->wake_armed = true;
	if (u->wake_poll) {
		io_uring_prep_poll_multishot(sqe, w->wake_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, UR_WAKE_POLL);
	} else {
		io_uring_prep_read(sqe, w->wake_fd, &u->wake_val,
				   sizeof(u->wake_val), 0);
		io_uring_sqe_set_data64(sqe, UR_WAKE_READ);
	}
}

static int ur_arm_recv(struct ur_worker *u, struct ur_conn *e)
{
	struct io_uring_sqe *sqe = ur_sqe(u);

	if (!sqe)
		return -EBUSY;
	ur_prep_recv(sqe, e->fd);
	ur_sqe_file(sqe, e, UR_RECV);
	e->rx_armed = true;
	e->refs++;
	return 0;
}

/* A first attempt (now) completes during submission; a retry of the rest
 * of a copy waits in the kernel until all of it went. */
static int ur_queue_send(struct ur_worker *u, struct ur_conn *e,
			 const char *buf, size_t len, bool now)
{
	struct io_uring_sqe *sqe = ur_sqe(u);
	int flags = MSG_NOSIGNAL;

	if (!sqe)
		return -EBUSY;
	if (now && ur_inline_send) {
		flags |= MSG_DONTWAIT;
		u->nsend_inline++;
	} else {
		flags |= MSG_WAITALL;
	}
	io_uring_prep_send(sqe, e->fd, buf, len, flags);
	ur_sqe_file(sqe, e, UR_SEND);
	e->tx_op = UR_SEND;
	e->refs++;
	return 0;
}

static int ur_arm_pollout(struct ur_worker *u, struct ur_conn *e)
{
	struct io_uring_sqe *sqe = ur_sqe(u);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_poll_add(sqe, e->fd, POLLOUT);
	ur_sqe_file(sqe, e, UR_POLLOUT);
	e->tx_op = UR_POLLOUT;
	e->refs++;
	return 0;
}

/* Ask the kernel to end op of e.  Without an SQE, shut the socket down:
 * that ends its operations too. */
static bool ur_try_cancel(struct ur_worker *u, struct ur_conn *e, enum ur_op op)
{
	struct io_uring_sqe *sqe = ur_sqe(u);

	if (!sqe)
		return false;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)e | op, 0);
	io_uring_sqe_set_data64(sqe, UR_IGNORE);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	return true;
}

static void ur_cancel(struct ur_worker *u, struct ur_conn *e, enum ur_op op)
{
	if (!ur_try_cancel(u, e, op))
		shutdown(e->fd, SHUT_RDWR);
}

/* ---- registered files ----------------------------------------------- */

/* A sparse table the size of the fd limit; without one, plain fds. */
static void ur_files_init(struct ur_worker *u)
{
	struct rlimit rl;
	unsigned n = UR_MAX_FILES;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n)
		n = (unsigned)rl.rlim_cur;
	u->free_slots = mi_malloc(n * sizeof(*u->free_slots));
	u->pend_slots = mi_malloc(n * sizeof(*u->pend_slots));
	if (!u->free_slots || !u->pend_slots ||
	    io_uring_register_files_sparse(&u->ring, n) != 0)
		return;
	for (unsigned i = 0; i < n; i++)
		u->free_slots[i] = n - 1 - i;
	u->nfree = n;
}

static void ur_slot_get(struct ur_worker *u, struct ur_conn *e)
{
	int slot;

	e->slot = -1;
	if (!u->nfree)
		return;
	slot = (int)u->free_slots[--u->nfree];
	if (io_uring_register_files_update(&u->ring, (unsigned)slot, &e->fd,
					   1) == 1)
		e->slot = slot;
	else
		u->free_slots[u->nfree++] = (uint32_t)slot;
}

/* Clear the slot now (the socket must really close); SQEs still queued
 * with it fail with EBADF.  It is reused after the next submission. */
static void ur_slot_put(struct ur_worker *u, struct ur_conn *e)
{
	int none = -1;

	io_uring_register_files_update(&u->ring, (unsigned)e->slot, &none, 1);
	u->pend_slots[u->npend++] = (uint32_t)e->slot;
	e->slot = -1;
}

static void ur_slots_release(struct ur_worker *u)
{
	while (u->npend)
		u->free_slots[u->nfree++] = u->pend_slots[--u->npend];
}

static void ur_free(struct ur_worker *u, struct ur_conn *e)
{
	stats_gauge_add(&u->st->mem_clients,
			-(int64_t)(mi_usable_size(e) + e->tx_cap));
	mi_free(e->tx);
	mi_free(e);
	u->nconn--;
}

/* An operation of e is over and its handler is done with e. */
static inline void ur_put(struct ur_worker *u, struct ur_conn *e)
{
	if (--e->refs == 0 && !e->c)
		ur_free(u, e);
}

/* ---- attach / detach ------------------------------------------------ */

static int ur_attach_bufs(struct ur_worker *u)
{
	u->buf_off = mi_zalloc(UR_NBUF_INC * sizeof(*u->buf_off));
	if (u->buf_off && ur_bufs_init(&u->ring, UR_NBUF_INC, UR_BUFSZ_INC,
				       true, &u->br, &u->bufs) == 0) {
		u->nbuf = UR_NBUF_INC;
		u->bufsz = UR_BUFSZ_INC;
		return 0;
	}
	mi_free(u->buf_off);
	u->buf_off = NULL; /* before 6.12: whole buffers */
	u->nbuf = UR_NBUF;
	u->bufsz = UR_BUFSZ;
	return ur_bufs_init(&u->ring, UR_NBUF, UR_BUFSZ, false, &u->br,
			    &u->bufs);
}

/* The ring (SQEs, CQEs, SQ index array), the receive buffers and their
 * ring, and the registered file table's index arrays. */
static uint64_t ur_mem_fixed(const struct ur_worker *u)
{
	uint64_t n = mi_usable_size(u);

	n += (uint64_t)u->ring.sq.ring_entries *
	     (sizeof(struct io_uring_sqe) + sizeof(unsigned));
	n += (uint64_t)u->ring.cq.ring_entries * sizeof(struct io_uring_cqe);
	n += (uint64_t)u->nbuf * (u->bufsz + sizeof(struct io_uring_buf));
	if (u->buf_off)
		n += mi_usable_size(u->buf_off);
	if (u->free_slots)
		n += mi_usable_size(u->free_slots);
	if (u->pend_slots)
		n += mi_usable_size(u->pend_slots);
	return n;
}

static int ur_attach(struct worker *w)
{
	struct ur_worker *u = mi_zalloc_aligned(sizeof(*u), 64);
	int rc;

	if (!u)
		return -ENOMEM;
	rc = ur_ring_init(&u->ring, UR_SQ_ENTRIES);
	if (rc) {
		mi_free(u);
		return rc;
	}
	rc = ur_attach_bufs(u);
	if (rc) {
		io_uring_queue_exit(&u->ring);
		mi_free(u);
		return rc;
	}
	w->tpd = u;
	u->st = &w->st;
	/* Spares io_uring_enter its fget of the ring; optional. */
	io_uring_register_ring_fd(&u->ring);
	ur_files_init(u);
	stats_gauge_add(&w->st.mem_transport, (int64_t)ur_mem_fixed(u));
	for (int i = 0; i < w->nlisten; i++)
		ur_arm_accept(w, i);
	ur_arm_wake(w);
	ur_submit(u);
	return 0;
}

static void ur_dispatch(struct worker *w);

static void ur_detach(struct worker *w)
{
	struct ur_worker *u = w->tpd;
	int64_t deadline = clock_unix_ms() + UR_DRAIN_MS;
	struct io_uring_sqe *sqe;

	if (!u)
		return;
	/* conn_close_all() and flush() ran: only cancellations remain, and
	 * the wake READ, which writes into u. */
	u->stopping = true;
	if (u->wake_armed && (sqe = ur_sqe(u)) != NULL) {
		io_uring_prep_cancel64(
		    sqe, u->wake_poll ? UR_WAKE_POLL : UR_WAKE_READ, 0);
		io_uring_sqe_set_data64(sqe, UR_IGNORE);
	}
	while ((u->nconn > 0 || u->wake_armed) && clock_unix_ms() < deadline) {
		struct __kernel_timespec ts = {.tv_nsec = 10 * 1000000L};
		struct io_uring_cqe *cqe;

		ur_bufs_publish(u);
		io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
		ur_dispatch(w);
	}
	io_uring_queue_exit(&u->ring);
	w->tpd = NULL;
	__atomic_store_n(&w->st.mem_transport, 0, __ATOMIC_RELAXED);
	if (u->nconn || u->wake_armed) {
		/* Never seen; but the kernel might still write into these. */
		log_msg(
		    LOG_WARNING, 'W',
		    "io_uring: %u connections still busy in the kernel at exit",
		    u->nconn);
		return;
	}
	ur_bufs_free(u->br, u->bufs, u->nbuf, u->bufsz);
	mi_free(u->buf_off);
	mi_free(u->free_slots);
	mi_free(u->pend_slots);
	mi_free(u);
}

/* ---- wait ----------------------------------------------------------- */

static void ur_rearm(struct worker *w)
{
	struct ur_worker *u = w->tpd;

	if (u->rest_accept && kernel_accept_wake(&u->rest, worker_now_ms(w))) {
		u->rearm_accept |= u->rest_accept;
		u->rest_accept = 0;
	}
	for (int i = 0; i < w->nlisten; i++)
		if (u->rearm_accept & (1u << i))
			ur_arm_accept(w, i);
	if (u->rearm_wake)
		ur_arm_wake(w);
}

/* One io_uring_enter: submit the turn's SQEs and wait for completions.
 * Touches only the ring (RCU may be offline). */
static int ur_wait(struct worker *w, int timeout_ms)
{
	struct ur_worker *u = w->tpd;
	struct io_uring *r = &u->ring;

	if (__builtin_expect(u->rearm_accept || u->rearm_wake || u->rest_accept,
			     0))
		ur_rearm(w);
	ur_bufs_publish(u);
	if (timeout_ms == 0 || io_uring_cq_ready(r)) {
		/* Polling: enter only with something to submit or to reap. */
		if (io_uring_sq_ready(r) ||
		    (IO_URING_READ_ONCE(*r->sq.kflags) &
		     (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)))
			io_uring_submit_and_get_events(r);
	} else {
		/* The CQ is empty, and each MSG_DONTWAIT SEND posts its CQE
		 * during submission: wait for one completion beyond those. */
		struct __kernel_timespec ts = {
		    .tv_sec = timeout_ms < 0 ? 3600 : timeout_ms / 1000,
		    .tv_nsec = timeout_ms < 0
				   ? 0
				   : (long long)(timeout_ms % 1000) * 1000000,
		};
		struct io_uring_cqe *cqe;

		io_uring_submit_and_wait_timeout(r, &cqe, 1 + u->nsend_inline,
						 &ts, NULL);
	}
	u->nsend_inline = 0;
	if (u->npend && !io_uring_sq_ready(r))
		ur_slots_release(u);
	return (int)io_uring_cq_ready(r);
}

/* ---- completions ---------------------------------------------------- */

static void ur_new_conn(struct worker *w, int fd)
{
	struct ur_worker *u = w->tpd;
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	struct ur_conn *e;
	struct conn *c;

	/* Multishot accept returns no address; accept is not the hot path. */
	if (getpeername(fd, (struct sockaddr *)&peer, &plen)) {
		close(fd); /* already reset by the peer */
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &llen))
		memset(&local, 0, sizeof(local));
	kernel_tune_socket(fd);
	c = conn_new(w, fd, (struct sockaddr *)&peer,
		     (struct sockaddr *)&local);
	if (!c) {
		kernel_reject(fd, errno);
		return;
	}
	e = mi_zalloc(sizeof(*e));
	if (!e) {
		conn_closed(c);
		close(fd);
		return;
	}
	stats_gauge_add(&w->st.mem_clients, (int64_t)mi_usable_size(e));
	e->c = c;
	e->fd = fd;
	ur_slot_get(u, e);
	u->nconn++;
	conn_set_tp(c, e);
	if (ur_arm_recv(u, e))
		ur_close(w, c);
}

static void ur_accept_done(struct worker *w, uint64_t ud, int res,
			   unsigned flags)
{
	struct ur_worker *u = w->tpd;
	int i = (int)((ud >> 3) & 31);

	if ((uint32_t)(ud >> 8) != u->listen_gen) {
		/* A listener relisten() closed: its last accepted clients
		 * are clients all the same. */
		if (res >= 0 && !u->stopping)
			ur_new_conn(w, res);
		else if (res >= 0)
			close(res);
		return;
	}
	if (!(flags & IORING_CQE_F_MORE) && !u->stopping) {
		if (res < 0 &&
		    kernel_accept_rest(&u->rest, -res, worker_now_ms(w)))
			u->rest_accept |= 1u << i;
		else
			ur_arm_accept(w, i);
	}
	if (res < 0)
		return;
	if (u->stopping) {
		close(res);
		return;
	}
	ur_new_conn(w, res);
}

static void ur_wake_done(struct worker *w, enum ur_op op, int res,
			 unsigned flags)
{
	struct ur_worker *u = w->tpd;

	if (op == UR_WAKE_READ || !(flags & IORING_CQE_F_MORE))
		u->wake_armed = false;
	if (op == UR_WAKE_READ && res == -EAGAIN)
		u->wake_poll = true; /* older kernels: poll, then read(2) */
	if (op == UR_WAKE_POLL && res > 0) {
		uint64_t v;

		if (read(w->wake_fd, &v, sizeof(v)) < 0)
			(void)0; /* EAGAIN: nothing to clear */
	}
	if ((op == UR_WAKE_READ || !(flags & IORING_CQE_F_MORE)) &&
	    !u->stopping)
		ur_arm_wake(w);
}

/* Received bytes into conn, in as many pieces as its space takes. */
static void ur_deliver(struct worker *w, struct ur_conn *e, const char *p,
		       size_t len)
{
	while (len > 0 && e->c) {
		size_t avail, n;
		char *dst = conn_rx_space(e->c, &avail);

		if (!dst) {
			ur_close(w, e->c);
			return;
		}
		n = len < avail ? len : avail;
		memcpy(dst, p, n);
		conn_rx_done(e->c, n); /* may close: e->c becomes NULL */
		p += n;
		len -= n;
	}
}

static void ur_recv_done(struct worker *w, struct ur_conn *e, int res,
			 unsigned flags)
{
	struct ur_worker *u = w->tpd;
	bool more = flags & IORING_CQE_F_MORE;

	if (!more)
		e->rx_armed = false;
	if (flags & IORING_CQE_F_BUFFER) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
		char *p = u->bufs + (size_t)bid * u->bufsz;

		if (u->buf_off)
			p += u->buf_off[bid];
		if (res > 0 && e->c) {
			w->st.io_reads++;
			ur_deliver(w, e, p, (size_t)res);
		}
		/* Input waits for commands on other cores: stop reading, so
		 * the socket's window holds the client back (a cancelled
		 * RECV may still deliver what it already took). */
		if (e->c && !e->rx_hold && conn_rx_hold(e->c) &&
		    (!more || ur_try_cancel(u, e, UR_RECV)))
			e->rx_hold = true;
		if (u->buf_off && (flags & UR_CQE_F_BUF_MORE)) {
			/* the kernel fills the rest of it later */
			u->buf_off[bid] += res > 0 ? (uint32_t)res : 0;
		} else {
			if (u->buf_off)
				u->buf_off[bid] = 0;
			ur_buf_put(u, bid);
		}
	}
	if (!more && e->c) {
		/* -ENOBUFS: the pool ran dry this turn; it is full again
		 * before the new RECV reaches the kernel. */
		bool again = res > 0 || res == -ENOBUFS || res == -EAGAIN ||
			     res == -EINTR || res == -ECANCELED;

		/* -ECANCELED with a conn: the hold's cancel (a close clears
		 * e->c first), maybe overtaken by ur_rx_resume. */
		if (again && e->rx_hold) {
			/* ur_rx_resume arms it again */
		} else if (again) {
			if (ur_arm_recv(u, e))
				ur_close(w, e->c);
		} else {
			ur_close(w, e->c); /* EOF or error */
		}
	}
	if (!more)
		ur_put(u, e);
}

/* All queued output went: look again if conn has more to say. */
static void ur_tx_idle(struct worker *w, struct ur_conn *e, struct conn *c)
{
	size_t len;

	if (e->tx_cap > UR_TX_KEEP) {
		struct ur_worker *u = w->tpd;

		stats_gauge_add(&u->st->mem_clients, -(int64_t)e->tx_cap);
		mi_free(e->tx);
		e->tx = NULL;
		e->tx_cap = 0;
	}
	conn_tx_data(c, &len);
	if (len > 0 || conn_tx_close(c))
		worker_mark_dirty(w, c);
}

/* A SEND from conn's buffer: conn learns now how much of it went. */
static void ur_send_direct_done(struct worker *w, struct ur_conn *e,
				struct conn *c, int res)
{
	struct ur_worker *u = w->tpd;

	if (res > 0)
		conn_tx_done(c, (size_t)res);
	if (res > 0 && (uint32_t)res == e->tx_len) {
		ur_tx_idle(w, e, c);
	} else if (res == 0) {
		worker_mark_dirty(w, c); /* not submitted: try again */
	} else if (res > 0 || res == -EAGAIN || res == -EINTR) {
		if (ur_arm_pollout(u, e)) /* the rest when there is room */
			ur_close(w, c);
	} else {
		ur_close(w, c); /* EPIPE, ECONNRESET... */
	}
}

static void ur_send_done(struct worker *w, struct ur_conn *e, int res)
{
	struct ur_worker *u = w->tpd;
	struct conn *c = e->c;
	bool direct = e->tx_direct;

	e->tx_op = 0;
	e->tx_direct = false;
	if (res > 0)
		w->st.io_writes++;
	if (!c) {
		ur_put(u, e);
		return;
	}
	if (direct) {
		ur_send_direct_done(w, e, c, res);
		ur_put(u, e);
		return;
	}
	if (res > 0)
		e->tx_off += (uint32_t)res;
	if ((res > 0 && e->tx_off < e->tx_len) || res == -EAGAIN ||
	    res == -EINTR) {
		if (ur_queue_send(u, e, e->tx + e->tx_off,
				  e->tx_len - e->tx_off, false))
			ur_close(w, c);
	} else if (res <= 0) {
		ur_close(w, c); /* EPIPE, ECONNRESET... */
	} else {
		ur_tx_idle(w, e, c);
	}
	ur_put(u, e);
}

static void ur_pollout_done(struct worker *w, struct ur_conn *e)
{
	e->tx_op = 0;
	if (e->c)
		worker_mark_dirty(w, e->c); /* errors show on the send */
	ur_put(w->tpd, e);
}

static void ur_complete(struct worker *w, uint64_t ud, int res, unsigned flags)
{
	struct ur_conn *e = (struct ur_conn *)(uintptr_t)(ud & ~UR_OP_MASK);

	switch ((enum ur_op)(ud & UR_OP_MASK)) {
	case UR_RECV:
		ur_recv_done(w, e, res, flags);
		break;
	case UR_SEND:
		ur_send_done(w, e, res);
		break;
	case UR_POLLOUT:
		ur_pollout_done(w, e);
		break;
	case UR_ACCEPT:
		ur_accept_done(w, ud, res, flags);
		break;
	case UR_WAKE_READ:
	case UR_WAKE_POLL:
		ur_wake_done(w, (enum ur_op)(ud & UR_OP_MASK), res, flags);
		break;
	default:
		break;
	}
}

static void ur_dispatch(struct worker *w)
{
	struct ur_worker *u = w->tpd;
	struct io_uring_cqe *cqe;
	unsigned head, n;

	do {
		n = 0;
		io_uring_for_each_cqe(&u->ring, head, cqe)
		{
			ur_complete(w, cqe->user_data, cqe->res, cqe->flags);
			if (++n == UR_CQE_BATCH)
				break;
		}
		io_uring_cq_advance(&u->ring, n);
	} while (n == UR_CQE_BATCH);
	ur_bufs_publish(u);
}

/* ---- send and close ------------------------------------------------- */

static int ur_tx_reserve(struct ur_worker *u, struct ur_conn *e, size_t n)
{
	size_t cap = (n + 4095) & ~(size_t)4095;
	char *t;

	if (n <= e->tx_cap)
		return 0;
	t = mi_malloc(cap);
	if (!t)
		return -ENOMEM;
	mi_free(e->tx);
	stats_gauge_add(&u->st->mem_clients, (int64_t)cap - (int64_t)e->tx_cap);
	e->tx = t;
	e->tx_cap = (uint32_t)cap;
	return 0;
}

static void ur_send(struct worker *w, struct conn *c)
{
	struct ur_worker *u = w->tpd;
	struct ur_conn *e = conn_tp(c);
	const char *p;
	size_t len;

	if (!e || e->tx_op)
		return; /* closed, or its completion comes back */
	p = conn_tx_data(c, &len);
	if (len == 0) {
		if (conn_tx_close(c))
			ur_close(w, c);
		return;
	}
	if (len > UR_TX_MAX)
		len = UR_TX_MAX;
	if (len >= UR_DIRECT_MIN && ur_inline_send) {
		/* Submitted before flush returns, done by then: see above. */
		if (ur_queue_send(u, e, p, len, true)) {
			ur_close(w, c);
			return;
		}
		e->tx_direct = true;
		e->tx_len = (uint32_t)len;
		u->direct_queued = true;
		return;
	}
	if (ur_tx_reserve(u, e, len)) {
		ur_close(w, c);
		return;
	}
	memcpy(e->tx, p, len);
	e->tx_off = 0;
	e->tx_len = (uint32_t)len;
	if (ur_queue_send(u, e, e->tx, len, true)) {
		ur_close(w, c);
		return;
	}
	conn_tx_done(c, len);
}

/* Direct SENDs the kernel did not take (it could not allocate): their
 * bytes are still intact in conn, so point the SQEs at copies, or make
 * them NOPs (res 0: sent again next turn). */
static void ur_direct_rescue(struct ur_worker *u)
{
	struct io_uring_sq *sq = &u->ring.sq;
	unsigned head = io_uring_smp_load_acquire(sq->khead);

	for (; head != *sq->ktail; head++) {
		struct io_uring_sqe *sqe =
		    &sq->sqes[sq->array[head & sq->ring_mask]];
		uint64_t ud = sqe->user_data;
		struct ur_conn *e =
		    (struct ur_conn *)(uintptr_t)(ud & ~UR_OP_MASK);

		if ((ud & UR_OP_MASK) != UR_SEND || !e->tx_direct ||
		    (uintptr_t)sqe->addr == (uintptr_t)e->tx)
			continue;
		if (ur_tx_reserve(u, e, sqe->len) == 0) {
			memcpy(e->tx, (const void *)(uintptr_t)sqe->addr,
			       sqe->len);
			sqe->addr = (uint64_t)(uintptr_t)e->tx;
		} else {
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, ud);
		}
	}
}

static void ur_flush(struct worker *w)
{
	struct ur_worker *u = w->tpd;
	struct conn *c = w->dirty;

	w->dirty = NULL;
	while (c) {
		struct conn *next = conn_next_dirty(c);

		ur_send(w, c);
		conn_flushed(c);
		c = next;
	}
	if (u->direct_queued) {
		/* Direct SENDs read conn's buffer: go now, before conn code
		 * runs again. */
		ur_submit(u);
		if (io_uring_sq_ready(&u->ring)) {
			ur_submit(u);
			if (io_uring_sq_ready(&u->ring))
				ur_direct_rescue(u);
		}
		u->direct_queued = false;
	} else if (io_uring_sq_space_left(&u->ring) < UR_SQ_ENTRIES / 8) {
		ur_submit(u);
	}
}

static void ur_rx_resume(struct worker *w, struct conn *c)
{
	struct ur_worker *u = w->tpd;
	struct ur_conn *e = conn_tp(c);

	if (!e || !e->rx_hold)
		return;
	e->rx_hold = false;
	if (!e->rx_armed && ur_arm_recv(u, e))
		ur_close(w, c);
}

static void ur_close(struct worker *w, struct conn *c)
{
	struct ur_worker *u = w->tpd;
	struct ur_conn *e = conn_tp(c);

	if (!e)
		return;
	conn_set_tp(c, NULL);
	e->c = NULL;
	if (e->rx_armed)
		ur_cancel(u, e, UR_RECV);
	if (e->tx_op)
		ur_cancel(u, e, (enum ur_op)e->tx_op);
	if (e->slot >= 0)
		ur_slot_put(u, e);
	else if (io_uring_sq_ready(&u->ring))
		ur_submit(u); /* before the fd number can be reused */
	close(e->fd);
	kernel_fd_closed();
	e->fd = -1;
	conn_closed(c);
	if (e->refs == 0)
		ur_free(u, e);
}

static void ur_relisten(struct worker *w, const int *fds, int n)
{
	struct ur_worker *u = w->tpd;
	struct io_uring_sqe *sqe;

	for (int i = 0; i < w->nlisten; i++) {
		/* Cancel by user data, then close: the request holds the
		 * socket until it completes. */
		while ((sqe = ur_sqe(u)) == NULL)
			ur_submit(u);
		io_uring_prep_cancel64(sqe, ur_accept_data(u, i), 0);
		io_uring_sqe_set_data64(sqe, UR_IGNORE);
	}
	ur_submit(u);
	for (int i = 0; i < w->nlisten; i++)
		if (!kernel_fd_in(w->listen_fd[i], fds, n))
			kernel_listen_drop(w->listen_fd[i]);
	u->listen_gen = (u->listen_gen + 1) & 0xffffff;
	u->rearm_accept = u->rest_accept = 0;
	u->rest.resting = false;
	w->nlisten = n;
	for (int i = 0; i < n; i++) {
		w->listen_fd[i] = fds[i];
		ur_arm_accept(w, i);
	}
}

const struct transport_ops kernel_uring_ops = {
    .name = "io_uring",
    .attach = ur_attach,
    .wait = ur_wait,
    .dispatch = ur_dispatch,
    .flush = ur_flush,
    .close = ur_close,
    .rx_resume = ur_rx_resume,
    .detach = ur_detach,
    .relisten = ur_relisten,
};
