#!/usr/bin/env bash
# Times an incremental recursive sync of 50 child datasets (one new snapshot each):
# zsync vs syncoid, same VM boot, same pool. Runs IN the lab VM (needs root and ZFS):
#
#   cargo build --release -p zsync
#   cargo xtask lab run -- env ZSYNC_BIN=$PWD/target/release/zsync bash $PWD/bench/sync-vs-syncoid.sh
#
# syncoid comes from Debian's `sanoid` package, installed on the host (the VM sees the host's
# filesystem): apt-get install -y --no-install-recommends sanoid mbuffer pv lzop
#
# Both tools get the same job: no sync snapshot (--no-sync-snap; the snapshots exist already),
# targets received unmounted (-u; zsync's default, given explicitly to both), local -> local in
# one pool. That is the fair comparison: with
# sync snapshots syncoid would additionally snapshot and prune each dataset one by one.
# Knobs: BENCH_CHILDREN (50), BENCH_ROUNDS (1; each round adds one snapshot per child and times
# both tools, alternating which runs first).
#
# Remote mode (BENCH_REMOTE=1): the targets are on a backup host reached over SSH as root, e.g. the
# lab's (a private sshd in a second network namespace of the VM, started by the zsync-lab example
# `with_backup_host`, which sets BACKUP_HOST, BACKUP_PORT, BACKUP_SSHKEY, BACKUP_KNOWN_HOSTS):
#
#   cargo build --release -p zsync -p zsync-lab --example with_backup_host
#   cargo xtask lab run -- env BENCH_REMOTE=1 ZSYNC_BIN=$PWD/target/release/zsync \
#       $PWD/target/release/examples/with_backup_host bash $PWD/bench/sync-vs-syncoid.sh
#
# Both tools get the same SSH identity, port and known_hosts through the flags they share
# (--sshkey, --sshport, -o; syncoid 2.1 has no --sshconfig). The backup host is in the same VM,
# so the pool is the same one and the targets are checked with a local `zfs list`.
set -euo pipefail

children=${BENCH_CHILDREN:-50}
rounds=${BENCH_ROUNDS:-1}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
if [[ -z ${ZSYNC_BIN:-} ]]; then
    for b in "$repo/target/release/zsync" "$repo/target/debug/zsync"; do
        if [[ -x $b ]]; then ZSYNC_BIN=$b; break; fi
    done
