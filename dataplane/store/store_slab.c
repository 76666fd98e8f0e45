/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_slab: size-classed slabs for store objects.
 *
 * Why not mimalloc: its bins step by 25% above 64 bytes, so the common
 * 72-byte object (24-byte header, 16-byte key, 32-byte value) takes 80
 * bytes, and frees from other threads are only reclaimed when the owning
 * heap next allocates in that page, which after a FLUSHALL (freed by the
 * store's background thread) may be never: RSS stayed at its peak.  Here
 * classes step by 8 bytes up to SLAB_MAX, so an object wastes at most 7
 * bytes, and empty slabs go back to the kernel.
 *
 * Design
 * ------
 * Every thread that allocates gets a cache (like a mimalloc heap): per
 * class, a current slab to allocate from and a list of slabs with room.
 * A slab is 64 KB of a 32 MB chunk, aligned to its size, carved from one
 * reserved range of address space; the chunk's first slab holds the
 * 64-byte descriptors of the others (cache, class, free lists), so a free
 * finds its slab's descriptor from the address alone.  Not a header at
 * the start of each slab: those are all 64 KB apart, so they fall in one
 * set of every cache level, and with a thousand slabs every free missed
 * on them.  Which allocator an object came from is told by its address
 * (slab_contains), so objects carry nothing extra.
 *
 * Objects are nearly always allocated and freed by one thread: the owner
 * core builds objects for its shard, and retired objects come back to the
 * worker that retired them (store_reclaim_local).  That path is plain
 * loads and stores.  Other threads free too (the background thread's
 * FLUSHALL reclaim, call_rcu callbacks of threads without a home, a core
 * holding another's shard, teardown): such a free pushes the object on the
 * slab's lock-free return list, and the push that makes that list
 * non-empty also pushes the slab on its cache's "dirty" list.  The owner
 * takes the whole dirty list with one exchange (so no ABA) once per loop
 * turn (slab_collect, from store_retire_flush) or when a class runs dry.
 * A slab is pushed again only after the owner emptied its return list,
 * which happens after it read the slab's dirty link, so a slab is never
 * on the dirty list twice.
 *
 * Fresh slabs are consumed by bumping an offset, so a new slab costs RSS
 * only as it fills.  A slab whose last object is freed goes to its
 * cache's pool of empty slabs, reused by any class.  Past SLAB_KEEP_MAX
 * of them, slab_collect hands all but SLAB_KEEP to the purge thread,
 * which gives them back to the kernel (MADV_DONTNEED) and puts them in a
 * global pool of purged slabs that any cache takes from before it maps
 * more.  Not on the worker: here one madvise of 64 KB took 70 us and one
 * of 4 MB 270 us, so the thread sorts its batch and purges runs of
 * adjacent slabs in one call.  A worker only takes a mutex, once per
 * batch, as it does to ask for a table resize.
 *
 * A thread's cache outlives the thread: at exit it is parked, and the
 * next thread that needs a cache adopts it, with its slabs and their
 * pending frees.  store_teardown() drops every chunk at once
 * (slab_release_all), so objects still allocated then are not leaks.
 *
 * -DSTORE_SYSTEM_MALLOC sends every object to malloc so that ASan and
 * valgrind see them; sizes and accounting stay the same.
 */
#include "store_pvt.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SLAB_SHIFT 16
#define SLAB_SIZE (1ul << SLAB_SHIFT)
#define SLAB_CHUNK (32ul << 20)
#define SLAB_PER_CHUNK (SLAB_CHUNK / SLAB_SIZE)
#define SLAB_DESC 64		       /* bytes per descriptor */
#define SLAB_NCLASS (SLAB_MAX / 8 + 1) /* class n: n * 8 bytes */
#define SLAB_KEEP 16		       /* empty slabs kept resident per cache */
#define SLAB_KEEP_MAX (2 * SLAB_KEEP)  /* more: purge down to SLAB_KEEP */

enum slab_state {
	SLAB_CUR,   /* its class's current slab */
	SLAB_AVAIL, /* on its class's list of slabs with room */
	SLAB_FULL,  /* on no list; a free puts it back on avail */
	SLAB_EMPTY, /* in the cache's pool, resident */
};

struct slab_cache;

/*
 * A slab's descriptor, in its chunk's first slab.  Owner: the thread of
 * `cache`, except rfree and dirty_next.
 */
struct slab {
	struct slab_cache *cache;
	struct slab *next, *prev; /* avail list or pool */
	void *free;		  /* freed by the owner, LIFO */
	void *rfree;		  /* any: freed by others, LIFO */
	struct slab *dirty_next;  /* any: in cache->dirty */
	uint32_t used;		  /* objects out, counting those on rfree */
	uint32_t bump;		  /* offset of the space never handed out */
	uint16_t size;		  /* object bytes */
	uint8_t state;
};

/*
 * Slabs with room wait in FIFO order: the one that got its first free
 * longest ago has had the most time to collect more, so switching slabs
 * (the slow path) is rarer than with the newest, which may have one.
 */
struct slab_class {
	struct slab *cur;
	struct slab *avail, *avail_tail;
};

struct slab_cache {
	struct slab_class cls[SLAB_NCLASS];
	struct slab *dirty; /* any: slabs with remote frees */
	struct slab *empty; /* resident empty slabs */
	unsigned nempty;
	struct slab *fresh; /* next never-used slab of the last chunk */
	size_t fresh_left;  /* slabs */
	struct slab_cache *reg_next;
	bool parked;
	/* Statistics, owner writes, any reads (relaxed). */
	uint64_t slabs_used; /* current, avail or full */
	uint64_t slabs_empty;
} __attribute__((aligned(64)));

/* The registry: every cache, for teardown and parking. */
static struct {
	pthread_mutex_t lock;
	struct slab_cache *caches;
	pthread_key_t key;
} slab_reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*
 * Chunks are carved in order from one range of address space, reserved
 * once per process (PROT_NONE: no memory) and never given up, so "is this
 * a slab object" is a range check.  sobj_free() must not read the object
 * to tell: a retired object is cold, and that load missed on every free
 * of a batch, where a store (the free-list link) is absorbed.  lo and len
 * are set once, before the first chunk; `used` under slab_reg.lock.
 * Past the range, objects come from mimalloc.
 */
#define SLAB_RESERVE_MAX (1ull << 40)
#define SLAB_RESERVE_MIN (1ull << 30)

static struct {
	uintptr_t lo;
	size_t len;
	size_t used;
	bool full; /* no chunk left: fail fast (relaxed) */
} slab_range;

static inline bool slab_contains(const void *p)
{
	size_t len = __atomic_load_n(&slab_range.len, __ATOMIC_ACQUIRE);

	return (uintptr_t)p - st_load(&slab_range.lo) < len;
}

/*
 * The purge thread and the pool of purged slabs.  Slabs queued or being
 * purged are `inflight`; pool has room for all of them, reserved when they
 * are queued, so the thread never has to allocate or fail.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_t tid;
	bool running, failed, stop;
	struct slab **queue; /* for the thread to purge */
	size_t nqueue, queue_cap;
	struct slab **pool; /* purged, free for any cache */
	size_t npool, pool_cap;
	size_t inflight;
} slab_purge = {.lock = PTHREAD_MUTEX_INITIALIZER,
		.work = PTHREAD_COND_INITIALIZER};

/* Bumped by slab_release_all: caches of an older generation are gone. */
static unsigned slab_gen = 1;
/* initial-exec: the store is linked into the executable, and the
 * general model costs a __tls_get_addr call on every free. */
static __thread struct slab_cache *slab_tls
    __attribute__((tls_model("initial-exec")));

static_assert(sizeof(struct slab) <= SLAB_DESC, "slab descriptor");
static_assert(SLAB_PER_CHUNK * SLAB_DESC <= SLAB_SIZE, "descriptors");
static_assert(SLAB_MAX < 1u << 16, "slab object size");

/* The descriptor of the slab holding p. */
static inline struct slab *slab_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;

	return (struct slab *)((a & ~(SLAB_CHUNK - 1)) +
			       ((a & (SLAB_CHUNK - 1)) >> SLAB_SHIFT) *
				   SLAB_DESC);
}

