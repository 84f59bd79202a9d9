#!/usr/bin/env bash
# Throughput of zfs-stream's pipe vs the usual helper tools, as ratios measured
# in the same run (N runs each, the two sides of a row interleaved; ratio of
# the bests and of the medians, and the spread), plus peak RSS of the buffer
# stages.
#
#   bench/stream-compare.sh [SIZE] [RUNS]      # default 1G, 3 runs
#
# Needs: cat, mbuffer, zstd, lz4, /usr/bin/time (skips a row whose tool is missing).
# ZPIPE_ROWS=inspect,lz4 (comma list of: copy, inspect, zstd, lz4) runs only those groups.
# The inspect group also prints zpipe's own CPU time per configuration.
# Data: a synthetic send stream (random blocks for the copy rows, text-like
# blocks for the compression rows), written to a temp dir first.
set -euo pipefail
export LC_ALL=C
size="${1:-1G}"
runs="${2:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo build --quiet --release -p zfs-stream --features encode --example zpipe
Z="$root/target/release/examples/zpipe"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
"$Z" --gen "$size" > "$dir/rand.zs"
"$Z" --gen "$size" --compressible > "$dir/text.zs"
bytes=$(stat -c %s "$dir/rand.zs")

# wall time in ms of one run of a bash snippet
once() {
    local s e
    s=$(date +%s%N)
    bash -c "$1" > /dev/null 2>&1
    e=$(date +%s%N)
    echo $(( (e - s) / 1000000 ))
}
# N runs of two snippets, interleaved (A B A B ...) so that load changes on a
# shared machine hit both alike; prints "bestA bestB medA medB minA-maxA minB-maxB"
pair() {
    local ta=() tb=()
    for _ in $(seq "$runs"); do
        ta+=("$(once "$1")")
        tb+=("$(once "$2")")
    done
    python3 - "${ta[*]}" "${tb[*]}" <<'PY'
import statistics, sys
a = [int(x) for x in sys.argv[1].split()]
b = [int(x) for x in sys.argv[2].split()]
print(min(a), min(b), int(statistics.median(a)), int(statistics.median(b)),
      f"{min(a)}-{max(a)}", f"{min(b)}-{max(b)}")
PY
}
# row NAME OURS_CMD BASE_CMD BASE_NAME
cmp_row() {
    local r
    read -r -a r <<< "$(pair "$2" "$3")"
    row "$1" "${r[0]}" "${r[1]}" "$4"
    awk -v ma="${r[2]}" -v mb="${r[3]}" -v sa="${r[4]}" -v sb="${r[5]}" \
        'BEGIN { printf "    median ratio %.2fx; ms per run: ours %s, baseline %s\n", (ma > 0 ? mb / ma : 0), sa, sb }'
}
want() { [ -z "${ZPIPE_ROWS:-}" ] || [[ ",$ZPIPE_ROWS," == *",$1,"* ]]; }
rss() { /usr/bin/time -f %M bash -c "$1" 2>&1 >/dev/null | tail -n 1; }
have() { command -v "$1" > /dev/null 2>&1; }
mibs() { awk -v b="$bytes" -v ms="$1" 'BEGIN { printf "%.0f", (ms > 0 ? b / 1048576 / (ms / 1000) : 0) }'; }
row() { # name ours_ms base_ms baseline_name
    awk -v n="$1" -v o="$2" -v b="$3" -v bn="$4" -v ob="$(mibs "$2")" -v bb="$(mibs "$3")" \
        'BEGIN { printf "%-34s %8d ms %7s MiB/s | %-26s %8d ms %7s MiB/s | ratio %.2fx\n", n, o, ob, bn, b, bb, (o > 0 ? b / o : 0) }'
}

# zpipe's own CPU time (user+sys ms, median of 3) between two cat pipes: far
# less sensitive to other load than wall time; args are zpipe's options
cpu_of() {
    local t=()
    for _ in 1 2 3; do
        cat "$R" | "$Z" "$@" 2> "$dir/err" | cat > /dev/null
        t+=("$(sed -n 's/.*cpu_user_ms=\([0-9]*\) cpu_sys_ms=\([0-9]*\).*/\1 \2/p' "$dir/err" | awk '{print $1 + $2}')")
    done
    printf '%s\n' "${t[@]}" | sort -n | sed -n 2p
}

