#!/usr/bin/env bash
# Shows how CPython's datetime.now(timezone.utc) turns the system clock's nanoseconds into
# microseconds: it truncates (rounds towards negative infinity). A preloaded library fakes
# clock_gettime() to return 1795246930 s + NANOS ns.
# Usage: python-checks/now_truncation.sh [PYTHON]   (default ../.parity/venv/bin/python, from telemetry/)
set -euo pipefail
python=${1:-../.parity/venv/bin/python}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for nanos in 387012999 999999999 999; do
    cat > "$dir/fake.c" <<C
#define _GNU_SOURCE
#include <time.h>
int clock_gettime(clockid_t id, struct timespec *ts) {
    (void)id; ts->tv_sec = 1795246930; ts->tv_nsec = $nanos; return 0;
}
C
    cc -shared -fPIC -o "$dir/fake.so" "$dir/fake.c"
    printf '%9d ns -> ' "$nanos"
    LD_PRELOAD="$dir/fake.so" "$python" -c \
        'from datetime import datetime, timezone; print(datetime.now(timezone.utc).isoformat())'
done
