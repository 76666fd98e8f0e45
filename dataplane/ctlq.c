/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctlq: see ctlq.h.  One pair per worker, each ring with its producer's
 * private spill FIFO behind it.  Order is kept per direction: a job goes
 * to the spill whenever the spill is not empty, and the spill drains into
 * the ring before anything new enters it.
 *
 * Waking: control wakes a worker through the hook (worker_wake, an
 * eventfd write) after each post; posting is rare, so the syscall is
 * fine on that side.  A worker wakes control through ctlq's eventfd only
 * when control has not been signalled since its last poll, so a burst of
 * posts costs one write, and a DPDK worker makes a syscall only for the
 * rare job it hands to control.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ctlq.h"
#include "ring.h"

/* 256 jobs in flight per direction before the spill is used. */
#define CTLQ_RING_ORDER 8

struct ctlq_fifo {
	struct ctlq_job *head, *tail;
};

struct ctlq_pair {
	struct ring *down;	    /* control -> worker */
	struct ring *up;	    /* worker -> control */
	struct ctlq_fifo down_wait; /* control's spill */
	struct ctlq_fifo up_wait;   /* the worker's spill */
} __attribute__((aligned(64)));

static struct ctlq_pair *pairs;
static unsigned npairs;
static ctlq_wake_fn wake_worker;
static int control_fd = -1;
static int control_signalled; /* a worker wrote control_fd since the poll */

static void fifo_push(struct ctlq_fifo *f, struct ctlq_job *j)
{
	j->next = NULL;
	if (f->tail)
		f->tail->next = j;
	else
		f->head = j;
	f->tail = j;
}

/* Move the spill into r as far as it fits; true if anything moved. */
static bool fifo_drain(struct ctlq_fifo *f, struct ring *r)
{
	bool moved = false;

	while (f->head && ring_put(r, f->head)) {
		f->head = f->head->next;
		moved = true;
	}
	if (!f->head)
		f->tail = NULL;
	return moved;
}

/* Post j behind everything the producer queued before; true if the ring
 * got something new to publish. */
static bool post(struct ctlq_fifo *f, struct ring *r, struct ctlq_job *j)
{
	bool moved = fifo_drain(f, r);

	if (!f->head && ring_put(r, j))
		return true;
	fifo_push(f, j);
	return moved;
}

int ctlq_setup(unsigned n, ctlq_wake_fn wake)
{
	pairs = aligned_alloc(64, sizeof(*pairs) * (n ? n : 1));
	if (!pairs)
		return -ENOMEM;
	npairs = n;
	wake_worker = wake;
	for (unsigned i = 0; i < n; i++) {
		struct ctlq_pair *p = &pairs[i];

		*p = (struct ctlq_pair){0};
		p->down = ring_new(CTLQ_RING_ORDER);
		p->up = ring_new(CTLQ_RING_ORDER);
		if (!p->down || !p->up) {
			npairs = i + 1;
			ctlq_teardown();
			return -ENOMEM;
		}
	}
	control_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (control_fd < 0) {
		int err = -errno;
		ctlq_teardown();
		return err;
	}
	control_signalled = 0;
	return 0;
}

void ctlq_teardown(void)
{
	for (unsigned i = 0; pairs && i < npairs; i++) {
		ring_free(pairs[i].down);
		ring_free(pairs[i].up);
	}
	free(pairs);
	pairs = NULL;
	npairs = 0;
	if (control_fd >= 0)
		close(control_fd);
	control_fd = -1;
}

void ctlq_to_worker(unsigned i, struct ctlq_job *j)
{
	struct ctlq_pair *p = &pairs[i];

	if (post(&p->down_wait, p->down, j))
		ring_publish(p->down);
	if (wake_worker)
		wake_worker(i);
}

static void signal_control(void)
{
	uint64_t one = 1;

	if (__atomic_exchange_n(&control_signalled, 1, __ATOMIC_ACQ_REL))
		return;
	/* EAGAIN only when the counter is full: it is readable anyway. */
	if (write(control_fd, &one, sizeof(one)) < 0)
		return;
}

void ctlq_to_control(unsigned i, struct ctlq_job *j)
{
	struct ctlq_pair *p = &pairs[i];

	if (post(&p->up_wait, p->up, j)) {
		ring_publish(p->up);
		signal_control();
	}
}

unsigned ctlq_worker_poll(unsigned i)
{
	struct ctlq_pair *p = &pairs[i];
	struct ctlq_job *j;
	unsigned n = 0;

	if (__builtin_expect(p->up_wait.head != NULL, 0) &&
	    fifo_drain(&p->up_wait, p->up)) {
		ring_publish(p->up);
		signal_control();
	}
	while ((j = ring_get(p->down)) != NULL) {
		j->fn(j);
		n++;
	}
	return n;
}

bool ctlq_worker_pending(unsigned i)
{
	return ring_readable(pairs[i].down);
}

unsigned ctlq_control_poll(void)
{
	struct ctlq_job *j;
	uint64_t v;
	unsigned n = 0;

	/* Reset before reading: a post after this point signals again. */
	__atomic_store_n(&control_signalled, 0, __ATOMIC_SEQ_CST);
	if (read(control_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return 0;
	for (unsigned i = 0; i < npairs; i++) {
		struct ctlq_pair *p = &pairs[i];

		if (p->down_wait.head && fifo_drain(&p->down_wait, p->down)) {
			ring_publish(p->down);
			if (wake_worker)
				wake_worker(i);
		}
		while ((j = ring_get(p->up)) != NULL) {
			j->fn(j);
			n++;
		}
	}
	return n;
}

int ctlq_control_fd(void)
{
	return control_fd;
}
