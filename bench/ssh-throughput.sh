#!/usr/bin/env bash
# 1 GiB pushed into a remote `cat > /dev/null` and pulled from a remote `head -c 1G /dev/zero`,
# through zfs-ssh's data paths (ssh2 channels, and the OpenSSH master) against a plain
# `ssh host cat`, on a private loopback sshd. Prints MiB/s and client CPU-s/GiB per path and run.
# Runs on the host as root (it starts its own sshd; the host's sshd is off by design):
#
#   cargo build --release -p zfs-ssh --example throughput
#   bench/ssh-throughput.sh [MIB] [RUNS]          # default 1024 3
#
# The sshd listens on 127.0.0.1 on a free port, with a host key and a client key generated into a
# temporary directory (removed at exit, with sshd). THROUGHPUT_BIN overrides the example's path.
#
# zfs-ssh's connect() checks that the remote `zfs version` answers, and the build host has no ZFS
# module loaded (OpenZFS lives in the lab VM). Unless the host's own `zfs version` works, the
# sessions' PATH starts with a directory holding a `zfs` that answers `version` and refuses
# everything else: only that probe sees it; the measured commands are `cat` and `head`.
set -euo pipefail

mib=${1:-1024}
runs=${2:-3}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
bin=${THROUGHPUT_BIN:-$repo/target/release/examples/throughput}
[[ -x $bin ]] || { echo "bench: no $bin (cargo build --release -p zfs-ssh --example throughput)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "bench: needs root (it starts a private sshd)" >&2; exit 2; }
[[ -x /usr/sbin/sshd ]] || { echo "bench: /usr/sbin/sshd not found (openssh-server)" >&2; exit 2; }

dir=$(mktemp -d /tmp/zsync-ssh-bench.XXXXXX)
sshd_pid=
cleanup() {
    if [[ -n $sshd_pid ]]; then kill "$sshd_pid" 2>/dev/null || true; wait "$sshd_pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N '' -C zsync-bench-host -f "$dir/host_key"
ssh-keygen -q -t ed25519 -N '' -C zsync-bench-client -f "$dir/id_ed25519"
cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")" > "$dir/known_hosts"
session_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if ! zfs version >/dev/null 2>&1; then
    mkdir -p "$dir/bin"
    printf '%s\n' '#!/bin/sh' \
        '[ "$*" = version ] && { echo "zfs-bench-probe (no ZFS on this host)"; exit 0; }' \
        'echo "zfs: not available on this bench host" >&2; exit 1' > "$dir/bin/zfs"
    chmod 755 "$dir/bin/zfs"
    session_path=$dir/bin:$session_path
fi
cat > "$dir/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv PATH=$session_path
EOF
mkdir -p /run/sshd
/usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" &
sshd_pid=$!
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
done

echo "bench: $(ssh -V 2>&1), $(nproc) CPUs, $(uptime | sed 's/.*load/load/')"
echo "bench: $mib MiB per transfer, $runs runs, sshd on 127.0.0.1:$port"
for r in $(seq 1 "$runs"); do
    echo "bench: run $r"
    "$bin" "root@127.0.0.1:$port" --key "$dir/id_ed25519" --known-hosts "$dir/known_hosts" --mib "$mib" |
        tee -a "$dir/rows"
done

# Medians over the runs, per path (rows "| path | MiB/s | CPU-s/GiB |").
echo "bench: medians of $runs runs"
echo "| path | MiB/s | client CPU-s/GiB |"
echo "|---|---|---|"
grep -E '^\| (zsync|plain)' "$dir/rows" | awk -F'|' '{ gsub(/^ +| +$/, "", $2); print $2 "|" $3 "|" $4 }' |
    awk -F'|' '
    function median(list,    n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { if (!($1 in mibs)) order[++k] = $1; mibs[$1] = mibs[$1] " " $2; cpus[$1] = cpus[$1] " " $3 }
    END { for (i = 1; i <= k; i++) printf "| %s | %.0f | %.2f |\n", order[i], median(mibs[order[i]]), median(cpus[order[i]]) }'
