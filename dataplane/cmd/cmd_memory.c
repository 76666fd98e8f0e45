/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MEMORY (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP) and the figures
 * INFO memory prints.
 *
 * used_memory is what cachalot accounts exactly and what maxmemory limits:
 * the shards' bytes (objects at their slab class size, tables, expiry heaps)
 * plus every client's buffers.  It is not everything the allocator handed out
 * (the command table, configuration, cross-core messages in flight are
 * not in it), so the allocator_* fields say what mimalloc has committed,
 * and the RSS beyond that is shown apart: the transports' fixed buffers
 * (the io_uring receive ring) and the DPDK packet pools, which is where a
 * small instance's RSS mostly goes.
 *
 * Redis's names and their meaning, mapped:
 *   allocator_allocated  used_memory (mimalloc keeps no running total of
 *                        allocated bytes in release builds)
 *   allocator_active     mimalloc's committed memory (mi_process_info);
 *                        store objects are in the store's own slabs
 *                        (store_slab.c), outside it
 *   allocator_resident   committed memory, at most the RSS less the
 *                        transport's buffers: mimalloc does not know
 *                        which committed pages were touched
 *   rss_overhead_*       RSS beyond that: transport buffers, thread
 *                        stacks, the binary
 *
 * Threading: handlers run on a worker; the figures are relaxed sums of
 * other cores' gauges and may be a turn old.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mimalloc.h>

#include "cfg.h"
#include "cmd.h"
#include "cmd_host.h"
#include "cmd_pvt.h"
#include "conn.h"

#define CMD(n, ...)
#define SUB(p, n, ...) void cmd_##p##_##n(struct cmd_ctx *c);
#include "cmd_memory.def"
#undef CMD
#undef SUB

/* Redis's MEMORY DOCTOR thresholds. */
#define MEM_EMPTY (5ull << 20)
#define MEM_NOTABLE (10ull << 20)
#define MEM_CLIENT_BIG (200ull << 10)

static uint64_t mem_peak;
static uint64_t mem_startup;

uint64_t cmd_used_memory(void)
{
	return store_used() + cmd_host->clients_mem();
}

