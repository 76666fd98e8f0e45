/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cachalot's main thread, which becomes the control thread: it reads the
 * configuration, builds the shards, opens one SO_REUSEPORT listener per
 * worker and bind address, starts the workers, and then waits for SIGTERM,
 * SIGINT or SHUTDOWN to stop them cleanly.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "clock.h"
#include "cfg.h"
#include "cmd/cmd.h"
#include "cmd/cmd_host.h"
#include "conn.h"
#include "ctl.h"
#include "ctlq.h"
#include "dpdk/dpdk.h"
#include "listen.h"
#include "route/route.h"
#include "log.h"
#include "store/store.h"
#include "store/store_evict.h"
#include "transport.h"
#include "worker.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: cachalot [/path/to/cachalot.conf] [options]\n"
		   "       cachalot - (read config from stdin)\n"
		   "       cachalot -v or --version\n"
		   "       cachalot -h or --help\n"
		   "\n"
		   "Examples:\n"
		   "       cachalot (run with the built-in defaults: kernel "
		   "transport, 127.0.0.1:6379)\n"
		   "       cachalot /etc/cachalot/cachalot.conf\n"
		   "       cachalot --port 7777 --workers 2\n"
		   "       cachalot /etc/cachalot/cachalot.conf --loglevel "
		   "verbose --maxmemory 2gb\n"
		   "\n"
		   "Every directive of the config file can be given as --name "
		   "value.\n");
}

/* SIGTERM and SIGINT are read from a signalfd by the control thread.
 * Blocked before any thread exists (liburcu's, the store's, the workers'),
 * so every thread inherits the mask and none is killed by the default
 * action. */
static void block_stop_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
}

