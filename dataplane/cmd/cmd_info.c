/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * INFO: redis-server 7.0's sections and field names, so dashboards and
 * exporters that read Redis read cachalot.  Counters are summed over the
 * cores at the moment INFO runs (relaxed reads of each core's own stats).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <mimalloc.h>

#include "clock.h"
#include "rng.h"
#include "cfg.h"
#include "cmd.h"
#include "cmd_host.h"
#include "cmd_pvt.h"
#include "conn.h"
#include "stats.h"

#define CMD(n, ...) void cmd_##n(struct cmd_ctx *c);
#define SUB(p, n, ...)
#include "cmd_server.def"
#undef CMD
#undef SUB

static int64_t start_ms;
static char run_id[41];
static char replid[41];

int64_t cmd_start_time_ms(void)
{
	return start_ms;
}

void cmd_set_start_time(int64_t ms)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t x =
	    (uint64_t)ms ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;

	start_ms = ms;
	cmd_mem_start();
	for (int i = 0; i < 40; i++) {
		run_id[i] = hex[rng_next(&x) & 15];
		replid[i] = hex[(rng_next(&x) >> 8) & 15];
	}
}

struct info_buf {
	struct resp_out o;
	bool first;
};

static void add(struct info_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct info_buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	resp_out_raw(&b->o, line, (size_t)n);
	resp_out_raw(&b->o, "\r\n", 2);
}

static void section(struct info_buf *b, const char *name)
{
	if (!b->first)
		resp_out_raw(&b->o, "\r\n", 2);
	b->first = false;
	add(b, "# %s", name);
}

static const char *policy_name(int p)
{
	static const char *const names[] = {
	    "noeviction",   "allkeys-lru",  "allkeys-lfu",     "allkeys-random",
	    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
	};
	return p >= 0 && p < 8 ? names[p] : "noeviction";
}

/* Redis bytesToHuman: B K M G T P, and bytes again from 1024P up. */
static void human(char *buf, size_t size, unsigned long long n)
{
	static const char units[] = "KMGTP";
	unsigned long long div = 1;
	int u = -1;

	while (u < 4 && n >= div * 1024) {
		div *= 1024;
		u++;
	}
	if (u < 0 || n >= div * 1024)
		snprintf(buf, size, "%lluB", n);
	else
		snprintf(buf, size, "%.2f%c", (double)n / (double)div,
			 units[u]);
}

struct totals {
	struct wstats s;       /* summed scalar counters */
	struct store_stats st; /* summed over shards */
};

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void sum_stats(struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < cmd_host->workers(); i++) {
		const struct wstats *s = cmd_host->stats(i);
		struct store_stats ss;

		t->s.keyspace_hits += rd(&s->keyspace_hits);
		t->s.keyspace_misses += rd(&s->keyspace_misses);
		t->s.total_commands += rd(&s->total_commands);
		t->s.total_connections += rd(&s->total_connections);
		t->s.rejected_connections += rd(&s->rejected_connections);
		t->s.net_input_bytes += rd(&s->net_input_bytes);
		t->s.net_output_bytes += rd(&s->net_output_bytes);
		t->s.total_error_replies += rd(&s->total_error_replies);
		t->s.io_reads += rd(&s->io_reads);
		t->s.io_writes += rd(&s->io_writes);
		t->s.xcore_msgs_sent += rd(&s->xcore_msgs_sent);
		t->s.xcore_holds += rd(&s->xcore_holds);
		t->s.xcore_wakeups += rd(&s->xcore_wakeups);
		t->s.loop_turns += rd(&s->loop_turns);
		if (rd(&s->max_loop_gap_us) > t->s.max_loop_gap_us)
			t->s.max_loop_gap_us = rd(&s->max_loop_gap_us);
		if (rd(&s->max_evict_us) > t->s.max_evict_us)
			t->s.max_evict_us = rd(&s->max_evict_us);
		store_shard_stats(i, &ss);
		t->st.keys += ss.keys;
		t->st.expires += ss.expires;
		t->st.used_bytes += ss.used_bytes;
		t->st.expired_keys += ss.expired_keys;
		t->st.evicted_keys += ss.evicted_keys;
	}
}

