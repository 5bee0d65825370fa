#!/bin/sh
# Runs every CUnit suite of one build variant (default: the sanitizer build) from the
# repository root, so fixtures resolve as tests/fixtures/... Suites that read the shared
# data find it through NLPIPE_SHARED_DATA (default ../shared/data) and skip cleanly
# when it is absent. Exit status: non-zero if any suite failed.
set -u
builddir=${1:-build/asan}
cd "$(dirname "$0")/.."
: "${NLPIPE_SHARED_DATA:=$(pwd)/../shared/data}"
export NLPIPE_SHARED_DATA
export NLPIPE_BUILD_DIR="$builddir"
# the optimised build, for suites that score whole dev sets (test-bundled-heads)
export NLPIPE_RELEASE_DIR="${NLPIPE_RELEASE_DIR:-build}"
# Leak reports stay on; halt on the first UBSan finding so it cannot scroll past.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# A GLib critical is a bug (a NULL where a value was due): make it fail the suite.
export G_DEBUG="${G_DEBUG:-fatal-criticals}"
failed=0; ran=0
for t in "$builddir"/tests/test-*; do
  [ -x "$t" ] || continue
  case "$t" in *.o|*.d) continue;; esac
  ran=$((ran + 1))
  echo "== $(basename "$t")"
  if ! "$t"; then
    echo "FAILED: $t"; failed=$((failed + 1))
  fi
done
echo "== $ran suites, $failed failed"
[ "$ran" -gt 0 ] && [ "$failed" -eq 0 ]
