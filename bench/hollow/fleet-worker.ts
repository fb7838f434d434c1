/**
 * A load-generator process of hollow hosts: the real agent (`startAgent`), each with its own state
 * directory and its own WebSocket, running tasks in a simulated runtime. Driven over IPC by
 * bench/hollow/fleet.ts; run as `node --import tsx bench/hollow/fleet-worker.ts`.
 */
import { join } from 'node:path';
import { type RunningAgent, startAgent } from '../../agent';
import { SimulatedRuntime } from '../../agent/runtime/simulated-runtime';
import type { FleetStart, LoadCommand, LoadReport } from './fleet-messages';

const READY_POLL_MS = 100;
const NOTABLE_LOG_LIMIT = 20;
const NOTABLE = /fail|error|retrying|silent|rejected|could not/i;

const agents: RunningAgent[] = [];
const runtimes: SimulatedRuntime[] = [];
const notableLogs: string[] = [];

function log(line: string) {
  if (notableLogs.length < NOTABLE_LOG_LIMIT && NOTABLE.test(line)) notableLogs.push(line);
}

function report(type: LoadReport['type'], error?: string, then?: () => void): void {
  const usage = process.cpuUsage();
  const message: LoadReport = {
    type,
    connected: agents.filter((a) => a.connected()).length,
    runningContainers: runtimes.reduce((sum, r) => sum + r.runningCount(), 0),
    cpuMs: (usage.user + usage.system) / 1000,
    rssMiB: process.memoryUsage.rss() / (1024 * 1024),
    notableLogs,
    error,
  };
  process.send?.(message, undefined, {}, () => then?.());
}

async function start(command: FleetStart) {
  for (let i = 0; i < command.hosts; i++) {
    const hostIndex = command.firstHostIndex + i;
    const runtime = new SimulatedRuntime({ startDelayMs: command.startDelayMs });
    runtimes.push(runtime);
    agents.push(
      await startAgent({
        endpoint: command.endpoint,
        cluster: command.cluster,
        joinToken: command.joinToken,
        attributes: [{ name: 'hollow.host', value: String(hostIndex) }],
        cpu: command.cpu,
        memoryMiB: command.memoryMiB,
        stateDir: join(command.stateRoot, `host-${hostIndex}`),
        runtime,
        log,
      }),
    );
  }
  const poll = setInterval(() => {
    if (agents.every((a) => a.connected())) {
      clearInterval(poll);
      report('ready');
    }
  }, READY_POLL_MS);
}

async function stop() {
  await Promise.all(agents.map((a) => a.stop()));
  // Exits once the report is handed over: nothing else is left to do, and a stray handle must not keep us.
  report('stopped', undefined, () => process.exit(0));
}

process.on('message', (command: LoadCommand) => {
  const run = command.type === 'start' ? start(command as FleetStart) : stop();
  run.catch((error: unknown) => {
    report('failed', error instanceof Error ? error.stack : String(error));
    process.exit(1);
  });
});