static void info_server(struct info_buf *b, const struct cmd_ctx *c)
{
	const struct cfg *cfg = cfg_cur();
	struct utsname u;
	int64_t up = (c->now_ms - start_ms) / 1000;
	char exe[512] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0)
		exe[n] = '\0';
	uname(&u);
	section(b, "Server");
	add(b, "redis_version:%s", CMD_REDIS_VERSION);
	add(b, "redis_git_sha1:00000000");
	add(b, "redis_git_dirty:0");
	add(b, "redis_build_id:0");
	add(b, "redis_mode:standalone");
	add(b, "os:%s %s %s", u.sysname, u.release, u.machine);
	add(b, "arch_bits:%d", (int)(sizeof(void *) * 8));
	add(b, "monotonic_clock:POSIX clock_gettime");
	add(b, "multiplexing_api:%s", cmd_host->transport_name());
	add(b, "atomicvar_api:c11-builtin");
	add(b, "gcc_version:%d.%d.%d", __GNUC__, __GNUC_MINOR__,
	    __GNUC_PATCHLEVEL__);
	add(b, "process_id:%d", (int)getpid());
	add(b, "process_supervised:no");
	add(b, "run_id:%s", run_id);
	add(b, "tcp_port:%lld", cfg->port);
	add(b, "server_time_usec:%lld", (long long)clock_unix_us());
	add(b, "uptime_in_seconds:%lld", (long long)up);
	add(b, "uptime_in_days:%lld", (long long)(up / 86400));
	add(b, "hz:%lld", cfg->hz);
	add(b, "configured_hz:%lld", cfg->hz);
	add(b, "lru_clock:%lld",
	    (long long)((c->now_ms / 1000) & ((1 << 24) - 1)));
	add(b, "executable:%s", exe);
	add(b, "config_file:%s", cfg_file());
	add(b, "io_threads_active:0");
	add(b, "cachalot_version:%s", CACHALOT_VERSION);
	add(b, "cachalot_transport:%s",
	    cfg->transport == CFG_TRANSPORT_DPDK ? "dpdk" : "kernel");
	add(b, "cachalot_workers:%u", cmd_host->workers());
}

static void info_clients(struct info_buf *b)
{
	uint64_t in, out;

	cmd_host->clients_recent_max(&in, &out);
	section(b, "Clients");
	add(b, "connected_clients:%u", cmd_host->clients());
	add(b, "cluster_connections:0");
	add(b, "maxclients:%lld", cfg_cur()->maxclients);
	add(b, "client_recent_max_input_buffer:%llu", (unsigned long long)in);
	add(b, "client_recent_max_output_buffer:%llu", (unsigned long long)out);
	add(b, "blocked_clients:%u", cmd_host->blocked_clients());
	add(b, "tracking_clients:0");
	add(b, "clients_in_timeout_table:0");
}

/* Redis 7.0's fields in its order, then cachalot's own; cmd_memory.c
 * says what each figure is here. */
