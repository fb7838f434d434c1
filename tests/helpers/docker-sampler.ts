/**
 * What Docker itself shows of a cluster's containers, read from one container list call (so each
 * sample is one consistent look), and a sampler that takes such a look every few tens of
 * milliseconds while a test drives a deployment. Health is Docker's own verdict: a running
 * container whose health check last passed is listed "Up … (healthy)".
 */
import { CONTAINER_LABELS } from '../../protocol/agent-protocol';
import { docker } from './docker';

export interface ContainerLook {
  id: string;
  taskArn: string;
  /** Docker's state: created, running, exited, … */
  state: string;
  healthy: boolean;
  labels: Record<string, string>;
}

export interface DockerSample {
  atMs: number;
  containers: ContainerLook[];
}

/** States in which a container occupies the host: created and not yet started ones count too. */
const LIVE_STATES = new Set(['created', 'running', 'restarting', 'paused']);

export const isLive = (c: ContainerLook) => LIVE_STATES.has(c.state);
export const isHealthy = (c: ContainerLook) => c.state === 'running' && c.healthy;

/** Every container the agents made for the cluster, exited ones included. */
export async function lookAtCluster(cluster: string): Promise<ContainerLook[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${CONTAINER_LABELS.cluster}=${cluster}`] },
  });
  return list.map((info) => ({
    id: info.Id,
    taskArn: info.Labels[CONTAINER_LABELS.taskArn],
    state: info.State,
    healthy: info.Status.includes('(healthy)'),
    labels: info.Labels,
  }));
}

export interface DockerSampler {
  readonly samples: readonly DockerSample[];
  /** Stops sampling after one last look; resolves with every sample taken. */
  stop(): Promise<DockerSample[]>;
}

/** Looks at the cluster's containers every `intervalMs` (plus the time a look takes) until stopped. */
export function sampleCluster(cluster: string, intervalMs = 50): DockerSampler {
  const samples: DockerSample[] = [];
  let sampling = true;
  const loop = (async () => {
    for (;;) {
      samples.push({ atMs: Date.now(), containers: await lookAtCluster(cluster) });
      if (!sampling) return;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    samples,
    stop: async () => {
      sampling = false;
      await loop;
      return samples;
    },
  };
}

/** The longest time between two consecutive samples: how long a violation could have gone unseen. */
export function longestGapMs(samples: readonly DockerSample[]): number {
  let gap = 0;
  for (let i = 1; i < samples.length; i++) gap = Math.max(gap, samples[i].atMs - samples[i - 1].atMs);
  return gap;
}

/** Removes every container of the cluster (a test cleans up only what its own cluster made). */
export async function removeClusterContainers(cluster: string): Promise<void> {
  const containers = await lookAtCluster(cluster);
  await Promise.all(
    containers.map((look) =>
      docker
        .getContainer(look.id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}
