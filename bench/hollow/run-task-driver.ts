/**
 * Drives RunTask calls at a control plane: a fixed number of calls in flight (each answered call
 * sends the next), until the wanted number of tasks was asked for.
 */
import { type EcsTarget, ecsCall } from './control-plane-process';

export interface RunTaskLoadOptions {
  target: EcsTarget;
  cluster: string;
  taskDefinition: string;
  totalTasks: number;
  tasksPerCall: number;
  callsInFlight: number;
  /** No call is started after this long (the tasks asked for so far still count): a time budget. */
  maxIssueMs?: number;
}

export interface RunTaskLoad {
  /** Latency of every RunTask call, in milliseconds. */
  callLatencyMs: number[];
  /** Each placed task and when (epoch ms) the call that created it was sent. */
  sentAtMsByTask: Map<string, number>;
  /** Tasks the control plane could not place (RunTask failures). */
  unplaced: number;
  /** Calls that did not answer 200, with the first answer seen. */
  failedCalls: number;
  firstFailure?: string;
  /** True when the time budget ran out before every task was asked for. */
  stoppedByBudget: boolean;
}

export async function driveRunTasks(options: RunTaskLoadOptions): Promise<RunTaskLoad> {
  const load: RunTaskLoad = {
    callLatencyMs: [],
    sentAtMsByTask: new Map(),
    unplaced: 0,
    failedCalls: 0,
    stoppedByBudget: false,
  };
  const issueUntil = performance.now() + (options.maxIssueMs ?? Number.POSITIVE_INFINITY);
  let requested = 0;
  const caller = async () => {
    while (requested < options.totalTasks) {
      if (performance.now() > issueUntil) {
        load.stoppedByBudget = true;
        return;
      }
      const count = Math.min(options.tasksPerCall, options.totalTasks - requested);
      requested += count;
      const sentAtMs = Date.now();
      const t0 = performance.now();
      const response = await ecsCall(options.target, 'RunTask', {
        cluster: options.cluster,
        taskDefinition: options.taskDefinition,
        count,
      });
      load.callLatencyMs.push(performance.now() - t0);
      if (response.status !== 200) {
        load.failedCalls++;
        load.unplaced += count;
        load.firstFailure ??= `HTTP ${response.status}: ${response.body.slice(0, 300)}`;
        continue;
      }
      const out = JSON.parse(response.body) as { tasks: { taskArn: string }[]; failures: unknown[] };
      for (const task of out.tasks) load.sentAtMsByTask.set(task.taskArn, sentAtMs);
      load.unplaced += count - out.tasks.length;
      if (out.failures.length > 0) load.firstFailure ??= JSON.stringify(out.failures[0]);
    }
  };
  await Promise.all(Array.from({ length: options.callsInFlight }, caller));
  return load;
}