static void mem_peak_fold(uint64_t used)
{
	uint64_t p = __atomic_load_n(&mem_peak, __ATOMIC_RELAXED);

	while (used > p &&
	       !__atomic_compare_exchange_n(&mem_peak, &p, used, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void cmd_mem_peak_update(void)
{
	mem_peak_fold(cmd_used_memory());
}

void cmd_mem_start(void)
{
	uint64_t used = cmd_used_memory();

	__atomic_store_n(&mem_startup, used, __ATOMIC_RELAXED);
	mem_peak_fold(used);
}

static uint64_t mem_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, rss = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss > 0 ? (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

void cmd_mem_derive(struct cmd_mem *m)
{
	m->used = m->store + m->clients;
	m->overhead = m->startup + m->clients + m->tables;
	m->dataset = m->used > m->overhead ? m->used - m->overhead : 0;
	if (m->peak < m->used)
		m->peak = m->used;
}

void cmd_mem_collect(struct cmd_mem *m)
{
	size_t elapsed, utime, stime, rss, peak_rss, commit, peak_commit, pf;

	memset(m, 0, sizeof(*m));
	for (unsigned i = 0; i < store_nshards(); i++) {
		struct store_stats ss;

		store_shard_stats(i, &ss);
		m->store += ss.used_bytes;
		m->tables += ss.table_bytes;
		m->keys += ss.keys;
	}
	m->clients = cmd_host->clients_mem();
	m->nclients = cmd_host->clients();
	m->startup = __atomic_load_n(&mem_startup, __ATOMIC_RELAXED);
	mem_peak_fold(m->store + m->clients);
	m->peak = __atomic_load_n(&mem_peak, __ATOMIC_RELAXED);
	m->rss = mem_rss();
	mi_process_info(&elapsed, &utime, &stime, &rss, &peak_rss, &commit,
			&peak_commit, &pf);
	m->committed = commit;
	m->transport = cmd_host->transport_mem();
	m->mempools = cmd_host->mempool_mem();
	/* The transport's buffers are resident but not mimalloc's. */
	m->resident = m->rss > m->transport ? m->rss - m->transport : 0;
	if (m->resident > commit)
		m->resident = commit;
	cmd_mem_derive(m);
}

/* ---- MEMORY DOCTOR ---------------------------------------------------- */

struct doc_buf {
	char *p;
	size_t size;
	int n;
};

static void doc_add(struct doc_buf *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void doc_add(struct doc_buf *d, const char *fmt, ...)
{
	size_t at = (size_t)d->n < d->size ? (size_t)d->n : d->size;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(d->p + at, d->size - at, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->n += n;
}

static double mem_mb(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

/*
 * Redis's checks (empty under 5 MB; peak over 150% of used; RSS over 1.4x
 * used and 10 MB; clients over 200 KB each) plus cachalot's own: the
 * limit about to refuse writes, and transport buffers that dwarf the
 * data.  Not Redis's allocator checks: mimalloc's committed memory is not
 * what is resident, and store objects live in the store's own slabs.
 */
int cmd_mem_doctor(const struct cmd_mem *m, uint64_t maxmemory, int policy,
		   char *buf, size_t size)
{
	struct doc_buf d = {.p = buf, .size = size};
	bool peak, rss, clients, full, tp;

	if (size)
		buf[0] = '\0';
	if (m->used < MEM_EMPTY) {
		doc_add(&d, "Hi Sam, this instance is empty or is using very "
			    "little memory, my issues detector can't be used "
			    "in these conditions. Please, leave for your "
			    "mission on Earth and fill it with some data. The "
			    "new Sam and I will be back to our programming as "
			    "soon as I finished rebooting.\n");
		return d.n;
	}
	peak = (double)m->peak > 1.5 * (double)m->used;
	rss = (double)m->rss > 1.4 * (double)m->used &&
	      m->rss - m->used > MEM_NOTABLE;
	clients = m->nclients && m->clients / m->nclients > MEM_CLIENT_BIG;
	full = maxmemory && policy == 0 &&
	       (double)m->used > 0.9 * (double)maxmemory;
	tp = m->transport + m->mempools > m->used &&
	     m->transport + m->mempools > MEM_NOTABLE;
	if (!peak && !rss && !clients && !full && !tp) {
		doc_add(&d, "Hi Sam, I can't find any memory issue in your "
			    "instance. I can only account for what occurs on "
			    "this base.\n");
		return d.n;
	}
	doc_add(&d, "Sam, I detected a few issues in this cachalot instance "
		    "memory implants:\n\n");
	if (peak)
		doc_add(&d,
			" * Peak memory: the data once took %.1f MB, %.0f%% "
			"of the %.1f MB it takes now. mimalloc keeps some "
			"freed pages for reuse, so RSS stays above what is "
			"used until the instance fills up again; MEMORY "
			"PURGE asks it to return what it can.\n\n",
			mem_mb(m->peak),
			100.0 * (double)m->peak / (double)m->used,
			mem_mb(m->used));
	if (rss)
		doc_add(&d,
			" * High total RSS: the process holds %.1f MB, %.2f "
			"times the %.1f MB of data and client buffers. %.1f "
			"MB of it are the transport's fixed buffers; the "
			"rest is pages the allocators keep for reuse, thread "
			"stacks and the binary. If a peak is reported above, "
			"this is its aftermath and harmless.\n\n",
			mem_mb(m->rss), (double)m->rss / (double)m->used,
			mem_mb(m->used), mem_mb(m->transport));
	if (clients)
		doc_add(&d,
			" * Big client buffers: %u clients hold %.1f MB, %.0f "
			"KB each on average. Look for slow readers or large "
			"pipelines in CLIENT LIST (qbuf, omem), and consider "
			"client-output-buffer-limit.\n\n",
			m->nclients, mem_mb(m->clients),
			(double)m->clients / m->nclients / 1024.0);
	if (full)
		doc_add(&d,
			" * Near the limit: %.1f MB used of maxmemory %.1f MB "
			"with maxmemory-policy noeviction; writes that need "
			"memory will be refused with -OOM. Choose an "
			"eviction policy or raise maxmemory.\n\n",
			mem_mb(m->used), mem_mb(maxmemory));
	if (tp)
		doc_add(&d,
			" * Transport buffers: %.1f MB of receive rings and "
			"%.1f MB of DPDK packet pools are fixed costs larger "
			"than the data itself. They do not grow with the "
			"data.\n\n",
			mem_mb(m->transport), mem_mb(m->mempools));
	doc_add(&d, "I'm here to keep you safe, Sam. I want to help you.\n");
	return d.n;
}

void cmd_memory_doctor(struct cmd_ctx *c)
{
	const struct cfg *cfg = cfg_cur();
	struct cmd_mem m;
	char buf[4096];
	int n;

	cmd_mem_collect(&m);
	n = cmd_mem_doctor(&m, (uint64_t)cfg->maxmemory,
			   (int)cfg->maxmemory_policy, buf, sizeof(buf));
	if (n < 0)
		n = 0;
	resp_verbatim(c->out, buf,
		      (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* ---- MEMORY STATS ----------------------------------------------------- */

static void stat_ll(struct resp_out *o, const char *name, long long v)
{
	resp_bulk_str(o, name);
	resp_int(o, v);
}

static void stat_int(struct resp_out *o, const char *name, uint64_t v)
{
	stat_ll(o, name, (long long)v);
}

static void stat_dbl(struct resp_out *o, const char *name, double v)
{
	resp_bulk_str(o, name);
	resp_double(o, v);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

void cmd_memory_stats(struct cmd_ctx *c)
{
	struct resp_out *o = c->out;
	unsigned dbs[256], ndb = 0;
	struct cmd_mem m;
	uint64_t net;

	cmd_mem_collect(&m);
	net = m.used > m.startup ? m.used - m.startup : 1;
	/* The dbs listed are fixed first: the map's length is sent before
	 * them, and another core may empty or fill one meanwhile. */
	for (unsigned db = 0; db < store_ndbs() && ndb < 256; db++)
		if (store_dbsize(db))
			dbs[ndb++] = db;
	resp_map(o, 27 + (long)ndb);
	stat_int(o, "peak.allocated", m.peak);
	stat_int(o, "total.allocated", m.used);
	stat_int(o, "startup.allocated", m.startup);
	stat_int(o, "replication.backlog", 0);
	stat_int(o, "clients.slaves", 0);
	stat_int(o, "clients.normal", m.clients);
	stat_int(o, "cluster.links", 0);
	stat_int(o, "aof.buffer", 0);
	stat_int(o, "lua.caches", 0);
	stat_int(o, "functions.caches", 0);
	for (unsigned i = 0; i < ndb; i++) {
		uint64_t main, expires;
		char name[16];

		store_db_overhead(dbs[i], &main, &expires);
		snprintf(name, sizeof(name), "db.%u", dbs[i]);
		resp_bulk_str(o, name);
		resp_map(o, 3);
		stat_int(o, "overhead.hashtable.main", main);
		stat_int(o, "overhead.hashtable.expires", expires);
		stat_int(o, "overhead.hashtable.slot-to-keys", 0);
	}
	stat_int(o, "overhead.total", m.overhead);
	stat_int(o, "keys.count", m.keys);
	stat_int(o, "keys.bytes-per-key", m.keys ? net / m.keys : 0);
	stat_int(o, "dataset.bytes", m.dataset);
	stat_dbl(o, "dataset.percentage", 100.0 * ratio(m.dataset, net));
	stat_dbl(o, "peak.percentage", 100.0 * ratio(m.used, m.peak));
	stat_int(o, "allocator.allocated", m.used);
	stat_int(o, "allocator.active", m.committed);
	stat_int(o, "allocator.resident", m.resident);
	stat_dbl(o, "allocator-fragmentation.ratio",
		 ratio(m.committed, m.used));
	stat_int(o, "allocator-fragmentation.bytes",
		 m.committed > m.used ? m.committed - m.used : 0);
	stat_dbl(o, "allocator-rss.ratio", ratio(m.resident, m.committed));
	stat_ll(o, "allocator-rss.bytes",
		(long long)m.resident - (long long)m.committed);
	stat_dbl(o, "rss-overhead.ratio", ratio(m.rss, m.resident));
	stat_int(o, "rss-overhead.bytes", m.rss - m.resident);
	stat_dbl(o, "fragmentation", ratio(m.rss, m.used));
	stat_int(o, "fragmentation.bytes", m.rss > m.used ? m.rss - m.used : 0);
}

/* ---- MEMORY USAGE ----------------------------------------------------- */

/*
 * A key's bytes, as Redis's objectComputeSize plus key and dict entry:
 * the object as allocated (key and value live in it), one table bucket
 * (a table keeps between one and two keys per bucket once past its
 * initial size) and, with an expiry, its slot in the expiry heap.  The
 * table's fixed part (anchors, the initial buckets) is no key's.
 */
size_t cmd_mem_usage(const struct sobj *o)
{
	size_t n = sobj_usage(o) + sizeof(struct cds_lfht_node);

	if (sobj_expire(o) != STORE_NO_EXPIRE)
		n += sizeof(struct sobj *);
	return n;
}

void cmd_memory_usage(struct cmd_ctx *c)
{
	struct skey k;
	struct sobj *o;
	long long samples;

	/* Strings are not sampled; SAMPLES is checked as Redis does. */
	for (int j = 3; j < c->argc; j++) {
		if (cmd_opt_is(&c->argv[j], "samples") && j + 1 < c->argc) {
			if (!cmd_parse_ll(&c->argv[j + 1], &samples)) {
				resp_error(c->out, cmd_err_notint);
				return;
			}
			if (samples < 0) {
				resp_error(c->out, cmd_err_syntax);
				return;
			}
			j++;
		} else {
			resp_error(c->out, cmd_err_syntax);
			return;
		}
	}
	cmd_key(&k, &c->argv[2]);
	o = cmd_peek(c, c->db, &k);
	if (!o)
		resp_null(c->out);
	else
		resp_int(c->out, (long long)cmd_mem_usage(o));
}

/* ---- MALLOC-STATS, PURGE, HELP ---------------------------------------- */

static void stats_out(const char *msg, void *arg)
{
	struct resp_out *b = arg;

	resp_out_raw(b, msg, strlen(msg));
}

void cmd_memory_malloc_stats(struct cmd_ctx *c)
{
	struct resp_out b;

	resp_out_init(&b, 2);
	mi_stats_print_out(stats_out, &b);
	resp_verbatim(c->out, b.buf ? b.buf : "", b.len);
	resp_out_free(&b);
}

/* Each worker owns its heaps and frees into them; what this thread can
 * return (its own pages, abandoned segments) goes back to the OS. */
void cmd_memory_purge(struct cmd_ctx *c)
{
	mi_collect(false);
	resp_ok(c->out);
}

void cmd_memory_help(struct cmd_ctx *c)
{
	static const char *const help[] = {
	    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "DOCTOR",
	    "    Return memory problems reports.",
	    "MALLOC-STATS",
	    "    Return internal statistics report from the memory allocator.",
	    "PURGE",
	    "    Attempt to purge dirty pages for reclamation by the "
	    "allocator.",
	    "STATS",
	    "    Return information about the memory usage of the server.",
	    "USAGE <key> [SAMPLES <count>]",
	    "    Return memory in bytes used by <key> and its value. Nested "
	    "values are",
	    "    sampled up to <count> times (default: 5, 0 means sample "
	    "all).",
	    "HELP",
	    "    Prints this help.",
	};

	cmd_reply_help(c, help, sizeof(help) / sizeof(help[0]));
}
