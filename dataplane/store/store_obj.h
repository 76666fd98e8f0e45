/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * store_obj: the layout of a store object (struct sobj) and the inline
 * accessors every core uses to read one.
 *
 * Threading: an object is read by any RCU-online thread from the moment it
 * is published until its grace period ends; see each accessor for which
 * words may change meanwhile and who writes them.
 */
#ifndef CACHALOT_STORE_OBJ_H
#define CACHALOT_STORE_OBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <urcu/rculfhash.h>

#define STORE_NO_EXPIRE (-1LL)

/* Redis's types (TYPE, SCAN TYPE); 3 bits of the header. */
enum sobj_type {
	SOBJ_STRING = 0,
	SOBJ_LIST,
	SOBJ_SET,
	SOBJ_ZSET,
	SOBJ_HASH,
	SOBJ_STREAM,
	/* 6, 7: room (module types). */
	SOBJ_NTYPES = 8,
};

/*
 * How a collection's body is built (OBJECT ENCODING); 3 bits of the
 * header.  A string is always inline (SOBJ_ENC_STRING): the raw / int /
 * embstr Redis reports for it follow from its bytes, not from the layout,
 * so they need no bits (cmd_object_encoding works them out).
 */
enum sobj_enc {
	SOBJ_ENC_STRING = 0,
	SOBJ_ENC_LISTPACK,
	SOBJ_ENC_QUICKLIST,
	SOBJ_ENC_INTSET,
	SOBJ_ENC_HASHTABLE,
	SOBJ_ENC_SKIPLIST,
	SOBJ_ENC_STREAM,
	/* 7: room. */
	SOBJ_NENCS = 8,
};

/*
 * A key and its value in one allocation, behind a 24-byte header:
 *
 *   node      16  cds_lfht_node, in the shard table of its db
 *   meta       4  bits 0..23 access (LRU seconds, or LFU minutes:16 +
 *                 counter:8, as Redis's 24-bit lru field); bits 24..31
 *                 flags: type (3 bits), SOBJ_F_LONG, encoding (3
 *                 bits), SOBJ_F_EXT
 *   slot       2
 *   klen, vlen 1+1 the "short" form, when both are <= 255
 *
 * then, in this order: in the "long" form (SOBJ_F_LONG) a 32-bit klen and
 * vlen; with SOBJ_F_EXT a 12-byte expiry extension (int64 expire, 8-byte
 * aligned at offset 24 or 32, and uint32 heap index); the key bytes; the
 * value bytes.  16-byte keys with 32-byte values take 72 bytes.
 *
 * Two forms share that layout.  A string keeps its bytes inline as the
 * value and never changes once published: any core reads it under RCU.
 * Every other type is in the pointer form: its 16 value bytes are a
 * struct sobj_ptr, the body's address and the bytes accounted for it.  The
 * body belongs to the owner core, which mutates it in place; no other core
 * dereferences it (DESIGN "Collections"), while the header (type,
 * encoding, expiry, access) stays readable from any core.  Keeping the
 * pointer where a string keeps its value means lengths, expiry, key and
 * sizes are found the same way for both forms, so the string read path
 * does not look at the type.
 *
 * Only objects that may expire carry the extension: those built for an
 * expiry, every long one (copying a large value to add it would cost more
 * than the 12 bytes) and every pointer-form one (so its header is never
 * copied for an expiry: the body has one owner).  EXPIRE on a short string
 * without one swaps in a copy with it (store_set_expire), as any overwrite
 * does; PERSIST keeps it, set to "no expiry".  The db is not stored:
 * callers always know it.
 *
 * Readers on any core see an object only through RCU.  The flags (type and
 * encoding included) never change once published, so any core may store
 * the whole meta word with new access bits and the flags it read (relaxed:
 * a hint, last one wins); a new encoding takes a new header.  expire is
 * written by the owner and read by anyone (relaxed, aligned).
 */
/* SOBJ_F_LONG keeps its old bit: sobj_pre(), on every lookup, stays one
 * mask of the flags with no shift. */
#define SOBJ_F_TYPE 0x07u
#define SOBJ_F_LONG 0x08u /* 32-bit lengths after the header */
#define SOBJ_F_ENC_SHIFT 4
#define SOBJ_F_ENC (0x07u << SOBJ_F_ENC_SHIFT)
#define SOBJ_F_EXT 0x80u /* carries the expiry extension */
#define SOBJ_ACCESS_MASK 0xffffffu
#define SOBJ_SHORT_MAX 255u

/* The value of a pointer-form object (unaligned in it: use the accessors). */
struct sobj_ptr {
	void *body;
	uint64_t bytes; /* accounted in used_bytes (store_obj_resize) */
};

