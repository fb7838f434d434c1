/**
 * `npm run bench -- <scenario> [--duration-ms N]`: runs one benchmark scenario (or `all`), prints
 * a table, and writes bench/results/<scenario>.json.
 */
import { runApiBenchmark } from './scenarios/api';
import { runExecBenchmark } from './scenarios/exec';
import { runFaninBenchmark } from './scenarios/fanin';
import { runHollowBenchmark } from './scenarios/hollow';
import { runLaunchBenchmark } from './scenarios/launch';
import { runPlacementBenchmark } from './scenarios/placement';
import { runRuntimesBenchmark } from './scenarios/runtimes';
import { runServicesBenchmark } from './scenarios/services';

type Scenario = (options: { durationMs?: number; samples?: number }) => Promise<unknown>;

export const SCENARIOS: Record<string, Scenario> = {
  launch: runLaunchBenchmark,
  runtimes: runRuntimesBenchmark,
  placement: runPlacementBenchmark,
  api: runApiBenchmark,
  hollow: runHollowBenchmark,
  fanin: runFaninBenchmark,
  services: runServicesBenchmark,
  exec: runExecBenchmark,
};

async function main(argv: string[]) {
  const [name = 'all', ...rest] = argv;
  const durationIndex = rest.indexOf('--duration-ms');
  const durationMs = durationIndex >= 0 ? Number(rest[durationIndex + 1]) : undefined;
  const names = name === 'all' ? Object.keys(SCENARIOS) : [name];
  for (const scenario of names) {
    const run = SCENARIOS[scenario];
    if (!run) {
      console.error(`unknown scenario '${scenario}'; known: ${Object.keys(SCENARIOS).join(', ')}, all`);
      process.exit(2);
    }
    const file = await run({ durationMs });
    console.log(`results: ${String(file)}`);
  }
}

await main(process.argv.slice(2));
