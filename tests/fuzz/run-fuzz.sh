#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Build one fuzzer with clang's libFuzzer, ASan and UBSan, and run it for a
# bounded time over a copy of its corpus.
#
#   run-fuzz.sh resp|net [SOURCE_ROOT]       FUZZ_SECONDS (default 60)
#
#   resp   the RESP parser and writer (dataplane/resp)
#   net    one userspace TCP/IP stack fed frames and segments (dataplane/net)
#
# Exit 0 when nothing was found, 1 on a crash (the reproducer is printed
# and kept), 77 (meson's "skipped") when clang or libFuzzer is missing.
set -u

target=${1:-}
root=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
case "$target" in
resp)
	srcs="$root/dataplane/resp/resp_parse.c $root/dataplane/resp/resp_write.c"
	incs="-I $root -I $root/dataplane"
	max_len=4096
	;;
net)
	srcs="$(ls "$root"/dataplane/net/*.c) $root/dataplane/timer.c"
	incs="-I $root -I $root/dataplane -I $root/dataplane/net"
	max_len=8192
	;;
*)
	echo "usage: run-fuzz.sh resp|net [SOURCE_ROOT]" >&2
	exit 2
	;;
esac
seconds=${FUZZ_SECONDS:-60}
fuzz=$root/tests/fuzz
cc=${FUZZ_CC:-clang}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "run-fuzz: $cc not found, skipping"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cachalot-fuzz.XXXXXX") || exit 1
keep=0
cleanup() {
	[ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Probe first, so a missing libclang_rt.fuzzer is a skip, not a failure.
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ return 0; }\n' \
	>"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" \
	-o "$work/probe" >/dev/null 2>&1; then
	echo "run-fuzz: $cc cannot link -fsanitize=fuzzer, skipping"
	exit 77
fi

# shellcheck disable=SC2086 # word splitting of the lists is meant
if ! "$cc" -std=gnu11 -D_GNU_SOURCE -g -O1 \
	-fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined \
	$incs "$fuzz/fuzz_$target.c" "$fuzz/mi_libc_shim.c" $srcs \
	-o "$work/fuzz_$target"; then
	echo "run-fuzz: build failed"
	exit 1
fi

mkdir "$work/corpus" "$work/artifacts"
cp "$fuzz/corpus/$target/"* "$work/corpus/" 2>/dev/null

echo "run-fuzz: fuzzing $target for ${seconds}s in $work"
"$work/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus"
rc=$?

if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
	keep=1
	echo "run-fuzz: FAILED (exit $rc); reproducers kept in $work/artifacts:"
	for f in "$work/artifacts/"*; do
		[ -f "$f" ] || continue
		echo "== $f"
		od -c "$f" | head -20
	done
	echo "replay one with: $work/fuzz_$target FILE"
	exit 1
fi
echo "run-fuzz: $target: no crash in ${seconds}s"
exit 0