/* The memory of the slab s describes. */
static inline char *slab_mem(const struct slab *s)
{
	uintptr_t a = (uintptr_t)s;

	return (char *)((a & ~(SLAB_CHUNK - 1)) +
			((a & (SLAB_CHUNK - 1)) / SLAB_DESC) * SLAB_SIZE);
}

static inline void *obj_next(void *p)
{
	return *(void **)p;
}

static inline void obj_set_next(void *p, void *next)
{
	*(void **)p = next;
}

#ifndef STORE_SYSTEM_MALLOC
/* ---- caches and threads --------------------------------------------- */

static pthread_once_t slab_once = PTHREAD_ONCE_INIT;
static __thread unsigned slab_tls_gen
    __attribute__((tls_model("initial-exec")));

/* Thread exit: park the cache for the next thread that needs one. */
static void slab_thread_exit(void *arg)
{
	struct slab_cache *c = arg;

	pthread_mutex_lock(&slab_reg.lock);
	if (slab_tls_gen == slab_gen && slab_tls == c)
		c->parked = true;
	pthread_mutex_unlock(&slab_reg.lock);
	slab_tls = NULL;
}

static void slab_key_init(void)
{
	pthread_key_create(&slab_reg.key, slab_thread_exit);
}

/* This thread's cache: a parked one, or a new one.  NULL: ENOMEM. */
static struct slab_cache *cache_get(void)
{
	struct slab_cache *c;