fi
[[ -x ${ZSYNC_BIN:-} ]] || { echo "bench: no zsync binary (set ZSYNC_BIN)" >&2; exit 2; }
syncoid=$(command -v syncoid || true)
[[ -n $syncoid ]] || { echo "bench: syncoid not found (apt-get install sanoid on the host)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "bench: needs root (run it with cargo xtask lab run)" >&2; exit 2; }

workdir=${ZSYNC_LAB_DIR:-/tmp}
pool=zbench$$
img=$workdir/$pool.img
log=$workdir/$pool.log
cleanup() {
    zpool destroy -f "$pool" 2>/dev/null || true
    rm -f "$img"
}
trap cleanup EXIT
truncate -s 256M "$img"
zpool create -o cachefile=none -m "$workdir/mnt/$pool" "$pool" "$img"

src=$pool/src
zdst=$pool/zsync/src
sdst=$pool/syncoid/src
# The target arguments, and the SSH flags both tools take (none for a local run).
zarg=$zdst
sarg=$sdst
ssh_flags=()
if [[ ${BENCH_REMOTE:-0} == 1 ]]; then
    for v in BACKUP_HOST BACKUP_PORT BACKUP_SSHKEY BACKUP_KNOWN_HOSTS; do
        [[ -n ${!v:-} ]] || { echo "bench: BENCH_REMOTE=1 needs $v (run under with_backup_host)" >&2; exit 2; }
    done
    zarg=root@$BACKUP_HOST:$zdst
    sarg=root@$BACKUP_HOST:$sdst
    ssh_flags=(--sshkey="$BACKUP_SSHKEY" --sshport="$BACKUP_PORT"
        --sshoption=UserKnownHostsFile="$BACKUP_KNOWN_HOSTS" --sshoption=StrictHostKeyChecking=yes
        --sshoption=BatchMode=yes)
fi
zfs create "$src"
zfs create "$pool/zsync"
zfs create "$pool/syncoid"
for i in $(seq -w 1 "$children"); do
    zfs create "$src/c$i"
    echo "child $i base" > "$workdir/mnt/$pool/src/c$i/file"
done
zfs snapshot -r "$src@base"

zsync_sync() {
    "$ZSYNC_BIN" sync -r --no-sync-snap --recvoptions=u "${ssh_flags[@]}" "$src" "$zarg" >>"$log" 2>&1
}
syncoid_sync() {
    "$syncoid" -r --no-sync-snap --no-privilege-elevation --recvoptions=u --quiet "${ssh_flags[@]}" "$src" "$sarg" >>"$log" 2>&1
}
now() { date +%s.%N; }
timed() { # timed NAME CMD: prints seconds to stdout
    local t0 t1
    # Both tools start from a quiet pool: the previous run's receives leave work for the next txgs
    # (freeing the temporary receive clones) that would otherwise land on whoever runs second.
    zpool sync "$pool"
    sleep 2
    t0=$(now)
    if ! "$2"; then echo "bench: $1 failed; log:" >&2; tail -n 40 "$log" >&2; exit 1; fi
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

echo "bench: zsync $("$ZSYNC_BIN" version 2>&1 | head -n1) ($ZSYNC_BIN)"
echo "bench: syncoid $("$syncoid" --version 2>&1 | head -n1 || true)"
echo "bench: $(zfs version 2>/dev/null | head -n1), $(nproc) CPUs, $children children + parent"
echo "bench: targets $zarg, $sarg"
zt=$(timed zsync zsync_sync)
st=$(timed syncoid syncoid_sync)
echo "bench: initial full sync: zsync $zt s, syncoid $st s"

ztotal=0
stotal=0
for r in $(seq 1 "$rounds"); do
    for i in $(seq -w 1 "$children"); do
        echo "child $i round $r" >> "$workdir/mnt/$pool/src/c$i/file"
    done
    zfs snapshot -r "$src@inc$r"
    if (( r % 2 == 1 )); then
        zt=$(timed zsync zsync_sync); st=$(timed syncoid syncoid_sync)
    else
        st=$(timed syncoid syncoid_sync); zt=$(timed zsync zsync_sync)
    fi
    echo "bench: round $r incremental ($((children + 1)) datasets, 1 new snapshot each): zsync $zt s, syncoid $st s, ratio $(awk -v z="$zt" -v s="$st" 'BEGIN { printf "%.3f", z / s }')"
    ztotal=$(awk -v a="$ztotal" -v b="$zt" 'BEGIN { print a + b }')
    stotal=$(awk -v a="$stotal" -v b="$st" 'BEGIN { print a + b }')
done

# Both targets must now hold every source snapshot with the source's GUIDs.
snaps() { zfs list -Hp -t snapshot -o name,guid -r "$1" | sed "s|^$1||" | sort; }
want=$(snaps "$src")
for t in "$zdst" "$sdst"; do
    got=$(snaps "$t" | grep -v '@syncoid_' || true)
    if [[ $got != "$want" ]]; then
        echo "bench: $t does not match the source:" >&2
        diff <(echo "$want") <(echo "$got") >&2 || true
        exit 1
    fi
done
echo "bench: both targets verified ($(echo "$want" | wc -l) snapshots, GUIDs equal)"
awk -v z="$ztotal" -v s="$stotal" 'BEGIN {
    printf "bench: RESULT incremental: zsync %.3f s, syncoid %.3f s, zsync/syncoid = %.3f (%.1fx faster); target <= 0.100\n",
        z, s, z / s, s / z
}'