static void info_memory(struct info_buf *b)
{
	const struct cfg *cfg = cfg_cur();
	uint64_t total =
	    (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t net;
	struct cmd_mem m;
	char h[32];

	cmd_mem_collect(&m);
	net = m.used > m.startup ? m.used - m.startup : 1;
	section(b, "Memory");
	human(h, sizeof(h), (unsigned long long)m.used);
	add(b, "used_memory:%llu", (unsigned long long)m.used);
	add(b, "used_memory_human:%s", h);
	human(h, sizeof(h), (unsigned long long)m.rss);
	add(b, "used_memory_rss:%llu", (unsigned long long)m.rss);
	add(b, "used_memory_rss_human:%s", h);
	human(h, sizeof(h), (unsigned long long)m.peak);
	add(b, "used_memory_peak:%llu", (unsigned long long)m.peak);
	add(b, "used_memory_peak_human:%s", h);
	add(b, "used_memory_peak_perc:%.2f%%",
	    m.peak ? 100.0 * (double)m.used / (double)m.peak : 100.0);
	add(b, "used_memory_overhead:%llu", (unsigned long long)m.overhead);
	add(b, "used_memory_startup:%llu", (unsigned long long)m.startup);
	add(b, "used_memory_dataset:%llu", (unsigned long long)m.dataset);
	add(b, "used_memory_dataset_perc:%.2f%%",
	    100.0 * (double)m.dataset / (double)net);
	add(b, "allocator_allocated:%llu", (unsigned long long)m.used);
	add(b, "allocator_active:%llu", (unsigned long long)m.committed);
	add(b, "allocator_resident:%llu", (unsigned long long)m.resident);
	human(h, sizeof(h), (unsigned long long)total);
	add(b, "total_system_memory:%llu", (unsigned long long)total);
	add(b, "total_system_memory_human:%s", h);
	/* No scripting engine yet: the Lua and functions fields are 0. */
	add(b, "used_memory_lua:0");
	add(b, "used_memory_vm_eval:0");
	add(b, "used_memory_lua_human:0B");
	add(b, "used_memory_scripts_eval:0");
	add(b, "number_of_cached_scripts:0");
	add(b, "number_of_functions:0");
	add(b, "number_of_libraries:0");
	add(b, "used_memory_vm_functions:0");
	add(b, "used_memory_vm_total:0");
	add(b, "used_memory_vm_total_human:0B");
	add(b, "used_memory_functions:0");
	add(b, "used_memory_scripts:0");
	add(b, "used_memory_scripts_human:0B");
	human(h, sizeof(h), (unsigned long long)cfg->maxmemory);
	/* Redis prints its unsigned maxmemory with %lld: 2^64-1 is -1. */
	add(b, "maxmemory:%lld", (long long)cfg->maxmemory);
	add(b, "maxmemory_human:%s", h);
	add(b, "maxmemory_policy:%s", policy_name((int)cfg->maxmemory_policy));
	add(b, "allocator_frag_ratio:%.2f",
	    m.used ? (double)m.committed / (double)m.used : 0.0);
	add(b, "allocator_frag_bytes:%lld",
	    (long long)m.committed - (long long)m.used);
	add(b, "allocator_rss_ratio:%.2f",
	    m.committed ? (double)m.resident / (double)m.committed : 0.0);
	add(b, "allocator_rss_bytes:%lld",
	    (long long)m.resident - (long long)m.committed);
	add(b, "rss_overhead_ratio:%.2f",
	    m.resident ? (double)m.rss / (double)m.resident : 0.0);
	add(b, "rss_overhead_bytes:%lld",
	    (long long)m.rss - (long long)m.resident);
	add(b, "mem_fragmentation_ratio:%.2f",
	    m.used ? (double)m.rss / (double)m.used : 0.0);
	add(b, "mem_fragmentation_bytes:%lld",
	    (long long)m.rss - (long long)m.used);
	add(b, "mem_not_counted_for_evict:0");
	add(b, "mem_replication_backlog:0");
	add(b, "mem_total_replication_buffers:0");
	add(b, "mem_clients_slaves:0");
	add(b, "mem_clients_normal:%llu", (unsigned long long)m.clients);
	add(b, "mem_cluster_links:0");
	add(b, "mem_aof_buffer:0");
	add(b, "mem_allocator:mimalloc-%d.%d.%d", MI_MALLOC_VERSION / 100,
	    (MI_MALLOC_VERSION / 10) % 10, MI_MALLOC_VERSION % 10);
	add(b, "active_defrag_running:0");
	add(b, "lazyfree_pending_objects:0");
	add(b, "lazyfreed_objects:0");
	/* cachalot: the store's tables and expiry heaps (part of
	 * used_memory), and fixed buffers outside it. */
	add(b, "mem_store_tables:%llu", (unsigned long long)m.tables);
	add(b, "mem_transport_buffers:%llu", (unsigned long long)m.transport);
	add(b, "mem_dpdk_mempools:%llu", (unsigned long long)m.mempools);
}

static void info_persistence(struct info_buf *b, const struct totals *t)
{
	section(b, "Persistence");
	add(b, "loading:0");
	add(b, "async_loading:0");
	add(b, "current_cow_peak:0");
	add(b, "current_cow_size:0");
	add(b, "current_cow_size_age:0");
	add(b, "current_fork_perc:0.00");
	add(b, "current_save_keys_processed:0");
	add(b, "current_save_keys_total:0");
	/* Counted by effect at the store's change door, as server.dirty. */
	add(b, "rdb_changes_since_last_save:%llu",
	    (unsigned long long)store_dirty_total());
	add(b, "rdb_bgsave_in_progress:0");
	add(b, "rdb_last_save_time:%lld", (long long)(start_ms / 1000));
	add(b, "rdb_last_bgsave_status:ok");
	add(b, "rdb_last_bgsave_time_sec:-1");
	add(b, "rdb_current_bgsave_time_sec:-1");
	add(b, "rdb_saves:0");
	add(b, "rdb_last_cow_size:0");
	add(b, "rdb_last_load_keys_expired:0");
	add(b, "rdb_last_load_keys_loaded:0");
	add(b, "aof_enabled:0");
	add(b, "aof_rewrite_in_progress:0");
	add(b, "aof_rewrite_scheduled:0");
	add(b, "aof_last_rewrite_time_sec:-1");
	add(b, "aof_current_rewrite_time_sec:-1");
	add(b, "aof_last_bgrewrite_status:ok");
	add(b, "aof_rewrites:0");
	add(b, "aof_rewrites_consecutive_failures:0");
	add(b, "aof_last_write_status:ok");
	add(b, "aof_last_cow_size:0");
	add(b, "module_fork_in_progress:0");
	add(b, "module_fork_last_cow_size:0");
}

static void info_stats(struct info_buf *b, const struct totals *t)
{
	uint64_t expired = t->st.expired_keys - cmd_expired_base();

	section(b, "Stats");
	add(b, "total_connections_received:%llu",
	    (unsigned long long)t->s.total_connections);
	add(b, "total_commands_processed:%llu",
	    (unsigned long long)t->s.total_commands);
	add(b, "instantaneous_ops_per_sec:%llu",
	    (unsigned long long)cmd_info_ops_per_sec());
	add(b, "total_net_input_bytes:%llu",
	    (unsigned long long)t->s.net_input_bytes);
	add(b, "total_net_output_bytes:%llu",
	    (unsigned long long)t->s.net_output_bytes);
	add(b, "total_net_repl_input_bytes:0");
	add(b, "total_net_repl_output_bytes:0");
	add(b, "instantaneous_input_kbps:0.00");
	add(b, "instantaneous_output_kbps:0.00");
	add(b, "instantaneous_input_repl_kbps:0.00");
	add(b, "instantaneous_output_repl_kbps:0.00");
	add(b, "rejected_connections:%llu",
	    (unsigned long long)t->s.rejected_connections);
	add(b, "sync_full:0");
	add(b, "sync_partial_ok:0");
	add(b, "sync_partial_err:0");
	add(b, "expired_keys:%llu", (unsigned long long)expired);
	add(b, "expired_stale_perc:0.00");
	add(b, "expired_time_cap_reached_count:0");
	add(b, "expire_cycle_cpu_milliseconds:0");
	add(b, "evicted_keys:%llu",
	    (unsigned long long)(t->st.evicted_keys - cmd_evicted_base()));
	add(b, "evicted_clients:0");
	add(b, "total_eviction_exceeded_time:0");
	add(b, "current_eviction_exceeded_time:0");
	add(b, "keyspace_hits:%llu", (unsigned long long)t->s.keyspace_hits);
	add(b, "keyspace_misses:%llu",
	    (unsigned long long)t->s.keyspace_misses);
	add(b, "pubsub_channels:0");
	add(b, "pubsub_patterns:0");
	add(b, "pubsubshard_channels:0");
	add(b, "latest_fork_usec:0");
	add(b, "total_forks:0");
	add(b, "migrate_cached_sockets:0");
	add(b, "slave_expires_tracked_keys:0");
	add(b, "active_defrag_hits:0");
	add(b, "active_defrag_misses:0");
	add(b, "active_defrag_key_hits:0");
	add(b, "active_defrag_key_misses:0");
	add(b, "total_active_defrag_time:0");
	add(b, "current_active_defrag_time:0");
	add(b, "tracking_total_keys:0");
	add(b, "tracking_total_items:0");
	add(b, "tracking_total_prefixes:0");
	add(b, "unexpected_error_replies:0");
	add(b, "total_error_replies:%llu",
	    (unsigned long long)t->s.total_error_replies);
	add(b, "dump_payload_sanitizations:0");
	add(b, "total_reads_processed:%llu", (unsigned long long)t->s.io_reads);
	add(b, "total_writes_processed:%llu",
	    (unsigned long long)t->s.io_writes);
	add(b, "io_threaded_reads_processed:0");
	add(b, "io_threaded_writes_processed:0");
	/* Redis 7.0 has no such counter; later versions put it here. */
	add(b, "client_output_buffer_limit_disconnections:%lu",
	    cmd_host->obuf_disconnections());
	add(b, "reply_buffer_shrinks:0");
	add(b, "reply_buffer_expands:0");
	/* cachalot, for latency audits: the longest turn of a worker loop
	 * (wall clock: the kernel's time in send() and preemption count)
	 * and the longest time a turn spent evicting. */
	add(b, "cachalot_max_loop_gap_us:%llu",
	    (unsigned long long)t->s.max_loop_gap_us);
	add(b, "cachalot_max_evict_us:%llu",
	    (unsigned long long)t->s.max_evict_us);
	add(b, "cachalot_loop_turns:%llu", (unsigned long long)t->s.loop_turns);
	add(b, "cachalot_xcore_messages:%llu",
	    (unsigned long long)t->s.xcore_msgs_sent);
	add(b, "cachalot_xcore_holds:%llu",
	    (unsigned long long)t->s.xcore_holds);
	add(b, "cachalot_xcore_wakeups:%llu",
	    (unsigned long long)t->s.xcore_wakeups);
}

static void info_replication(struct info_buf *b)
{
	section(b, "Replication");
	add(b, "role:master");
	add(b, "connected_slaves:0");
	add(b, "master_failover_state:no-failover");
	add(b, "master_replid:%s", replid);
	add(b, "master_replid2:0000000000000000000000000000000000000000");
	add(b, "master_repl_offset:0");
	add(b, "second_repl_offset:-1");
	add(b, "repl_backlog_active:0");
	add(b, "repl_backlog_size:1048576");
	add(b, "repl_backlog_first_byte_offset:0");
	add(b, "repl_backlog_histlen:0");
}

static void info_cpu(struct info_buf *b)
{
	struct rusage self, children, main;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	getrusage(RUSAGE_THREAD, &main);
#define TV(t) ((double)(t).tv_sec + (double)(t).tv_usec / 1e6)
	section(b, "CPU");
	add(b, "used_cpu_sys:%.6f", TV(self.ru_stime));
	add(b, "used_cpu_user:%.6f", TV(self.ru_utime));
	add(b, "used_cpu_sys_children:%.6f", TV(children.ru_stime));
	add(b, "used_cpu_user_children:%.6f", TV(children.ru_utime));
	add(b, "used_cpu_sys_main_thread:%.6f", TV(main.ru_stime));
	add(b, "used_cpu_user_main_thread:%.6f", TV(main.ru_utime));
#undef TV
}

static void info_errorstats(struct info_buf *b)
{
	struct errstat all[STATS_ERR_KINDS * 4];
	int n = 0;

	section(b, "Errorstats");
	for (unsigned i = 0; i < cmd_host->workers(); i++) {
		const struct wstats *s = cmd_host->stats(i);
		for (int k = 0; k < STATS_ERR_KINDS && s->err[k].name[0]; k++) {
			int j;
			for (j = 0; j < n; j++)
				if (strcmp(all[j].name, s->err[k].name) == 0)
					break;
			if (j == n) {
				if (n == (int)(sizeof(all) / sizeof(all[0])))
					continue;
				memcpy(all[n].name, s->err[k].name,
				       sizeof(all[n].name));
				all[n].name[sizeof(all[n].name) - 1] = '\0';
				all[n++].count = 0;
			}
			all[j].count += rd(&s->err[k].count);
		}
	}
	for (int j = 0; j < n; j++)
		add(b, "errorstat_%s:count=%llu", all[j].name,
		    (unsigned long long)all[j].count);
}

static void info_commandstats(struct info_buf *b)
{
	section(b, "Commandstats");
	for (unsigned id = 0; id < cmd_count(); id++) {
		struct cmdstat cs = {0};
		char name[64];

		for (unsigned i = 0; i < cmd_host->workers(); i++) {
			const struct cmdstat *s = &cmd_host->stats(i)->cmd[id];
			cs.calls += rd(&s->calls);
			cs.nsec += rd(&s->nsec);
			cs.rejected_calls += rd(&s->rejected_calls);
			cs.failed_calls += rd(&s->failed_calls);
		}
		if (!cs.calls && !cs.rejected_calls && !cs.failed_calls)
			continue;
		cmd_fullname(cmd_by_id(id), name, sizeof(name));
		add(b,
		    "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,"
		    "rejected_calls=%llu,failed_calls=%llu",
		    name, (unsigned long long)cs.calls,
		    (unsigned long long)(cs.nsec / 1000),
		    cs.calls ? (double)cs.nsec / 1000.0 / (double)cs.calls
			     : 0.0,
		    (unsigned long long)cs.rejected_calls,
		    (unsigned long long)cs.failed_calls);
	}
}

static void info_keyspace(struct info_buf *b)
{
	section(b, "Keyspace");
	for (unsigned db = 0; db < store_ndbs(); db++) {
		uint64_t keys = store_dbsize(db);
		if (!keys)
			continue;
		add(b, "db%u:keys=%llu,expires=%llu,avg_ttl=0", db,
		    (unsigned long long)keys,
		    (unsigned long long)store_db_expires(db));
	}
}

static void info_emit(void *arg, const char *line)
{
	add(arg, "%s", line);
}

/* The transport's counters (ports, queues, TCP/IP stack): DPDK only. */
static void info_network(struct info_buf *b)
{
	if (!cmd_host->transport_info)
		return;
	section(b, "Network");
	cmd_host->transport_info(info_emit, b);
}

enum {
	SEC_SERVER = 1 << 0,
	SEC_CLIENTS = 1 << 1,
	SEC_MEMORY = 1 << 2,
	SEC_PERSISTENCE = 1 << 3,
	SEC_STATS = 1 << 4,
	SEC_REPLICATION = 1 << 5,
	SEC_CPU = 1 << 6,
	SEC_MODULES = 1 << 7,
	SEC_ERRORSTATS = 1 << 8,
	SEC_CLUSTER = 1 << 9,
	SEC_KEYSPACE = 1 << 10,
	SEC_COMMANDSTATS = 1 << 11,
	SEC_NETWORK = 1 << 12,
	SEC_DEFAULT = ((1 << 11) - 1) | SEC_NETWORK,
	SEC_ALL = (1 << 13) - 1,
};

static unsigned info_sections(const struct cmd_ctx *c)
{
	static const char *const names[] = {
	    "server",	   "clients",	   "memory",  "persistence", "stats",
	    "replication", "cpu",	   "modules", "errorstats",  "cluster",
	    "keyspace",	   "commandstats", "network",
	};
	unsigned mask = 0;

	if (c->argc == 1)
		return SEC_DEFAULT;
	for (int i = 1; i < c->argc; i++) {
		const struct resp_arg *a = &c->argv[i];
		if (cmd_arg_is(a, "default"))
			mask |= SEC_DEFAULT;
		else if (cmd_arg_is(a, "all") || cmd_arg_is(a, "everything"))
			mask |= SEC_ALL;
		for (unsigned k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (cmd_arg_is(a, names[k]))
				mask |= 1u << k;
	}
	return mask;
}

void cmd_info(struct cmd_ctx *c)
{
	struct info_buf b = {.first = true};
	unsigned mask = info_sections(c);
	struct totals t;

	sum_stats(&t);
	resp_out_init(&b.o, 2);
	if (mask & SEC_SERVER)
		info_server(&b, c);
	if (mask & SEC_CLIENTS)
		info_clients(&b);
	if (mask & SEC_MEMORY)
		info_memory(&b);
	if (mask & SEC_PERSISTENCE)
		info_persistence(&b, &t);
	if (mask & SEC_STATS)
		info_stats(&b, &t);
	if (mask & SEC_REPLICATION)
		info_replication(&b);
	if (mask & SEC_CPU)
		info_cpu(&b);
	if (mask & SEC_MODULES)
		section(&b, "Modules");
	if (mask & SEC_ERRORSTATS)
		info_errorstats(&b);
	if (mask & SEC_CLUSTER) {
		section(&b, "Cluster");
		add(&b, "cluster_enabled:0");
	}
	if (mask & SEC_KEYSPACE)
		info_keyspace(&b);
	if (mask & SEC_NETWORK)
		info_network(&b);
	if (mask & SEC_COMMANDSTATS)
		info_commandstats(&b);
	resp_verbatim(c->out, b.o.buf ? b.o.buf : "", b.o.len);
	resp_out_free(&b.o);
}

/* instantaneous_ops_per_sec: a sample every 100 ms, averaged over 1.6 s
 * as Redis does; taken by worker 0's cron. */
#define OPS_SAMPLES 16
static uint64_t ops_samples[OPS_SAMPLES];
static unsigned ops_idx;
static uint64_t ops_last_count;
static int64_t ops_last_ms;

void cmd_cron(int64_t now_ms)
{
	uint64_t total = 0;

	if (now_ms - ops_last_ms < 100)
		return;
	cmd_mem_peak_update();
	for (unsigned i = 0; i < cmd_host->workers(); i++)
		total += rd(&cmd_host->stats(i)->total_commands);
	if (ops_last_ms && total >= ops_last_count)
		__atomic_store_n(&ops_samples[ops_idx++ % OPS_SAMPLES],
				 (total - ops_last_count) * 1000 /
				     (uint64_t)(now_ms - ops_last_ms),
				 __ATOMIC_RELAXED);
	ops_last_count = total;
	ops_last_ms = now_ms;
}

uint64_t cmd_info_ops_per_sec(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < OPS_SAMPLES; i++)
		sum += __atomic_load_n(&ops_samples[i], __ATOMIC_RELAXED);
	return sum / OPS_SAMPLES;
}
