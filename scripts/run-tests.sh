#!/usr/bin/env bash
# The project's test command (`npm test`): prepares Docker, the test images and the real clients the tests drive
# (scripts/ensure-test-tools.sh: aws cli v2, boto3, faketime, docker-registry), then runs the typecheck, the
# lint and vitest. Extra arguments go to vitest (`npm test -- tests/unit`).
#
# Always ends with exactly one line `N passed, N failed`, counting each vitest test, plus the typecheck and
# the lint and the Workers bundle as one check each; a test file that fails before its tests run, a vitest run that fails without
# a failing test (unhandled error, crash) and a failed environment setup each count as one failure.
# Exits non-zero when anything failed.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || {
  echo "0 passed, 1 failed"
  exit 1
}

passed=0
failed=0
work_dir=$(mktemp -d /tmp/berth-run-tests.XXXXXX)

print_summary_and_exit() {
  trap - EXIT INT TERM
  rm -rf "$work_dir"
  # A run cut short by a signal must not read as green.
  if [ "${interrupted:-false}" = true ] && [ "$failed" -eq 0 ]; then
    failed=1
  fi
  echo "$passed passed, $failed failed"
  if [ "$failed" -gt 0 ]; then
    exit 1
  fi
  exit 0
}
trap print_summary_and_exit EXIT
trap 'interrupted=true; echo "== interrupted" >&2; exit 130' INT TERM

step_started_at=0
start_step() {
  step_started_at=$SECONDS
  echo "== $1" >&2
}
end_step() {
  echo "== $1: $2 ($((SECONDS - step_started_at)) s)" >&2
}

# Counts a check as one pass or one failure by its exit status.
run_check() {
  local name="$1"
  shift
  start_step "$name"
  if "$@"; then
    passed=$((passed + 1))
    end_step "$name" passed
  else
    failed=$((failed + 1))
    end_step "$name" FAILED
  fi
}

start_step "environment"
if docker_ready_line=$(bash scripts/ensure-docker.sh) && echo "$docker_ready_line" &&
  bash scripts/build-test-images.sh && bash scripts/ensure-test-tools.sh; then
  # The engine ensure-docker found may not be the one DOCKER_HOST named; point the tests at the one that answers.
  docker_endpoint=${docker_ready_line##*(}
  export DOCKER_HOST=${docker_endpoint%)}
  end_step "environment" ready
else
  # Unit tests, typecheck and lint still say something useful without Docker, so keep going.
  failed=$((failed + 1))
  end_step "environment" "FAILED (tests that need Docker will fail too)"
fi

# `--no` keeps npx from fetching a tool from the registry when node_modules lacks it.
run_check typecheck npx --no -- tsc -p . --noEmit
run_check "typecheck (workers)" npx --no -- tsc -p worker/tsconfig.workers.json --noEmit
run_check lint npx --no -- biome check .
# The Worker must bundle for Cloudflare (offline: wrangler only bundles on --dry-run; no telemetry).
export WRANGLER_SEND_METRICS=false
bundle_dir=$(mktemp -d /tmp/berth-bundle.XXXXXX)
run_check "workers bundle (wrangler deploy --dry-run)" npx --no -- wrangler deploy --dry-run --outdir "$bundle_dir"
rm -rf "$bundle_dir"

vitest_json="$work_dir/vitest.json"
start_step vitest
npx --no -- vitest run --passWithNoTests --reporter=default --reporter=json --outputFile="$vitest_json" "$@"
vitest_status=$?

# Prints "<passed> <failed>" from vitest's JSON report.
count_vitest_results() {
  # shellcheck disable=SC2016 # the template literal is JavaScript, not shell
  node --input-type=module -e '
    import { readFileSync } from "node:fs";
    const report = JSON.parse(readFileSync(process.argv[1], "utf8"));
    // A file that failed to load or whose hooks failed has no failing test of its own; count the file once.
    const brokenFiles = (report.testResults ?? []).filter(
      (file) => file.status === "failed" && !(file.assertionResults ?? []).some((test) => test.status === "failed"),
    ).length;
    console.log(`${report.numPassedTests ?? 0} ${(report.numFailedTests ?? 0) + brokenFiles}`);
  ' "$1"
}

if [ -s "$vitest_json" ] && vitest_counts=$(count_vitest_results "$vitest_json"); then
  read -r vitest_passed vitest_failed <<<"$vitest_counts"
  # Unhandled errors fail the run without failing a test; they must still show in the count.
  if [ "$vitest_status" -ne 0 ] && [ "$vitest_failed" -eq 0 ]; then
    vitest_failed=1
  fi
  passed=$((passed + vitest_passed))
  failed=$((failed + vitest_failed))
  end_step vitest "$vitest_passed passed, $vitest_failed failed (exit $vitest_status)"
else
  failed=$((failed + 1))
  end_step vitest "FAILED without a JSON report (exit $vitest_status)"
fi
