#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# End-to-end tests: cachalot in one network namespace, the clients in another, a veth
# pair between them (netns.sh). See tests/dpdk/README.md.
#
#   SERVER=build/control/cachalot tests/dpdk/run.sh e2e [pytest args...]
#   SERVER=build/control/cachalot tests/dpdk/run.sh integration [pytest args...]
#   E2E_NET=kernel ...   the same against the kernel transport (checks the harness itself)
#   E2E_FAULT="drop=1%,reorder=1%,dup=1%,seed=7" ...   with the DPDK fault wrapper
#   SERVER=build/control/cachalot tests/dpdk/run.sh tap [pytest args...]
#
# e2e runs the tests of this directory; integration runs tests/integration (the
# Redis-compatibility suite) unchanged against the server in the other namespace, through
# remote.py as its SERVER_LAUNCHER; tap runs tap_e2e.py: the server over net_tap, whose
# offloads (checksums, queues) net_af_packet does not have. Exit 77 (meson: skipped) when
# this box cannot make network namespaces (not root, no iproute2), or, for tap, tap
# interfaces or the net_tap PMD; any other problem is a failure.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3
what="${1:-e2e}"
shift || true

case "$what" in
e2e | integration | tap) ;;
no-dpdk) # meson registers this when libdpdk was not found at configure time
	echo "run.sh: SKIP: cachalot was built without DPDK (libdpdk-dev missing at meson setup)" >&2
	exit 77
	;;
*)
	sed -n '3,20p' "$0" >&2
	exit 2
	;;
esac

# The net_tap PMD is a plugin of the DPDK cachalot links (EAL loads pmds-*/ next to
# librte_eal); a static build has it inside or not at all, and the server will say.
tap_pmd_present() {
	local eal dir
	eal="$(ldd "$SERVER" 2>/dev/null | awk '/librte_eal/ {print $3; exit}')"
	[ -n "$eal" ] || return 0
	dir="$(dirname "$(readlink -f "$eal")")"
	if ! compgen -G "$dir/dpdk/pmds-*/librte_net_tap.so*" >/dev/null &&
		! compgen -G "$dir/librte_net_tap.so*" >/dev/null; then
		echo "run.sh: SKIP: the net_tap PMD is not installed (no librte_net_tap.so near $eal)" >&2
		return 77
	fi
}

if [ "${_E2E_INSIDE:-}" != 1 ]; then
	[ -n "${SERVER:-}" ] || { echo "run.sh: set SERVER=/path/to/cachalot" >&2; exit 2; }
	if ! "$py" -c 'import pytest, redis' 2>/dev/null; then
		echo "run.sh: need pytest and redis-py for $py: apt-get install -y python3-pytest python3-redis" >&2
		exit 2
	fi
	"$here/netns.sh" check || exit $?
	if [ "$what" = tap ]; then
		tap_pmd_present || exit $?
		E2E_NET=tap
	fi
	export _E2E_INSIDE=1 SERVER_KIND=cachalot PYTHONDONTWRITEBYTECODE=1
	case "$SERVER" in */*) SERVER="$(cd "$(dirname "$SERVER")" && pwd)/$(basename "$SERVER")" ;; esac
	export SERVER
	exec "$here/netns.sh" run "${E2E_NET:-dpdk}" -- "$here/run.sh" "$what" "$@"
fi

# In here: the namespaces exist (their names are in the environment) and are removed when
# this process ends, whatever its outcome.
export SERVER_LAUNCHER="$here/remote.py"
case "$what" in
e2e)
	cd "$here" || exit 2
	exec ip netns exec "$CLI_NS" "$py" -m pytest -q -rfEs --durations=8 -p no:cacheprovider "$@" .
	;;
integration)
	exec ip netns exec "$CLI_NS" "$here/../integration/run.sh" "$@"
	;;
tap)
	cd "$here" || exit 2
	exec ip netns exec "$CLI_NS" "$py" -m pytest -q -rfEs --durations=8 -p no:cacheprovider "$@" tap_e2e.py
	;;
esac
