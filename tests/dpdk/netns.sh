#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Network namespaces for the end-to-end tests: a server namespace and a client namespace
# joined by veth pairs, with private 10.211.x.0/24 addresses. No traffic leaves them.
#
#   netns.sh check              exit 77 (with the reason on stderr) if this box cannot do it
#   netns.sh up TAG [MODE]      create cach-srv-TAG, cach-cli-TAG and pair 0; print KEY=VALUE
#                               (MODE tap: the one namespace cach-tap-TAG, no veth)
#   netns.sh pair TAG K [MODE] [OFFLOADS]
#                               add pair K (1..250): subnet 10.211.K.0/24; print KEY=VALUE
#                               (OFFLOADS peer: the client end keeps the kernel's defaults)
#   netns.sh down TAG           delete both namespaces (their veths go with them)
#   netns.sh run [MODE] -- CMD  up, run CMD with the KEY=VALUEs exported, down (always)
#   netns.sh sweep              delete namespaces left by runs whose process is gone
#
# Pair K: server end vsTAGkK in the server namespace, client end vcTAGkK (pair 0: vsTAG,
# vcTAG) in the client namespace with 10.211.K.2/24. MODE dpdk (default) leaves the server
# end without an address (the userspace stack owns 10.211.K.1 there); MODE kernel gives it
# 10.211.K.1/24, for running the same tests against the kernel transport. MODE tap is for
# the server over net_tap: server and clients share one namespace, cach-tap-TAG; the
# server makes the tap interface (tapTAG) itself, and the tests give its kernel side the
# client address 10.213.0.2/24 (the server is 10.213.0.1 on the DPDK side).
#
# Both ends get their offloads switched off, as tests/dpdk/README.md advises users: the
# client kernel otherwise hands af_packet frames with checksums not yet computed
# (CHECKSUM_PARTIAL) and 64 KB TSO/GSO super-frames, which the stack accepts but counts
# (net_rx_csum_partial, net_rx_gso_cut), the second slowly. OFFLOADS peer leaves the
# client end as the kernel made it, for the test of exactly that (test_offloads.py). IPv6
# is disabled in both namespaces so that router and neighbour solicitations do not show up
# in the server's packet counters. TAG should be unique per run (the caller's PID): the
# namespace and interface names carry it so that parallel runs never collide.
set -u

die77() {
	echo "netns.sh: SKIP: $*" >&2
	exit 77
}

q() { "$@" >/dev/null 2>&1; }

check() {
	[ "$(id -u)" = 0 ] || die77 "needs root (network namespaces, veth pairs)"
	command -v ip >/dev/null 2>&1 || die77 "iproute2 (ip) not installed"
	command -v ethtool >/dev/null 2>&1 ||
		{ echo "netns.sh: ethtool not installed (apt-get install ethtool)" >&2; exit 2; }
	local probe="cach-probe-$$"
	q ip netns add "$probe" || die77 "cannot create a network namespace (ip netns add failed)"
	if ! q ip -n "$probe" link add "vp$$" type veth peer name "vq$$"; then
		q ip netns del "$probe"
		die77 "cannot create a veth pair inside a network namespace"
	fi
	q ip netns del "$probe"
	return 0
}

tap_check() {
	[ -c /dev/net/tun ] || die77 "no /dev/net/tun (net_tap needs the tun driver)"
	local probe="cach-tap-probe-$$"
	q ip netns add "$probe" || die77 "cannot create a network namespace (ip netns add failed)"
	if ! q ip -n "$probe" tuntap add mode tap name "tp$$"; then
		q ip netns del "$probe"
		die77 "cannot create a tap interface inside a network namespace"
	fi
	q ip netns del "$probe"
	return 0
}

up_tap() { # TAG
	local ns="cach-tap-$1"
	sweep
	run_or_die ip netns add "$ns" || return 1
	quiet_ns "$ns" || {
		down "$1"
		return 1
	}
	echo "SRV_NS=$ns"
	echo "CLI_NS=$ns"
	echo "SRV_IF=tap$1"
	echo "CLI_IF=tap$1"
	echo "SRV_IP=10.213.0.1"
	echo "CLI_IP=10.213.0.2"
	echo "NETNS_TAG=$1"
	echo "E2E_NET=tap"
}

names() { # TAG K -> SRV_NS CLI_NS SRV_IF CLI_IF
	local tag="$1" k="$2" sfx=""
	[ "$k" = 0 ] || sfx="k$k"
	SRV_NS="cach-srv-$tag"
	CLI_NS="cach-cli-$tag"
	SRV_IF="vs$tag$sfx"
	CLI_IF="vc$tag$sfx"
}

run_or_die() {
	local out
	if ! out="$("$@" 2>&1)"; then
		echo "netns.sh: failed: $* : $out" >&2
		return 1
	fi
}

quiet_ns() { # NS: no IPv6 noise, lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
	ip netns exec "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	run_or_die ip -n "$1" link set lo up
}