	pthread_once(&slab_once, slab_key_init);
	pthread_mutex_lock(&slab_reg.lock);
	for (c = slab_reg.caches; c; c = c->reg_next)
		if (c->parked)
			break;
	if (c) {
		c->parked = false;
	} else {
		c = mi_zalloc_aligned(sizeof(*c), 64);
		if (c) {
			c->reg_next = slab_reg.caches;
			slab_reg.caches = c;
		}
	}
	if (c) {
		slab_tls = c;
		slab_tls_gen = slab_gen;
		pthread_setspecific(slab_reg.key, c);
	}
	pthread_mutex_unlock(&slab_reg.lock);
	if (!c)
		errno = ENOMEM;
	return c;
}

static inline struct slab_cache *cache_mine(void)
{
	if (caa_likely(slab_tls && slab_tls_gen == st_load(&slab_gen)))
		return slab_tls;
	return NULL;
}

/* ---- slabs ---------------------------------------------------------- */

/* Reserve the range, as large as the address space limit allows.
 * Caller holds slab_reg.lock. */
static void range_reserve(void)
{
	for (size_t len = SLAB_RESERVE_MAX; len >= SLAB_RESERVE_MIN; len /= 2) {
		char *p =
		    mmap(NULL, len + SLAB_CHUNK, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		char *a;

		if (p == MAP_FAILED)
			continue;
		a = (char *)(((uintptr_t)p + SLAB_CHUNK - 1) &
			     ~(SLAB_CHUNK - 1));
		if (a > p)
			munmap(p, (size_t)(a - p));
		munmap(a + len, (size_t)(p + SLAB_CHUNK - a));
		st_store(&slab_range.lo, (uintptr_t)a);
		__atomic_store_n(&slab_range.len, len, __ATOMIC_RELEASE);
		return;
	}
	st_store(&slab_range.full, true);
}

/*
 * The next chunk of the range, made writable; slab 0 holds the
 * descriptors, resident only as slabs come into use.  Context: owner of c.
 */
static bool chunk_map(struct slab_cache *c)
{
	char *a = NULL;

	if (st_load(&slab_range.full))
		return false;
	pthread_mutex_lock(&slab_reg.lock);
	if (!slab_range.len)
		range_reserve();
	if (slab_range.used + SLAB_CHUNK > slab_range.len) {
		st_store(&slab_range.full, true);
	} else {
		a = (char *)slab_range.lo + slab_range.used;
		if (mprotect(a, SLAB_CHUNK, PROT_READ | PROT_WRITE))
			a = NULL;
		else
			slab_range.used += SLAB_CHUNK;
	}
	pthread_mutex_unlock(&slab_reg.lock);
	if (!a)
		return false;
	c->fresh = (struct slab *)(void *)(a + SLAB_DESC);
	c->fresh_left = SLAB_PER_CHUNK - 1;
	return true;
}

static inline void list_push(struct slab **head, struct slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

static inline void list_del(struct slab **head, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

static inline void avail_add(struct slab_class *k, struct slab *s)
{
	s->next = NULL;
	s->prev = k->avail_tail;
	if (k->avail_tail)
		k->avail_tail->next = s;
	else
		k->avail = s;
	k->avail_tail = s;
}

static inline void avail_del(struct slab_class *k, struct slab *s)
{
	if (s == k->avail_tail)
		k->avail_tail = s->prev;
	list_del(&k->avail, s);
}

/* ---- purging -------------------------------------------------------- */

static int slab_addr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (struct slab *const *)a;
	uintptr_t y = (uintptr_t) * (struct slab *const *)b;

	return x < y ? -1 : x > y;
}

/* Give v[0..n) back to the kernel, adjacent slabs in one call. */
static void purge_run(struct slab **v, size_t n)
{
	size_t i = 0, j;

	qsort(v, n, sizeof(*v), slab_addr_cmp);
	while (i < n) {
		j = i + 1;
		/* adjacent descriptors: adjacent slabs of one chunk */
		while (j < n && v[j] == v[j - 1] + 1)
			j++;
		madvise(slab_mem(v[i]), (j - i) * SLAB_SIZE, MADV_DONTNEED);
		i = j;
	}
}

static void *purge_main(void *arg)
{
	struct slab **v;
	size_t n;

	(void)arg;
	pthread_mutex_lock(&slab_purge.lock);
	for (;;) {
		while (!slab_purge.nqueue && !slab_purge.stop)
			pthread_cond_wait(&slab_purge.work, &slab_purge.lock);
		if (slab_purge.stop)
			break; /* teardown unmaps everything anyway */
		v = slab_purge.queue;
		n = slab_purge.nqueue;
		slab_purge.queue = NULL;
		slab_purge.nqueue = slab_purge.queue_cap = 0;
		pthread_mutex_unlock(&slab_purge.lock);
		purge_run(v, n);
		pthread_mutex_lock(&slab_purge.lock);
		memcpy(slab_purge.pool + slab_purge.npool, v, n * sizeof(*v));
		st_store(&slab_purge.npool, slab_purge.npool + n);
		slab_purge.inflight -= n;
		mi_free(v);
	}
	pthread_mutex_unlock(&slab_purge.lock);
	return NULL;
}

/* Room for `want` in *v (capacity *cap).  Caller holds slab_purge.lock. */
static bool vec_reserve(struct slab ***v, size_t *cap, size_t want)
{
	size_t ncap = *cap ? *cap : 64;
	struct slab **nv;

	if (want <= *cap)
		return true;
	while (ncap < want)
		ncap *= 2;
	nv = mi_realloc(*v, ncap * sizeof(**v));
	if (!nv)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

/* Caller holds slab_purge.lock. */
static void purge_start_locked(void)
{
	if (slab_purge.running || slab_purge.failed)
		return;
	if (pthread_create(&slab_purge.tid, NULL, purge_main, NULL)) {
		slab_purge.failed = true;
	} else {
		slab_purge.running = true;
		pthread_setname_np(slab_purge.tid, "store-purge");
	}
}

/*
 * The purge thread is started by store_setup(), on the main thread: made
 * later from a worker, it would inherit the worker's CPU.  Context: main.
 */
void slab_setup(void)
{
	pthread_mutex_lock(&slab_purge.lock);
	purge_start_locked();
	pthread_mutex_unlock(&slab_purge.lock);
}

/*
 * Hand c's empty slabs beyond SLAB_KEEP to the purge thread (started on
 * first use).  Without memory or a thread they just stay resident.
 * Context: owner of c.
 */
static void purge_queue(struct slab_cache *c)
{
	size_t n = c->nempty - SLAB_KEEP, i;

	pthread_mutex_lock(&slab_purge.lock);
	purge_start_locked();
	if (!slab_purge.running ||
	    !vec_reserve(&slab_purge.queue, &slab_purge.queue_cap,
			 slab_purge.nqueue + n) ||
	    !vec_reserve(&slab_purge.pool, &slab_purge.pool_cap,
			 slab_purge.npool + slab_purge.inflight + n)) {
		pthread_mutex_unlock(&slab_purge.lock);
		return;
	}
	for (i = 0; i < n; i++) {
		struct slab *s = c->empty;

		list_del(&c->empty, s);
		slab_purge.queue[slab_purge.nqueue++] = s;
	}
	c->nempty -= (unsigned)n;
	st_add(&c->slabs_empty, -(uint64_t)n);
	slab_purge.inflight += n;
	pthread_cond_signal(&slab_purge.work);
	pthread_mutex_unlock(&slab_purge.lock);
}

/* A purged slab, or NULL.  Context: a cache's owner, once per slab. */
static struct slab *pool_take(void)
{
	struct slab *s = NULL;

	if (!st_load(&slab_purge.npool))
		return NULL;
	pthread_mutex_lock(&slab_purge.lock);
	if (slab_purge.npool) {
		s = slab_purge.pool[slab_purge.npool - 1];
		st_store(&slab_purge.npool, slab_purge.npool - 1);
	}
	pthread_mutex_unlock(&slab_purge.lock);
	return s;
}

/* Stop the thread and forget the pool.  Context: teardown. */
static void purge_stop(void)
{
	pthread_mutex_lock(&slab_purge.lock);
	slab_purge.stop = true;
	pthread_cond_signal(&slab_purge.work);
	pthread_mutex_unlock(&slab_purge.lock);
	if (slab_purge.running)
		pthread_join(slab_purge.tid, NULL);
	mi_free(slab_purge.queue);
	mi_free(slab_purge.pool);
	slab_purge.queue = slab_purge.pool = NULL;
	slab_purge.nqueue = slab_purge.queue_cap = 0;
	slab_purge.npool = slab_purge.pool_cap = 0;
	slab_purge.inflight = 0;
	slab_purge.running = slab_purge.failed = slab_purge.stop = false;
}

/* A slab for objects of cl * 8 bytes, set up as current.  NULL: ENOMEM. */
static struct slab *slab_new(struct slab_cache *c, unsigned cl)
{
	struct slab *s;

	if (c->empty) {
		s = c->empty;
		list_del(&c->empty, s);
		c->nempty--;
		st_add(&c->slabs_empty, -1);
	} else if (!(s = pool_take())) {
		if (!c->fresh_left && !chunk_map(c))
			return NULL;
		s = c->fresh++;
		c->fresh_left--;
	}
	s->cache = c;
	s->free = NULL;
	s->rfree = NULL;
	s->dirty_next = NULL;
	s->used = 0;
	s->bump = 0;
	s->size = (uint16_t)(cl * 8);
	s->state = SLAB_CUR;
	st_add(&c->slabs_used, 1);
	return s;
}

/* s (not current) has no object out: to the pool of empty slabs. */
static void slab_release(struct slab_cache *c, struct slab *s)
{
	if (s->state == SLAB_AVAIL)
		avail_del(&c->cls[s->size / 8], s);
	s->state = SLAB_EMPTY;
	list_push(&c->empty, s);
	c->nempty++;
	st_add(&c->slabs_used, -1);
	st_add(&c->slabs_empty, 1);
}

/* n objects came back to s (already on s->free).  Context: owner. */
static void slab_returned(struct slab_cache *c, struct slab *s, uint32_t n)
{
	s->used -= n;
	if (s->state == SLAB_CUR)
		return;
	if (s->used == 0) {
		slab_release(c, s);
	} else if (s->state == SLAB_FULL) {
		s->state = SLAB_AVAIL;
		avail_add(&c->cls[s->size / 8], s);
	}
}

/* Take the frees other threads made into c's slabs.  Context: owner. */
static void collect_remote(struct slab_cache *c)
{
	struct slab *s = __atomic_exchange_n(&c->dirty, NULL, __ATOMIC_ACQUIRE);

	while (s) {
		/* Read the link before emptying rfree: once rfree is empty
		 * another thread may push s again and rewrite it. */
		struct slab *next = s->dirty_next;
		void *p =
		    __atomic_exchange_n(&s->rfree, NULL, __ATOMIC_ACQ_REL);
		void *last = p;
		uint32_t n = 1;

		while (obj_next(last)) {
			last = obj_next(last);
			n++;
		}
		obj_set_next(last, s->free);
		s->free = p;
		slab_returned(c, s, n);
		s = next;
	}
}

/* p back on its slab s.  Context: owner of c. */
static void slab_free_local(struct slab_cache *c, struct slab *s, void *p)
{
	obj_set_next(p, s->free);
	s->free = p;
	if (caa_unlikely(s->state != SLAB_CUR))
		slab_returned(c, s, 1);
	else
		s->used--;
}

static void *slab_alloc_slow(struct slab_cache *c, unsigned cl)
{
	struct slab_class *k = &c->cls[cl];
	struct slab *s = k->cur;
	void *p;

	if (s) {
		/* Full (every object out): a free puts it back on avail. */
		s->state = SLAB_FULL;
		k->cur = NULL;
	}
	if (!k->avail)
		collect_remote(c);
	s = k->avail;
	if (s) {
		avail_del(k, s);
		s->state = SLAB_CUR;
	} else {
		s = slab_new(c, cl);
		if (!s) {
			errno = ENOMEM;
			return NULL;
		}
	}
	k->cur = s;
	p = s->free;
	if (p) {
		s->free = obj_next(p);
	} else {
		p = slab_mem(s) + s->bump;
		s->bump += s->size;
	}
	s->used++;
	return p;
}

/* ---- the API -------------------------------------------------------- */

void *slab_alloc(size_t size)
{
	struct slab_cache *c = cache_mine();
	unsigned cl = (unsigned)(size >> 3);
	struct slab_class *k;
	struct slab *s;
	void *p;

	if (caa_unlikely(!c) && !(c = cache_get()))
		return NULL;
	k = &c->cls[cl];
	s = k->cur;
	if (caa_likely(s != NULL)) {
		p = s->free;
		if (p) {
			s->free = obj_next(p);
			s->used++;
			return p;
		}
		if (s->bump + size <= SLAB_SIZE) {
			p = slab_mem(s) + s->bump;
			s->bump += (uint32_t)size;
			s->used++;
			return p;
		}
	}
	return slab_alloc_slow(c, cl);
}

void slab_free(void *p)
{
	struct slab *s = slab_of(p);
	struct slab_cache *c = s->cache;
	struct slab *d;
	void *old;

	if (caa_likely(c == cache_mine())) {
		slab_free_local(c, s, p);
		return;
	}
	/* Acquire too: finding rfree empty, this thread may write
	 * s->dirty_next, which the owner read before it emptied rfree. */
	old = __atomic_load_n(&s->rfree, __ATOMIC_RELAXED);
	do {
		obj_set_next(p, old);
	} while (!__atomic_compare_exchange_n(
	    &s->rfree, &old, p, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	if (old)
		return; /* s is on the dirty list already */
	d = __atomic_load_n(&c->dirty, __ATOMIC_RELAXED);
	do {
		s->dirty_next = d;
	} while (!__atomic_compare_exchange_n(
	    &c->dirty, &d, s, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

void slab_collect(void)
{
	struct slab_cache *c = cache_mine();

	if (!c)
		return;
	if (__atomic_load_n(&c->dirty, __ATOMIC_RELAXED))
		collect_remote(c);
	if (caa_unlikely(c->nempty > SLAB_KEEP_MAX))
		purge_queue(c);
}
#else
void *slab_alloc(size_t size)
{
	return malloc(size);
}

void slab_free(void *p)
{
	free(p);
}

void slab_collect(void) {}

static void purge_stop(void) {}
#endif

void slab_release_all(void)
{
	struct slab_cache *c, *cn;

	purge_stop();
	pthread_mutex_lock(&slab_reg.lock);
	/* Back to reserved address space: every page goes. */
	if (slab_range.used)
		mmap((void *)slab_range.lo, slab_range.used, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		     -1, 0);
	slab_range.used = 0;
	st_store(&slab_range.full, !slab_range.len && slab_range.full);
	for (c = slab_reg.caches; c; c = cn) {
		cn = c->reg_next;
		mi_free(c);
	}
	slab_reg.caches = NULL;
	st_store(&slab_gen, slab_gen + 1);
	pthread_mutex_unlock(&slab_reg.lock);
	slab_tls = NULL;
}

void slab_stats(struct slab_stats *out)
{
	struct slab_cache *c;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&slab_reg.lock);
	for (c = slab_reg.caches; c; c = c->reg_next) {
		out->slabs_used += st_load(&c->slabs_used);
		out->slabs_empty += st_load(&c->slabs_empty);
		out->caches++;
	}
	out->mapped = slab_range.used;
	pthread_mutex_unlock(&slab_reg.lock);
	pthread_mutex_lock(&slab_purge.lock);
	out->slabs_purged = slab_purge.npool;
	out->slabs_purging = slab_purge.inflight;
	pthread_mutex_unlock(&slab_purge.lock);
	out->slab_bytes = SLAB_SIZE;
}

/* ---- objects -------------------------------------------------------- */

struct sobj *sobj_alloc(size_t bytes)
{
	if (bytes <= SLAB_MAX) {
		struct sobj *o = slab_alloc(slab_round(bytes));

		if (caa_likely(o != NULL))
			return o;
	}
	return mi_malloc(bytes);
}

void sobj_free(struct sobj *o)
{
	if (slab_contains(o))
		slab_free(o);
	else
		mi_free(o);
}

size_t sobj_alloc_size(const struct sobj *o)
{
	size_t n = sobj_bytes(o);

	return n <= SLAB_MAX ? slab_round(n) : mi_usable_size((void *)o);
}
