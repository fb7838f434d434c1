/**
 * A control plane (either runtime) with one real agent process, ready to time RunTask → RUNNING
 * as the agent reports it (the RUNNING event on the task-events stream).
 */
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import Docker from 'dockerode';
import { CONTAINER_LABELS } from '../protocol/agent-protocol';
import { spawnAgent } from '../tests/helpers/agent-process';
import type { TestCredentials } from '../tests/helpers/credentials';
import { TaskEventsClient } from './task-events-client';

export const LAUNCH_IMAGE = 'berth-test/busybox:latest';

export interface LaunchRig {
  /** Milliseconds from sending RunTask to the RUNNING event. */
  launchOnce(): Promise<number>;
  close(): Promise<void>;
}

export async function startLaunchRig(options: {
  endpoint: string;
  cluster: string;
  /** A key of the control plane (bench-credentials.ts). */
  credentials: TestCredentials;
  mintJoinToken(cluster: string): Promise<string>;
}): Promise<LaunchRig> {
  const { endpoint, cluster } = options;
  const ecs = new ECSClient({
    endpoint,
    region: 'us-east-1',
    credentials: options.credentials,
  });
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const agent = spawnAgent({ endpoint, cluster, joinToken: await options.mintJoinToken(cluster) });
  const events = await TaskEventsClient.connect(endpoint, cluster, options.credentials);
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'launch',
      containerDefinitions: [{ name: 'main', image: LAUNCH_IMAGE, memory: 32, command: ['sleep', '600'] }],
    }),
  );
  // The first RunTask can only succeed once the agent has registered.
  const deadline = Date.now() + 30_000;
  const launchOnce = async () => {
    const t0 = performance.now();
    const out = await ecs.send(new RunTaskCommand({ cluster, taskDefinition: 'launch' }));
    return (await events.waitFor(out.tasks![0].taskArn!, 'RUNNING')) - t0;
  };
  for (;;) {
    try {
      await launchOnce();
      break;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    launchOnce,
    close: async () => {
      events.close();
      await agent.kill();
      ecs.destroy();
      const docker = new Docker();
      const leftovers = await docker.listContainers({
        all: true,
        filters: { label: [CONTAINER_LABELS.cluster] },
      });
      for (const info of leftovers) {
        if (info.Labels[CONTAINER_LABELS.cluster] === cluster) {
          await docker.getContainer(info.Id).remove({ force: true });
        }
      }
    },
  };
}