pair() { # TAG K MODE OFFLOADS
	local tag="$1" k="$2" mode="${3:-dpdk}" offloads="${4:-off}"
	names "$tag" "$k"
	case "$k" in '' | *[!0-9]*) echo "netns.sh: bad pair index $k" >&2; return 2 ;; esac
	[ "$k" -le 250 ] || { echo "netns.sh: pair index $k > 250" >&2; return 2; }
	run_or_die ip -n "$CLI_NS" link add "$CLI_IF" type veth peer name "$SRV_IF" netns "$SRV_NS" || return 1
	case "$offloads" in off | peer) ;; *) echo "netns.sh: bad offloads $offloads" >&2; return 2 ;; esac
	for side in "$CLI_NS $CLI_IF" "$SRV_NS $SRV_IF"; do
		set -- $side
		ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1" >/dev/null 2>&1
		[ "$offloads" = peer ] && [ "$2" = "$CLI_IF" ] && continue
		# Not every feature exists on every kernel: set them one by one, ignore the
		# ones the veth does not have, then verify the two that matter.
		for f in tx rx tso gso gro lro tx-checksum-ip-generic; do
			ip netns exec "$1" ethtool -K "$2" "$f" off >/dev/null 2>&1
		done
		if ip netns exec "$1" ethtool -k "$2" 2>/dev/null |
			grep -Eq '^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload): on'; then
			echo "netns.sh: could not switch off checksum/segmentation offloads on $2" >&2
			return 1
		fi
	done
	run_or_die ip -n "$CLI_NS" addr add "10.211.$k.2/24" dev "$CLI_IF" || return 1
	if [ "$mode" = kernel ]; then
		run_or_die ip -n "$SRV_NS" addr add "10.211.$k.1/24" dev "$SRV_IF" || return 1
	fi
	run_or_die ip -n "$SRV_NS" link set "$SRV_IF" up || return 1
	run_or_die ip -n "$CLI_NS" link set "$CLI_IF" up || return 1
	local i
	for i in $(seq 1 40); do # carrier comes a moment after both ends are up
		[ "$(ip netns exec "$CLI_NS" cat "/sys/class/net/$CLI_IF/operstate" 2>/dev/null)" = up ] && break
		sleep 0.05
	done
	echo "SRV_NS=$SRV_NS"
	echo "CLI_NS=$CLI_NS"
	echo "SRV_IF=$SRV_IF"
	echo "CLI_IF=$CLI_IF"
	echo "SRV_IP=10.211.$k.1"
	echo "CLI_IP=10.211.$k.2"
}

up() { # TAG MODE
	local tag="$1" mode="${2:-dpdk}"
	[ "$mode" = tap ] && {
		up_tap "$tag"
		return
	}
	names "$tag" 0
	sweep
	run_or_die ip netns add "$SRV_NS" || return 1
	if ! run_or_die ip netns add "$CLI_NS"; then
		down "$tag"
		return 1
	fi
	quiet_ns "$SRV_NS" && quiet_ns "$CLI_NS" && pair "$tag" 0 "$mode" || {
		down "$tag"
		return 1
	}
	echo "NETNS_TAG=$tag"
	echo "E2E_NET=$mode"
}

down() { # TAG
	local ns pids i
	names "$1" 0
	# Processes still in the namespaces (a server whose test runner was killed: it runs
	# in a session of its own) are this run's: stop them by PID, then delete the names.
	for ns in "$SRV_NS" "$CLI_NS" "cach-tap-$1"; do
		pids="$(ip netns pids "$ns" 2>/dev/null)"
		[ -n "$pids" ] || continue
		kill -TERM $pids 2>/dev/null
		for i in $(seq 1 40); do
			pids="$(ip netns pids "$ns" 2>/dev/null)"
			[ -n "$pids" ] || break
			sleep 0.05
		done
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	done
	q ip netns del "$SRV_NS"
	q ip netns del "$CLI_NS"
	q ip netns del "cach-tap-$1"
	return 0
}

sweep() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case "$ns" in
		cach-srv-* | cach-cli-* | cach-tap-*) pid="${ns#cach-???-}" ;;
		*) continue ;;
		esac
		case "$pid" in '' | *[!0-9]*) continue ;; esac
		if ! kill -0 "$pid" 2>/dev/null; then
			q ip netns del "$ns" && echo "netns.sh: removed stale namespace $ns" >&2
		fi
	done
	return 0
}

cmd="${1:-}"
shift || true
case "$cmd" in
check) check ;;
up) [ $# -ge 1 ] || exit 2; up "$@" ;;
pair) [ $# -ge 2 ] || exit 2; pair "$@" ;;
down) [ $# -ge 1 ] || exit 2; down "$1" ;;
sweep) sweep ;;
run)
	mode=dpdk
	if [ "${1:-}" != "--" ]; then mode="$1"; shift; fi
	[ "${1:-}" = "--" ] && shift
	[ $# -ge 1 ] || { echo "netns.sh run: no command" >&2; exit 2; }
	check || exit $?
	[ "$mode" != tap ] || tap_check || exit $?
	tag=$$
	trap 'down "$tag"' EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	vars="$(up "$tag" "$mode")" || exit 1
	while IFS= read -r line; do export "${line?}"; done <<<"$vars"
	"$@"
	exit $?
	;;
*)
	sed -n '3,29p' "$0" >&2
	exit 2
	;;
esac