R="$dir/rand.zs"
T="$dir/text.zs"
trap 'rm -rf "$dir"; echo "load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"' EXIT
echo "zfs-stream compare: $bytes bytes per run, $runs interleaved runs (ratio of bests, then of medians), $(nproc) cores, $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"

if want copy; then
cmp_row "splice file->pipe->/dev/null" "$Z --quiet < $R > /dev/null" "cat $R | cat > /dev/null" "cat | cat"
cmp_row "splice file->pipe->cat" "$Z --quiet < $R | cat > /dev/null" "cat $R | cat | cat > /dev/null" "cat | cat | cat"
if have mbuffer; then
    cmp_row "buffer 64M" "$Z --quiet --buffer 64M < $R > /dev/null" "mbuffer -q -m 64M -i $R -o /dev/null" "mbuffer -m 64M"
    echo "  peak RSS KiB: ours $(rss "$Z --quiet --buffer 64M < $R > /dev/null"), mbuffer $(rss "mbuffer -q -m 64M -i $R -o /dev/null")"
    cmp_row "buffer 64M between pipes" "cat $R | $Z --quiet --buffer 64M | cat > /dev/null" "cat $R | mbuffer -q -m 64M | cat > /dev/null" "mbuffer -m 64M"
    echo "  peak RSS KiB: ours $(rss "cat $R | $Z --quiet --buffer 64M | cat > /dev/null"), mbuffer $(rss "cat $R | mbuffer -q -m 64M | cat > /dev/null")"
fi
fi
if want inspect; then
cmp_row "splice + inspect (tee), ->/dev/null" "$Z --quiet --inspect < $R > /dev/null" "$Z --quiet < $R > /dev/null" "splice, no inspect"
cmp_row "  same between pipes" "cat $R | $Z --quiet --inspect | cat > /dev/null" "cat $R | $Z --quiet | cat > /dev/null" "splice, no inspect"
cmp_row "  same vs buffered plain" "cat $R | $Z --quiet --inspect | cat > /dev/null" "cat $R | $Z --quiet --buffer 64M | cat > /dev/null" "buffer 64M, no inspect"
cmp_row "buffer 64M + inspect (fletcher-4)" "$Z --quiet --buffer 64M --inspect < $R > /dev/null" "$Z --quiet --buffer 64M < $R > /dev/null" "buffer 64M, no inspect"
cmp_row "  same between pipes" "cat $R | $Z --quiet --buffer 64M --inspect | cat > /dev/null" "cat $R | $Z --quiet --buffer 64M | cat > /dev/null" "buffer 64M, no inspect"
echo "  zpipe's own CPU ms between pipes (median of 3): splice $(cpu_of), splice + inspect $(cpu_of --inspect), buffer $(cpu_of --buffer 64M), buffer + inspect $(cpu_of --buffer 64M --inspect)"
fi

bytes=$(stat -c %s "$T")
if want zstd && have zstd; then
    cmp_row "zstd -1 compress" "$Z --quiet --compress zstd-1 < $T > /dev/null" "zstd -q -1 -c $T > /dev/null" "zstd -1 -c"
    cmp_row "zstd -1 compress + inspect" "$Z --quiet --compress zstd-1 --inspect < $T > /dev/null" "zstd -q -1 -c $T > /dev/null" "zstd -1 -c"
fi
if want lz4 && have lz4; then
    cmp_row "lz4 compress" "$Z --quiet --compress lz4 < $T > /dev/null" "lz4 -q -1 -c $T > /dev/null" "lz4 -1 -c"
    if "$Z" --quiet --compress lz4 < "$T" | lz4 -d -c | cmp -s - "$T"; then
        echo "  lz4 -d decodes our frame: identical"
    else
        echo "  lz4 -d decodes our frame: MISMATCH"
    fi
fi
