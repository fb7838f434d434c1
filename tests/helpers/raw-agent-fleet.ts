/**
 * A fleet of raw agents that behave like well-mannered hosts: each answers runTask by reporting
 * the task RUNNING and stopTask by reporting it STOPPED, at once. The fleet keeps its own account
 * of what exists, so a test can check bounds from the hosts' side: `live` (tasks given and not yet
 * reported STOPPED) and when each started, sampled at every frame the control plane sends. After a
 * control-plane restart, `reconnect` brings every host back as the same instance, its hello
 * carrying the tasks it holds. `failStarts` makes chosen tasks fail as a container that exits at
 * once does: reported STOPPED straight from PENDING, never RUNNING.
 */
import type { DesiredTask, ObservedTask } from '../../protocol/agent-protocol';
import { connectRawAgent, helloFrame, type RawAgent } from './raw-agent';

export interface FleetTask {
  taskArn: string;
  family: string;
  revision: number;
  instanceArn: string;
  startedAtMs: number;
}

interface FleetHost {
  agent: RawAgent;
  instanceArn: string;
  credential: string;
  report(task: FleetTask, lastStatus: 'RUNNING' | 'STOPPED', healthStatus?: 'HEALTHY' | 'UNHEALTHY'): void;
}

export interface RawAgentFleet {
  hosts: FleetHost[];
  /** Tasks given to the fleet and not yet reported STOPPED. */
  live: Map<string, FleetTask>;
  /** Called for every runTask or stopTask the fleet handles (before it reports). */
  onChange(listener: (event: 'run' | 'stop', task: FleetTask) => void): void;
  /** How often each task was started on the fleet (a task started again after it stopped counts twice). */
  runCount: Map<string, number>;
  close(): void;
  /** Reports a live task's container with this health verdict, as an agent's health check would. */
  reportHealth(taskArn: string, healthStatus: 'HEALTHY' | 'UNHEALTHY'): void;
  /** Connects every host again (to a restarted control plane) with its own credential. */
  reconnect(endpoint: string): Promise<void>;
  /** Cuts one host's socket; its tasks keep running on it (they stay in `live`). */
  disconnectHost(index: number): void;
  /** Connects one host again with its own credential, its hello carrying the tasks it holds. */
  reconnectHost(index: number, endpoint: string): Promise<void>;
  /** Tasks this picks are reported STOPPED (exit code 1, no start time) as soon as they are given; undefined: none. */
  failStarts(pick: ((task: DesiredTask) => boolean) | undefined): void;
  /** Tasks that were reported STOPPED without ever running, in order, with when the fleet was given them. */
  failedStarts: { taskArn: string; family: string; revision: number; atMs: number }[];
}

export interface FleetOptions {
  /**
   * How long a host takes to stop a task (as `docker stop` takes a while): the task stays live
   * until then. 0, the default, stops at once.
   */
  stopDelayMs?: number;
  /** The image digest the hosts report for a task's containers once it runs (none when unset). */
  imageDigest?: (task: Pick<FleetTask, 'family' | 'revision'>) => string;
}

