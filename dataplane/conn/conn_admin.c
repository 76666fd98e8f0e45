/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn_admin: what the server commands see of every connection (CLIENT
 * LIST and KILL, INFO clients) and the per-second cron over them.
 */
#include <stdio.h>
#include <string.h>

#include <mimalloc.h>

#include "conn_pvt.h"
#include "log.h"
#include "transport.h"

void conn_kill_local(struct worker *w, uint64_t id)
{
	struct conn *c;

	cds_list_for_each_entry(c, &w->clients, link)
	{
		if (c->cl.id == id) {
			c->cl.close_after_reply = true;
			c->rx_stopped = true;
			worker_mark_dirty(w, c);
			return;
		}
	}
}

/* Client id on any core (RCU: its struct stays readable), or NULL; *at
 * is its worker's index. */
struct conn *conn_find(uint64_t id, unsigned *at)
{
	for (unsigned i = 0; i < worker_count(); i++) {
		struct conn *c;

		cds_list_for_each_entry_rcu(c, &worker_get(i)->clients, link)
		{
			if (c->cl.id == id) {
				*at = i;
				return c;
			}
		}
	}
	return NULL;
}

/* A rare one-way message about client id to worker `to` (XM_KILL,
 * XM_UNBLOCK with reason arg). */
bool conn_admin_send(struct worker *w, unsigned to, uint8_t type, uint64_t id,
		     int arg)
{
	struct xmsg *m = xcore_msg_heap();

	if (!m)
		return false;
	m->type = type;
	m->arg64 = id;
	m->argc = arg;
	xcore_send(w, to, m);
	return true;
}

bool conn_kill(struct worker *w, uint64_t id)
{
	unsigned at;

	if (!conn_find(id, &at))
		return false;
	if (at == w->id) {
		conn_kill_local(w, id);
		return true;
	}
	return conn_admin_send(w, at, XM_KILL, id, 0);
}

/* Redis clientsCron's output check: a client over its soft limit that
 * produces nothing more, or over a limit CONFIG SET just lowered. */
static void conn_cron_obuf(struct conn *c, const struct conn_params *cp)
{
	conn_obuf_load(c, cp);
	if (conn_pending(c) > c->otrip)
		conn_obuf_check_slow(c, 0, false);
	else if (c->osoft_since)
		conn_obuf_over(c, c->rmem);
	if (c->obuf_kill)
		c->w->tp->close(c->w, c);
}

/*
 * As Redis's clientsCronResizeQueryBuffer: a client idle for 2 s with
 * nothing buffered gives its query buffer back (a 16 KB one, or whatever
 * a big request grew it to); the next read allocates a fresh one.  The
 * transports copy into it synchronously, so nothing else points there.
 */
static void conn_cron_qbuf(struct conn *c, int64_t now_ms)
{
	if (!c->ib || c->ipos != c->ilen || c->paused || c->parked_argv ||
	    now_ms - c->cl.last_ms < 2000)
		return;
	mi_free(c->ib);
	c->ib = NULL;
	c->icap = c->ilen = c->ipos = 0;
	conn_mem_sync(c);
}

/* Redis clientsCronTrackExpansiveClients: c's query buffer (with its
 * argv array) and reply list into this second's peaks. */
static void conn_cron_peaks(struct conn *c, unsigned slot, size_t out_mem)
{
	size_t in_mem =
	    c->icap + (size_t)c->argv_big_cap * sizeof(struct resp_arg);

	stats_peak(&c->w->st.peak_in[slot], in_mem);
	stats_peak(&c->w->st.peak_out[slot], out_mem);
}

void conn_cron(struct worker *w)
{
	const struct conn_params *cp = conn_params();
	long long timeout = cp->timeout;
	unsigned slot = (unsigned)((w->now_ms / 1000) % STATS_PEAK_SLOTS);
	unsigned zero = (slot + 1) % STATS_PEAK_SLOTS;
	struct conn *c, *tmp;

	__atomic_store_n(&w->st.peak_in[zero], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&w->st.peak_out[zero], 0, __ATOMIC_RELAXED);
	cds_list_for_each_entry_safe(c, tmp, &w->clients, link)
	{
		/* A blocked client is not idle (Redis's
		 * clientsCronHandleTimeout leaves it to its own deadline). */
		if (timeout > 0 && c->inflight_total == 0 && !c->blocked &&
		    w->now_ms - c->cl.last_ms > timeout * 1000)
			w->tp->close(w, c);
		else
			conn_cron_obuf(c, cp);
		if (c->closed)
			continue;
		conn_cron_peaks(c, slot, conn_cron_rbuf(c, w->now_ms));
		conn_cron_qbuf(c, w->now_ms);
	}
}