static unsigned online_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static void write_pidfile(const char *path)
{
	FILE *f;

	if (!path || !*path)
		return;
	f = fopen(path, "w");
	if (!f) {
		log_warning("Failed to write PID file: %s", strerror(errno));
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

static bool read_stop_signal(int sfd, int timeout_ms, int *signo)
{
	struct pollfd p = {.fd = sfd, .events = POLLIN};
	struct signalfd_siginfo si;

	if (poll(&p, 1, timeout_ms) <= 0 ||
	    read(sfd, &si, sizeof(si)) != sizeof(si))
		return false;
	*signo = (int)si.ssi_signo;
	return true;
}

/* The control loop: signals, SHUTDOWN, timers and the workers' jobs. */
static void control_wait(int sfd)
{
	int sig = ctl_run(sfd);

	if (sig)
		log_warning("Received %s scheduling shutdown...",
			    sig == SIGINT ? "SIGINT" : "SIGTERM");
	log_warning("User requested shutdown...");
}

/* INFO's instantaneous_ops_per_sec samples and the memory peak: the
 * control thread's, not worker 0's (cmd_cron keeps its own 100 ms pace). */
static void control_stats_tick(int64_t now_ms, void *arg)
{
	(void)arg;
	cmd_cron(now_ms);
}

static void control_wake_worker(unsigned i)
{
	worker_wake(worker_get(i));
}

/*
 * Workers stop within a loop turn and a drain of what other cores sent
 * them (xcore_quiesce): milliseconds.  Should one not (a command that
 * runs for long, DEBUG SLEEP, a bug), a second SIGINT or SIGTERM ends the
 * process at once, as a second SIGINT does redis-server; so does the
 * bound, so that a restart never waits on a process that hangs.
 */
#define CONTROL_STOP_BOUND_MS 30000

static void control_stop_workers(int sfd)
{
	int64_t start = clock_mono_us();
	int sig;

	worker_stop_begin();
	while (!worker_join(50)) {
		if (read_stop_signal(sfd, 0, &sig)) {
			log_warning("You insist... exiting now.");
			_exit(1);
		}
		if (clock_mono_us() - start > CONTROL_STOP_BOUND_MS * 1000LL) {
			log_warning("Workers did not stop within %d s: "
				    "exiting now.",
				    CONTROL_STOP_BOUND_MS / 1000);
			_exit(1);
		}
	}
}

/*
 * Descriptors: maxclients needs one per client plus what the server keeps
 * for itself.  redis-server keeps 32 (CONFIG_MIN_RESERVED_FDS); cachalot
 * also has per worker a listener for each bind address, an eventfd and
 * its io_uring or epoll descriptor.  As redis-server does, raise the
 * process's limit to what maxclients needs if the OS allows, else lower
 * maxclients to fit the limit and say so, so that a client over the limit
 * is refused with an error instead of waiting in the backlog.
 */
#define CONTROL_RESERVED_FDS 32
static unsigned control_workers;

static rlim_t fds_reserved(const struct cfg *cfg)
{
	rlim_t nb = cfg->nbind > 0 ? (rlim_t)cfg->nbind : 1;

	return CONTROL_RESERVED_FDS + control_workers * (nb + 2);
}

/* The most descriptors we can have, trying up to want: the new limit, and
 * in *why setrlimit's error when it falls short. */
static rlim_t fds_raise(rlim_t want, int *why)
{
	struct rlimit l;
	rlim_t best;

	*why = 0;
	if (getrlimit(RLIMIT_NOFILE, &l) != 0)
		return 1024;
	if (l.rlim_cur >= want)
		return l.rlim_cur;
	for (best = want; best > l.rlim_cur; best -= best < 16 ? best : 16) {
		struct rlimit n = {.rlim_cur = best,
				   .rlim_max =
				       best > l.rlim_max ? best : l.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &n) == 0)
			return best;
		*why = errno;
		if (best < 16)
			break;
	}
	return l.rlim_cur;
}

/* Start-up: returns the maxclients the limit allows (0: too few to start). */
static long long fds_adjust(const struct cfg *cfg)
{
	rlim_t reserved = fds_reserved(cfg);
	rlim_t want = (rlim_t)cfg->maxclients + reserved;
	rlim_t old, got;
	struct rlimit l;
	int why;

	old = getrlimit(RLIMIT_NOFILE, &l) == 0 ? l.rlim_cur : 1024;
	got = fds_raise(want, &why);
	if (got >= want) {
		if (got > old)
			log_notice("Increased maximum number of open files to "
				   "%llu (it was originally set to %llu).",
				   (unsigned long long)got,
				   (unsigned long long)old);
		return cfg->maxclients;
	}
	if (got <= reserved) {
		log_warning("Your current 'ulimit -n' of %llu is not enough "
			    "for the server to start. Please increase your "
			    "open file limit to at least %llu. Exiting.",
			    (unsigned long long)old, (unsigned long long)want);
		return 0;
	}
	log_warning("You requested maxclients of %lld requiring at least %llu "
		    "max file descriptors.",
		    cfg->maxclients, (unsigned long long)want);
	log_warning("Server can't set maximum open files to %llu because of "
		    "OS error: %s.",
		    (unsigned long long)want, strerror(why));
	log_warning("Current maximum open files is %llu. maxclients has been "
		    "reduced to %llu to compensate for low ulimit. If you need "
		    "higher maxclients increase 'ulimit -n'.",
		    (unsigned long long)got,
		    (unsigned long long)(got - reserved));
	return (long long)(got - reserved);
}

static int apply_maxclients(const struct cfg *c, char *err, size_t len)
{
	rlim_t reserved = fds_reserved(c);
	int why;
	rlim_t got = fds_raise((rlim_t)c->maxclients + reserved, &why);

	if (got >= (rlim_t)c->maxclients + reserved)
		return 0;
	snprintf(err, len,
		 "The operating system is not able to handle the specified "
		 "number of clients, try with %llu",
		 (unsigned long long)(got > reserved ? got - reserved : 0));
	return -EINVAL;
}

static int limit_maxclients(unsigned nworkers)
{
	const struct cfg *cfg = cfg_cur();
	long long n;
	char val[32], err[256];
	const char *name = "maxclients", *v = val;

	control_workers = nworkers;
	n = fds_adjust(cfg);
	if (n <= 0)
		return -EMFILE;
	if (n == cfg->maxclients)
		return 0;
	snprintf(val, sizeof(val), "%lld", n);
	if (cfg_set(1, &name, &v, err, sizeof(err))) {
		log_warning("%s", err);
		return -EINVAL;
	}
	return 0;
}

/* Apply hooks: parameters whose change must reach a module at once. */
static int apply_eviction(const struct cfg *c, char *err, size_t len)
{
	bool lfu = c->maxmemory_policy == CFG_POLICY_ALLKEYS_LFU ||
		   c->maxmemory_policy == CFG_POLICY_VOLATILE_LFU;

	(void)err;
	(void)len;
	store_set_lfu(lfu, (unsigned)c->lfu_log_factor,
		      (unsigned)c->lfu_decay_time);
	/* enum store_policy follows enum cfg_policy's order. */
	store_evict_conf((enum store_policy)c->maxmemory_policy,
			 (unsigned)c->maxmemory_samples);
	return 0;
}

static int apply_loglevel(const struct cfg *c, char *err, size_t len)
{
	(void)err;
	(void)len;
	log_set_level((int)c->loglevel);
	return 0;
}

static int register_hooks(const struct cfg *cfg)
{
	if (cfg_on_change("maxmemory-policy", apply_eviction) ||
	    cfg_on_change("maxmemory-samples", apply_eviction) ||
	    cfg_on_change("lfu-log-factor", apply_eviction) ||
	    cfg_on_change("lfu-decay-time", apply_eviction) ||
	    cfg_on_change("loglevel", apply_loglevel) ||
	    cfg_on_change("maxclients", apply_maxclients) ||
	    cfg_on_change("port", listen_apply) ||
	    cfg_on_change("bind", listen_apply))
		return -EINVAL;
	return apply_eviction(cfg, NULL, 0);
}

/* transport dpdk: the EAL and the port first (they fix the worker
 * count); no kernel listener. */
static int setup_dpdk(const struct cfg *cfg, unsigned *nworkers,
		      const struct transport_ops **tp)
{
	int rc = dpdk_setup(cfg, nworkers, tp);

	if (rc)
		log_warning("transport dpdk could not start: %s; exiting",
			    strerror(-rc));
	return rc;
}

/* What the server commands see of the process (cmd_host.h): the workers'
 * and clients' part from worker_cmd_host, the transport's here. */
static struct cmd_host host;

static int run(const struct cfg *cfg)
{
	bool use_dpdk = cfg->transport == CFG_TRANSPORT_DPDK;
	unsigned nworkers =
	    cfg->workers > 0 ? (unsigned)cfg->workers : online_cpus();
	const char *why = NULL;
	const struct transport_ops *tp = NULL;
	struct worker_conf wc = {0};
	struct store_conf sc;
	sigset_t mask;
	int *fds = NULL, nb = 0, rc, sfd, helpers;

	/* An explicit `workers` past the limit was refused by the table;
	 * the default (one per CPU) is capped, and says so. */
	if (nworkers > STORE_MAX_SHARDS) {
		log_notice("%u CPUs: running the most workers there can be, "
			   "%d",
			   nworkers, STORE_MAX_SHARDS);
		nworkers = STORE_MAX_SHARDS;
	}
	if (use_dpdk && setup_dpdk(cfg, &nworkers, &tp))
		return 1;
	/* Over DPDK clients are not descriptors. */
	if (!use_dpdk && limit_maxclients(nworkers))
		return 1;
	sc.nshards = nworkers;
	sc.ndbs = (unsigned)cfg->databases;
	/* The EAL placed the DPDK threads itself. */
	if (!use_dpdk && (helpers = worker_isolate_helpers(nworkers)) > 0)
		log_verbose("Background threads run on %d CPU(s) apart from "
			    "the workers'",
			    helpers);
	if ((rc = store_setup(&sc)) || (rc = cmd_setup()) ||
	    (rc = conn_setup()) || (rc = route_setup()) ||
	    (rc = register_hooks(cfg))) {
		log_warning("start-up failed: %s", strerror(-rc));
		dpdk_teardown();
		return 1;
	}
	if (!use_dpdk) {
		nb = listen_open(cfg, nworkers);
		if (nb < 0)
			return 1;
		fds = listen_fds();
		tp = kernel_transport((int)cfg->kernel_io, &why);
		if (why)
			log_notice("Using %s for kernel sockets (io_uring not "
				   "used: %s)",
				   tp->name, why);
	}
	worker_cmd_host(&host);
	host.transport_mem = transport_mem_bytes;
	host.mempool_mem = transport_mempool_bytes;
	host.transport_info = tp->info;
	cmd_host_set(&host);
	wc.count = nworkers;
	wc.tp = tp;
	wc.nlisten = nb;
	wc.listen_fds = fds;
	wc.pin = true;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	cmd_set_start_time(clock_unix_ms());
	clock_setup();
	if ((rc = worker_setup(&wc)) ||
	    (rc = ctlq_setup(nworkers, control_wake_worker)) ||
	    (rc = ctl_timer_every(100, control_stats_tick, NULL)) ||
	    (rc = worker_start())) {
		log_warning("could not start the workers: %s", strerror(-rc));
		if (use_dpdk) {
			/* Attached workers poll the port: stop them first. */
			rcu_thread_offline();
			worker_stop();
			rcu_thread_online();
			dpdk_teardown();
		}
		return 1;
	}
	if (use_dpdk)
		log_notice("Listening on %s port %lld (%u workers, transport "
			   "dpdk)",
			   cfg->ip, cfg->port, nworkers);
	for (int b = 0; b < nb; b++)
		log_notice(
		    "Listening on %s:%lld (%u workers, transport kernel/%s)",
		    cfg->nbind > 0 ? cfg->bind[b] : "0.0.0.0", cfg->port,
		    nworkers, tp->name);
	write_pidfile(cfg->pidfile);
	log_notice("Ready to accept connections tcp");
	/* Offline while waiting and while joining the workers: they wait
	 * for grace periods on their way out (store_reclaim_local). */
	rcu_thread_offline();
	control_wait(sfd);
	control_stop_workers(sfd);
	rcu_thread_online();
	ctlq_teardown();
	listen_close();
	if (use_dpdk) {
		dpdk_teardown();
		log_notice("DPDK port stopped and closed");
	}
	/* cfg went with the first CONFIG SET's grace period: the current
	 * snapshot (pidfile cannot change, but its struct can). */
	cfg = cfg_cur();
	if (cfg->pidfile && *cfg->pidfile)
		unlink(cfg->pidfile);
	close(sfd);
	log_warning("cachalot is now ready to exit, bye bye...");
	return 0;
}

int main(int argc, char **argv)
{
	char err[1024];
	const struct cfg *cfg;
	int rc;

	if (argc >= 2 &&
	    (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
		printf("cachalot v=%s redis-compat=7.0 bits=%d\n",
		       CACHALOT_VERSION, (int)(sizeof(void *) * 8));
		return 0;
	}
	if (argc >= 2 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	block_stop_signals();
	rcu_register_thread();
	if (cfg_setup() || cfg_load_args(argc, argv, err, sizeof(err))) {
		fprintf(stderr,
			"\n*** FATAL CONFIG ERROR (cachalot %s) ***\n%s\n",
			CACHALOT_VERSION, err);
		return 1;
	}
	cfg = cfg_cur();
	if (log_open(cfg->logfile)) {
		fprintf(stderr, "Can't open the log file: %s\n",
			strerror(errno));
		return 1;
	}
	log_set_level((int)cfg->loglevel);
	log_notice("oO0OoO0OoO0Oo cachalot is starting oO0OoO0OoO0Oo");
	log_notice("cachalot version=%s, bits=%d, pid=%d, just started",
		   CACHALOT_VERSION, (int)(sizeof(void *) * 8), (int)getpid());
	if (cfg_file()[0])
		log_notice("Configuration loaded from %s", cfg_file());
	else
		log_notice(
		    "No config file specified, using the default config.");
	rc = run(cfg);
	rcu_unregister_thread();
	return rc;
}
