/** ECS reads that the end-to-end tests share, and a watcher for the "never backwards" invariant. */
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  ListContainerInstancesCommand,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { expect } from 'vitest';
import { TASK_STATUSES } from '../../protocol/agent-protocol';
import { waitFor } from './wait';

/** The tasks, in the order asked for. */
export async function describeAll(ecs: ECSClient, cluster: string, arns: string[]): Promise<Task[]> {
  const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
  return arns.map((arn) => out.tasks!.find((t) => t.taskArn === arn)!);
}

export function waitForStatus(
  ecs: ECSClient,
  cluster: string,
  arns: string[],
  status: string,
  timeoutMs = 20_000,
) {
  return waitFor(
    `${arns.length} task(s) to be ${status}`,
    async () => {
      const tasks = await describeAll(ecs, cluster, arns);
      return tasks.every((t) => t.lastStatus === status) ? tasks : undefined;
    },
    timeoutMs,
  );
}

/** The first container instance's version: every hello bumps it, so it tells when an agent reconnected. */
export async function instanceVersion(ecs: ECSClient, cluster: string): Promise<number> {
  const list = await ecs.send(new ListContainerInstancesCommand({ cluster }));
  if (!list.containerInstanceArns?.length) return 0;
  const out = await ecs.send(
    new DescribeContainerInstancesCommand({ cluster, containerInstances: list.containerInstanceArns }),
  );
  return out.containerInstances![0].version!;
}

export function expectNeverBackwards(statuses: string[], what: string) {
  const ranks = statuses.map((s) => TASK_STATUSES.indexOf(s as (typeof TASK_STATUSES)[number]));
  expect(ranks, `${what}: ${statuses.join(' -> ')}`).toEqual([...ranks].sort((a, b) => a - b));
}

/**
 * Records every status the control plane shows for the tasks (`arns` is read on every poll, so tasks
 * can be added as they are created); the returned function stops and checks none moved backwards.
 */
export function statusWatcher(ecs: ECSClient, cluster: string, arns: () => string[]) {
  const history = new Map<string, string[]>();
  let watching = true;
  const loop = (async () => {
    while (watching) {
      const current = arns();
      if (current.length > 0) {
        for (const task of await describeAll(ecs, cluster, current).catch(() => [])) {
          if (!task) continue;
          const seen = history.get(task.taskArn!) ?? [];
          if (seen.at(-1) !== task.lastStatus) seen.push(task.lastStatus!);
          history.set(task.taskArn!, seen);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return async function stopAndExpectNeverBackwards() {
    watching = false;
    await loop;
    for (const [arn, seen] of history) expectNeverBackwards(seen, `status history of ${arn}`);
  };
}

/**
 * Waits until an agent of the cluster is registered and connected; on a timeout the error carries
 * the agent's own output, which says why it could not join.
 */
export async function waitForConnectedInstance(ecs: ECSClient, cluster: string, agentOutput: () => string) {
  return waitFor(
    'the agent to register as a connected container instance',
    async () => {
      const list = await ecs.send(new ListContainerInstancesCommand({ cluster }));
      if (!list.containerInstanceArns?.length) return undefined;
      const described = await ecs.send(
        new DescribeContainerInstancesCommand({ cluster, containerInstances: list.containerInstanceArns }),
      );
      return described.containerInstances?.find((c) => c.agentConnected);
    },
    30_000,
  ).catch((error) => {
    throw new Error(`${(error as Error).message}\nagent output:\n${agentOutput()}`);
  });
}

/**
 * The services once each one's only deployment is COMPLETED, which needs desiredCount tasks the
 * control plane counts as healthy: it can come after `services_stable` (which counts RUNNING
 * tasks) and after Docker's own verdict (which the agent then reports).
 */
export async function waitForCompletedDeployments(
  ecs: ECSClient,
  cluster: string,
  services: string[],
  timeoutMs = 30_000,
): Promise<Service[]> {
  return waitFor(
    `the deployments of ${services.join(', ')} to complete`,
    async () => {
      const described = (await ecs.send(new DescribeServicesCommand({ cluster, services }))).services!;
      return (
        described.every(
          (s) => s.deployments?.length === 1 && s.deployments[0].rolloutState === 'COMPLETED',
        ) && described
      );
    },
    timeoutMs,
  );
}
