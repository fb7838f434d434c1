/**
 * A fleet of raw agents that behave like well-mannered hosts: each answers runTask by reporting
 * the task RUNNING and stopTask by reporting it STOPPED, at once. The fleet keeps its own account
 * of what exists, so a test can check bounds from the hosts' side: `live` (tasks given and not yet
 * reported STOPPED) and when each started, sampled at every frame the control plane sends.
 */
import { connectRawAgent, helloFrame, type RawAgent } from './raw-agent';

export interface FleetTask {
  taskArn: string;
  family: string;
  revision: number;
  instanceArn: string;
  startedAtMs: number;
}

export interface RawAgentFleet {
  hosts: { agent: RawAgent; instanceArn: string }[];
  /** Tasks given to the fleet and not yet reported STOPPED. */
  live: Map<string, FleetTask>;
  /** Called after every runTask or stopTask the fleet handled (before it reports). */
  onChange(listener: (event: 'run' | 'stop', task: FleetTask) => void): void;
  close(): void;
}

export async function startRawAgentFleet(
  endpoint: string,
  cluster: string,
  mintToken: () => Promise<string>,
  size: number,
): Promise<RawAgentFleet> {
  const live = new Map<string, FleetTask>();
  const listeners: ((event: 'run' | 'stop', task: FleetTask) => void)[] = [];
  const hosts: RawAgentFleet['hosts'] = [];
  for (let i = 0; i < size; i += 1) {
    const agent = await connectRawAgent(endpoint, cluster, await mintToken());
    let instanceArn = '';
    const seqOf = new Map<string, number>();
    const report = (taskArn: string, lastStatus: 'RUNNING' | 'STOPPED', startedAtMs: number) => {
      const seq = (seqOf.get(taskArn) ?? 0) + 1;
      seqOf.set(taskArn, seq);
      agent.send({
        type: 'taskState',
        seq,
        task: {
          taskArn,
          generation: lastStatus === 'STOPPED' ? 2 : 1,
          lastStatus,
          startedAtMs,
          containers: [
            lastStatus === 'STOPPED'
              ? { name: 'main', lastStatus: 'STOPPED', exitCode: 0 }
              : { name: 'main', lastStatus: 'RUNNING' },
          ],
        },
      });
    };
    agent.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string } & Record<string, unknown>;
      if (frame.type === 'welcome') instanceArn = frame.containerInstanceArn as string;
      if (frame.type === 'runTask') {
        const desired = frame.task as { taskArn: string; family: string; revision: number };
        if (live.has(desired.taskArn)) return;
        const task: FleetTask = {
          taskArn: desired.taskArn,
          family: desired.family,
          revision: desired.revision,
          instanceArn,
          startedAtMs: Date.now(),
        };
        live.set(task.taskArn, task);
        for (const listener of listeners) listener('run', task);
        agent.send({ type: 'ack', messageId: frame.messageId as string });
        report(task.taskArn, 'RUNNING', task.startedAtMs);
      }
      if (frame.type === 'stopTask') {
        const task = live.get(frame.taskArn as string);
        agent.send({ type: 'ack', messageId: frame.messageId as string });
        if (!task) return;
        for (const listener of listeners) listener('stop', task);
        live.delete(task.taskArn);
        report(task.taskArn, 'STOPPED', task.startedAtMs);
      }
    });
    agent.send(helloFrame({ hostname: `fleet-${i}` }));
    const welcome = await agent.waitForFrame('welcome');
    hosts.push({ agent, instanceArn: welcome.containerInstanceArn });
  }
  return {
    hosts,
    live,
    onChange: (listener) => listeners.push(listener),
    close: () => {
      for (const host of hosts) host.agent.close();
    },
  };
}