export async function startRawAgentFleet(
  endpoint: string,
  cluster: string,
  mintToken: () => Promise<string>,
  size: number,
  options: FleetOptions = {},
): Promise<RawAgentFleet> {
  const stopping = new Set<string>();
  const live = new Map<string, FleetTask>();
  const runCount = new Map<string, number>();
  const listeners: ((event: 'run' | 'stop', task: FleetTask) => void)[] = [];
  const seqOf = new Map<string, number>();
  let failing: ((task: DesiredTask) => boolean) | undefined;
  const failedStarts: RawAgentFleet['failedStarts'] = [];

  const observed = (task: FleetTask, lastStatus: 'RUNNING' | 'STOPPED'): ObservedTask => ({
    taskArn: task.taskArn,
    generation: lastStatus === 'STOPPED' ? 2 : 1,
    lastStatus,
    startedAtMs: task.startedAtMs,
    containers: [
      lastStatus === 'STOPPED'
        ? { name: 'main', lastStatus: 'STOPPED', exitCode: 0 }
        : { name: 'main', lastStatus: 'RUNNING', imageDigest: options.imageDigest?.(task) },
    ],
  });

  async function connectHost(index: number, url: string, token: string): Promise<FleetHost> {
    const agent = await connectRawAgent(url, cluster, token);
    let instanceArn = '';
    const report = (
      task: FleetTask,
      lastStatus: 'RUNNING' | 'STOPPED',
      healthStatus?: 'HEALTHY' | 'UNHEALTHY',
    ) => {
      const seq = (seqOf.get(task.taskArn) ?? 0) + 1;
      seqOf.set(task.taskArn, seq);
      const state = observed(task, lastStatus);
      if (healthStatus) state.containers = state.containers.map((c) => ({ ...c, healthStatus }));
      agent.send({ type: 'taskState', seq, task: state });
    };
    const run = (desired: DesiredTask) => {
      if (live.has(desired.taskArn)) return;
      runCount.set(desired.taskArn, (runCount.get(desired.taskArn) ?? 0) + 1);
      if (failing?.(desired)) {
        failedStarts.push({
          taskArn: desired.taskArn,
          family: desired.family,
          revision: desired.revision,
          atMs: Date.now(),
        });
        const seq = (seqOf.get(desired.taskArn) ?? 0) + 1;
        seqOf.set(desired.taskArn, seq);
        agent.send({
          type: 'taskState',
          seq,
          task: {
            taskArn: desired.taskArn,
            generation: 1,
            lastStatus: 'STOPPED',
            containers: [{ name: 'main', lastStatus: 'STOPPED', exitCode: 1 }],
          },
        });
        return;
      }
      const task: FleetTask = {
        taskArn: desired.taskArn,
        family: desired.family,
        revision: desired.revision,
        instanceArn,
        startedAtMs: Date.now(),
      };
      live.set(task.taskArn, task);
      for (const listener of listeners) listener('run', task);
      report(task, 'RUNNING');
    };
    const finishStop = (task: FleetTask) => {
      stopping.delete(task.taskArn);
      for (const listener of listeners) listener('stop', task);
      live.delete(task.taskArn);
      report(task, 'STOPPED');
    };
    const stop = (task: FleetTask) => {
      if (!options.stopDelayMs) return finishStop(task);
      if (stopping.has(task.taskArn)) return;
      stopping.add(task.taskArn);
      setTimeout(() => finishStop(task), options.stopDelayMs);
    };
    agent.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string } & Record<string, unknown>;
      if (frame.type === 'welcome') {
        instanceArn = frame.containerInstanceArn as string;
        // Reconcile as a real agent does: start what it should run and doesn't, and report as
        // STOPPED what it should stop and no longer has (a stop it carried out while away).
        for (const desired of frame.desiredTasks as DesiredTask[]) {
          const held = live.get(desired.taskArn);
          if (desired.desiredStatus === 'RUNNING') run(desired);
          else if (held) stop(held);
          else report({ ...desired, instanceArn, startedAtMs: Date.now() }, 'STOPPED');
        }
      }
      if (frame.type === 'runTask') {
        agent.send({ type: 'ack', messageId: frame.messageId as string });
        run(frame.task as DesiredTask);
      }
      if (frame.type === 'stopTask') {
        agent.send({ type: 'ack', messageId: frame.messageId as string });
        const task = live.get(frame.taskArn as string);
        if (task) stop(task);
      }
    });
    const held = [...live.values()].filter(
      (t) => t.instanceArn && t.instanceArn === hosts[index]?.instanceArn,
    );
    // The hello snapshot counts as a report, as the real agent counts it: seq moves.
    for (const t of held) seqOf.set(t.taskArn, (seqOf.get(t.taskArn) ?? 0) + 1);
    agent.send(helloFrame({ hostname: `fleet-${index}`, tasks: held.map((t) => observed(t, 'RUNNING')) }));
    const welcome = await agent.waitForFrame('welcome');
    return {
      agent,
      instanceArn: welcome.containerInstanceArn,
      credential: welcome.instanceCredential ?? token,
      report,
    };
  }

  const hosts: FleetHost[] = [];
  for (let i = 0; i < size; i += 1) hosts.push(await connectHost(i, endpoint, await mintToken()));
  return {
    hosts,
    live,
    runCount,
    failedStarts,
    failStarts: (pick) => {
      failing = pick;
    },
    onChange: (listener) => listeners.push(listener),
    reportHealth: (taskArn, healthStatus) => {
      const task = live.get(taskArn);
      const host = hosts.find((h) => h.instanceArn === task?.instanceArn);
      if (!task || !host) throw new Error(`no live task ${taskArn} on the fleet`);
      host.report(task, 'RUNNING', healthStatus);
    },
    close: () => {
      for (const host of hosts) host.agent.close();
    },
    disconnectHost: (index) => hosts[index].agent.close(),
    reconnectHost: async (index, url) => {
      hosts[index] = await connectHost(index, url, hosts[index].credential);
    },
    reconnect: async (url) => {
      for (let i = 0; i < hosts.length; i += 1) {
        hosts[i].agent.close();
        hosts[i] = await connectHost(i, url, hosts[i].credential);
      }
    },
  };
}