void conn_recent_max(uint64_t *in, uint64_t *out)
{
	*in = *out = 0;
	for (unsigned i = 0; i < worker_count(); i++) {
		const struct wstats *st = worker_stats(worker_get(i));

		for (unsigned j = 0; j < STATS_PEAK_SLOTS; j++) {
			uint64_t a =
			    __atomic_load_n(&st->peak_in[j], __ATOMIC_RELAXED);
			uint64_t b =
			    __atomic_load_n(&st->peak_out[j], __ATOMIC_RELAXED);
			*in = a > *in ? a : *in;
			*out = b > *out ? b : *out;
		}
	}
}

void conn_close_all(struct worker *w)
{
	struct conn *c, *tmp;

	cds_list_for_each_entry_safe(c, tmp, &w->clients, link)
	    w->tp->close(w, c);
}

void conn_visit_all(conn_visit_fn fn, void *arg)
{
	for (unsigned i = 0; i < worker_count(); i++) {
		struct worker *o = worker_get(i);
		struct conn *c;

		cds_list_for_each_entry_rcu(c, &o->clients, link)
		    fn(&c->cl, c, arg);
	}
}

/*
 * Redis's fields, mapped onto our buffers: `out` plays Redis's reply
 * buffer (rbs its size, obl its unsent bytes), the reply slots its reply
 * list (oll); omem is all the memory output holds, out included, so a
 * slow reader shows what it costs.  worker= (cachalot's own, last so
 * parsers of Redis's fields are not disturbed) is the core that accepted
 * the connection: which commands are remote for it depends on it, and
 * bench/remote_bench.py picks its connections by it.  Only counters are
 * read: another core may be changing them, never a pointer it may free.
 */
static size_t conn_diff(size_t a, size_t b)
{
	return a > b ? a - b : 0; /* racy reads may see b moved first */
}

/* Redis's flag letters, in its order; N for none. */
static const char *conn_flags(const struct conn *c, char *f)
{
	char *p = f;

	if (__atomic_load_n(&c->blocked, __ATOMIC_RELAXED))
		*p++ = 'b';
	if (c->cl.no_evict)
		*p++ = 'e';
	if (p == f)
		*p++ = 'N';
	*p = '\0';
	return f;
}

int conn_info(const struct conn *c, int64_t now_ms, char *buf, size_t size)
{
	char flags[8];
	const struct client *cl = &c->cl;
	size_t qbuf = conn_diff(c->ilen, c->ipos);
	size_t qfree = conn_diff(c->icap, c->ilen);
	size_t obl = conn_diff(c->out.len, c->opos);
	size_t omem = c->out.cap + c->oslot_mem;
	size_t argv_mem = (size_t)c->argv_big_cap * sizeof(struct resp_arg);
	char cmd[64] = "NULL";

	if (cl->last_cmd)
		cmd_fullname(cl->last_cmd, cmd, sizeof(cmd));
	return snprintf(
	    buf, size,
	    "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld "
	    "flags=%s db=%u sub=0 psub=0 ssub=0 multi=-1 qbuf=%zu "
	    "qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=%zu obl=%zu "
	    "oll=%zu omem=%zu tot-mem=%zu events=r cmd=%s user=default "
	    "redir=-1 resp=%u worker=%u",
	    (unsigned long long)cl->id, cl->addr, cl->laddr, cl->fd, cl->name,
	    (long long)((now_ms - cl->ctime_ms) / 1000),
	    (long long)((now_ms - cl->last_ms) / 1000), conn_flags(c, flags),
	    cl->db, qbuf, qfree, c->rbs, c->rpeak, obl, c->nslots, omem,
	    sizeof(*c) + c->icap + argv_mem + omem, cmd, cl->proto, cl->worker);
}
