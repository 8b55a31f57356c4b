#!/usr/bin/env bash
# Build the profile-reader fuzz target in build-fuzz/ and run it for a
# bounded time; exits non-zero on any finding.
#
#   FUZZ_SECONDS=30   how long to fuzz (default 30)
#   FUZZ_CC=clang     compiler; default clang when installed (libFuzzer),
#                     else cc (the replay/mutation driver)
#   FUZZ_BUILD=dir    build directory (default build-fuzz)
#
# Seeds: fuzz/corpus/ (committed) plus fresh ones from make_seeds; the
# working corpus lives in fuzz/corpus-work/ (ignored by git) so libFuzzer's
# additions never touch the committed seeds. Failing inputs are written to
# the build directory (crash-*, leak-*, timeout-*; crash-replay-* from the
# replay driver); replay one with: build-fuzz/fuzz/fuzz_reader FILE
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
build=${FUZZ_BUILD:-build-fuzz}
if [ -n "${FUZZ_CC:-}" ]; then
    compiler=$FUZZ_CC
elif command -v clang >/dev/null 2>&1; then
    compiler=clang
else
    compiler=cc
fi
meson=$(command -v meson || true)
if [ -z "$meson" ]; then
    echo "fuzz/run.sh: meson not found on PATH" >&2
    exit 2
fi

rm -rf "$build"
CC=$compiler "$meson" setup "$build" -Dpython=false -Dfuzz=true -Db_lto=false \
    -Dbuildtype=debugoptimized >"$build.setup.log" 2>&1 || {
    cat "$build.setup.log" >&2
    exit 2
}
mv "$build.setup.log" "$build/setup.log"
if ! "$meson" compile -C "$build" fuzz/fuzz_reader fuzz/make_seeds >"$build/compile.log" 2>&1; then
    cat "$build/compile.log" >&2
    exit 2
fi
grep -i "warning" "$build/compile.log" >&2 || true

work=fuzz/corpus-work
mkdir -p "$work"
cp fuzz/corpus/* "$work/"
"$build/fuzz/make_seeds" "$work"

# A huge allocation must be a finding, not a NULL the reader turns into
# PG_ERR_NOMEM: keep ASan's default allocator_may_return_null=0.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$meson" introspect "$build" --compilers >"$build/compilers.json"
if grep -q '"id": "clang"' "$build/compilers.json"; then
    echo "fuzz/run.sh: libFuzzer ($compiler), ${seconds}s"
    "$build/fuzz/fuzz_reader" -max_total_time="$seconds" -timeout=10 \
        -dict=fuzz/profile.dict -print_final_stats=1 \
        -artifact_prefix="$build/" "$work"
else
    echo "fuzz/run.sh: replay/mutation driver ($compiler), ${seconds}s"
    "$build/fuzz/fuzz_reader" -max_total_time="$seconds" -artifact_prefix="$build/" "$work"
fi
