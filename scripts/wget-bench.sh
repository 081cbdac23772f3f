#!/usr/bin/env bash
# Receive throughput of Alpine's wget on Writ vs Linux, same emulated machine, same
# rootfs, same test network (writ-run --net tap): each round boots every Writ kernel,
# then Linux (alternating, so changing host load hits all alike), takes a DHCP lease
# and times `wget -q -O /dev/null http://192.168.77.1/32m.bin` REPS times (the first
# fetch of a boot is a warm-up and not counted). Prints every sample, the medians and
# the ratios to Linux.
#
#   scripts/wget-bench.sh [ROUNDS] [REPS]      (defaults 3 and 6)
#
# WRIT_KERNELS="A B ..." compares several Writ kernel images (e.g. before and after a
# change); default: $WRIT_KERNEL, else the workspace build. PIN=CPU runs each machine
# (QEMU and the test host's servers) on that one host CPU: the busy-host case, where
# the CPU cost per byte on both sides of the device decides throughput. Needs root (the
# test network's namespace), as the integration tests do.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${1:-3}
REPS=${2:-6}
cargo build --release -q -p writ-qemu --bin writ-run --bin writ-rootfs
RUN=$PWD/target/release/writ-run
ROOTFS=$(target/release/writ-rootfs --print-path)
read -r -a KERNELS <<<"${WRIT_KERNELS:-${WRIT_KERNEL:-$PWD/target/x86_64-unknown-none/release/writ-kernel}}"

FETCH='wget -q -O /dev/null http://192.168.77.1/32m.bin'
CMD="ip link set eth0 up; udhcpc -i eth0 -q -n -t 5 >/dev/null 2>&1; $FETCH;"
CMD+=" for i in \$(seq $REPS); do time $FETCH; done"

# busybox `time` prints "real\t0m 0.24s": one number (seconds) per fetch.
samples() { # writ-run --kernel argument [WRIT_KERNEL]
    WRIT_KERNEL=${2:-} ${PIN:+taskset -c "$PIN"} "$RUN" --kernel "$1" --initrd "$ROOTFS" \
        --memory 1G --net tap --timeout 300 --append log=error --exec "$CMD" 2>&1 </dev/null |
        tr -d '\r' | awk '/^real/ { split($2 $3, a, "m"); sub("s", "", a[2]); print a[1] * 60 + a[2] }' ||
        true # a failed boot shows as missing samples
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A all
for r in $(seq "$ROUNDS"); do
    for k in "${KERNELS[@]}" linux; do
        if [ "$k" = linux ]; then s=$(samples linux); else s=$(samples writ "$k"); fi
        s=$(echo $s)
        echo "round $r: $(basename "$k"): $s$([ "$(wc -w <<<"$s")" = "$REPS" ] || echo " (samples missing)")"
        all[$k]="${all[$k]:-} $s"
    done
done
ml=$(median ${all[linux]})
echo "medians over $ROUNDS rounds x $REPS fetches of 32 MiB${PIN:+ (pinned to CPU $PIN)}:"
for k in linux "${KERNELS[@]}"; do
    m=$(median ${all[$k]})
    awk -v n="$(basename "$k")" -v m="$m" -v l="$ml" \
        'BEGIN { printf "  %-28s %.3f s  %4.0f MiB/s  throughput %.2fx linux\n", n, m, 32 / m, l / m }'
done
