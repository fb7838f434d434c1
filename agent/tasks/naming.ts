/** How the agent names and labels what it creates, so a restarted agent finds the same containers. */
import { CONTAINER_LABELS } from '../../protocol/labels';
import type { ContainerSpec } from '../../protocol/task-frames';
import type { CreateContainerRequest, NetworkMode } from '../runtime/types';
import { DEFAULT_STOP_TIMEOUT_SECONDS } from '../timing';
import { parseLink } from './dependencies';

/** The task id: the last segment of its ARN (`arn:...:task/<cluster>/<id>`). */
export function taskIdOf(taskArn: string): string {
  return taskArn.slice(taskArn.lastIndexOf('/') + 1);
}

/** Deterministic, so creating a task's containers a second time finds the first ones instead. */
export function runtimeNameOf(taskArn: string, containerName: string): string {
  return `berth-${taskIdOf(taskArn)}-${containerName}`;
}

export function containerLabels(options: {
  taskArn: string;
  containerName: string;
  instanceId: string | undefined;
  generation: number;
  cluster: string;
}): Record<string, string> {
  return {
    [CONTAINER_LABELS.taskArn]: options.taskArn,
    [CONTAINER_LABELS.containerName]: options.containerName,
    [CONTAINER_LABELS.instanceId]: options.instanceId ?? '',
    [CONTAINER_LABELS.generation]: String(options.generation),
    [CONTAINER_LABELS.cluster]: options.cluster,
  };
}

/** Everything the runtime needs to create one container of a task. */
export function createRequestFor(options: {
  taskArn: string;
  container: ContainerSpec;
  networkMode: NetworkMode;
  generation: number;
  cluster: string;
  instanceId: string | undefined;
}): CreateContainerRequest {
  const { taskArn, container } = options;
  return {
    name: runtimeNameOf(taskArn, container.name),
    spec: container,
    networkMode: options.networkMode,
    labels: containerLabels({ ...options, containerName: container.name }),
    links: (container.links ?? []).map((link) => {
      const { containerName, alias } = parseLink(link);
      return `${runtimeNameOf(taskArn, containerName)}:${alias}`;
    }),
    stopTimeoutSeconds: container.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS,
  };
}