struct sobj {
	struct cds_lfht_node node;
	uint32_t meta;
	uint16_t slot;
	uint8_t klen8;
	uint8_t vlen8;
	char data[];
};

static inline unsigned sobj_flags(const struct sobj *o)
{
	return __atomic_load_n(&o->meta, __ATOMIC_RELAXED) >> 24;
}

static inline enum sobj_type sobj_type(const struct sobj *o)
{
	return (enum sobj_type)(sobj_flags(o) & SOBJ_F_TYPE);
}

static inline enum sobj_enc sobj_enc(const struct sobj *o)
{
	return (enum sobj_enc)((sobj_flags(o) & SOBJ_F_ENC) >>
			       SOBJ_F_ENC_SHIFT);
}

/** Whether o's value is a pointer to an owner-side body. */
static inline bool sobj_is_ptr(const struct sobj *o)
{
	return sobj_type(o) != SOBJ_STRING;
}

static inline bool sobj_has_ext(const struct sobj *o)
{
	return sobj_flags(o) & SOBJ_F_EXT;
}

static inline uint32_t sobj_klen(const struct sobj *o)
{
	uint32_t n;

	if (!(sobj_flags(o) & SOBJ_F_LONG))
		return o->klen8;
	memcpy(&n, o->data, sizeof(n));
	return n;
}

static inline uint32_t sobj_vlen(const struct sobj *o)
{
	uint32_t n;

	if (!(sobj_flags(o) & SOBJ_F_LONG))
		return o->vlen8;
	memcpy(&n, o->data + 4, sizeof(n));
	return n;
}

/* Bytes between the header and the key: lengths and extension. */
static inline size_t sobj_pre(unsigned flags)
{
	return (flags & SOBJ_F_LONG ? 8 : 0) + (flags & SOBJ_F_EXT ? 12 : 0);
}

static inline const char *sobj_key(const struct sobj *o)
{
	return o->data + sobj_pre(sobj_flags(o));
}

static inline const char *sobj_val(const struct sobj *o)
{
	return sobj_key(o) + sobj_klen(o);
}

/** Writable value bytes: only between sobj_new_*() and store_put(). */
static inline char *sobj_val_w(struct sobj *o)
{
	return (char *)sobj_val(o);
}

/** A pointer-form object's body.  Context: owner of o's slot. */
static inline void *sobj_body(const struct sobj *o)
{
	struct sobj_ptr p;

	memcpy(&p, sobj_val(o), sizeof(p));
	return p.body;
}

/** Bytes accounted for a pointer-form object's body.  Context: owner of
 * o's slot (elsewhere a hint, possibly stale). */
static inline uint64_t sobj_body_bytes(const struct sobj *o)
{
	uint64_t n;

	memcpy(&n, sobj_val(o) + offsetof(struct sobj_ptr, bytes), sizeof(n));
	return n;
}

/**
 * Point o at another body (the owner grew it by moving it, or takes it
 * over); the bytes accounted do not change (store_obj_resize does that).
 * Context: owner of o's slot.
 */
static inline void sobj_set_body(struct sobj *o, void *body)
{
	memcpy(sobj_val_w(o), &body, sizeof(body));
}

/** Expiry extension; only when sobj_has_ext(o). */
static inline int64_t *sobj_expire_p(const struct sobj *o)
{
	return (int64_t *)(void *)(o->data +
				   (sobj_flags(o) & SOBJ_F_LONG ? 8 : 0));
}

static inline uint32_t *sobj_heap_idx_p(const struct sobj *o)
{
	return (uint32_t *)(void *)((char *)sobj_expire_p(o) + 8);
}

/** Unix ms or STORE_NO_EXPIRE.  Context: any thread (relaxed load). */
static inline int64_t sobj_expire(const struct sobj *o)
{
	if (!sobj_has_ext(o))
		return STORE_NO_EXPIRE;
	return __atomic_load_n(sobj_expire_p(o), __ATOMIC_RELAXED);
}

/** The 24-bit access word (LRU or LFU).  Context: any thread. */
static inline uint32_t sobj_access(const struct sobj *o)
{
	return __atomic_load_n(&o->meta, __ATOMIC_RELAXED) & SOBJ_ACCESS_MASK;
}

/** Carry src's access word over to an unpublished dst (RENAME, MOVE). */
static inline void sobj_copy_access(struct sobj *dst, const struct sobj *src)
{
	dst->meta = (dst->meta & ~SOBJ_ACCESS_MASK) | sobj_access(src);
}

#endif
