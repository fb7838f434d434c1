/**
 * Starting a task: make sure its images are present (pulling only what is missing), create its
 * containers in dependency order (or find the ones an earlier attempt created), then start each
 * container as soon as its dependencies allow. Every step can be repeated after a restart: a
 * container is found by its deterministic name, and one that has already run is never started again.
 */
import type { ContainerSpec, DesiredTask } from '../../protocol/task-frames';
import { crashPoint } from '../fault-injection';
import type { ContainerRuntime, ContainerState } from '../runtime/types';
import { IMAGE_PULL_TIMEOUT_MS } from '../timing';
import { creationOrder, dependenciesSatisfied, TaskStartFailure } from './dependencies';
import { resolveHostMounts } from './host-paths';
import { createRequestFor, runtimeNameOf } from './naming';
import { abortable, type ConditionWaiters } from './waiting';

export interface StartContext {
  taskArn: string;
  generation: number;
  runtime: ContainerRuntime;
  cluster: string;
  instanceId(): string | undefined;
  log(line: string): void;
  /** The runtime's last word on a container of this task. */
  stateOf(containerName: string): ContainerState | undefined;
  /** Records what the runtime said (and wakes the waiters). */
  observe(state: ContainerState): void;
  waiters: ConditionWaiters;
  markPull(phase: 'started' | 'stopped'): void;
}

import { errorMessage } from '../errors';

export async function startTaskContainers(context: StartContext, spec: DesiredTask, signal: AbortSignal) {
  await ensureImages(context, spec.containers, signal);
  await createContainers(context, spec, signal);
  await startContainers(context, spec.containers, signal);
}

async function ensureImages(context: StartContext, containers: ContainerSpec[], signal: AbortSignal) {
  context.markPull('started');
  const images = [...new Set(containers.map((c) => c.image))];
  await Promise.all(
    images.map(async (image) => {
      try {
        if (await context.runtime.hasImage(image)) return;
        context.log(`pulling ${image} for ${context.taskArn}`);
        await abortable(context.runtime.pullImage(image, IMAGE_PULL_TIMEOUT_MS), signal);
      } catch (error) {
        if (signal.aborted) throw error;
        // ECS puts the pull error on every container and on the task.
        throw new TaskStartFailure(
          `CannotPullContainerError: ${errorMessage(error)}`,
          containers.map((c) => c.name),
          { cause: error },
        );
      }
    }),
  );
  context.markPull('stopped');
}

async function createContainers(context: StartContext, spec: DesiredTask, signal: AbortSignal) {
  for (const container of creationOrder(spec.containers)) {
    signal.throwIfAborted();
    const name = runtimeNameOf(context.taskArn, container.name);
    let state = await context.runtime.inspectContainer(name);
    if (!state) {
      // Before anything is created: a refused host path stops the task with its reason.
      const resolved = await resolveHostMounts(container);
      crashPoint('exit-before-create');
      try {
        await context.runtime.createContainer(
          createRequestFor({
            taskArn: context.taskArn,
            container: resolved,
            networkMode: spec.networkMode,
            generation: context.generation,
            cluster: context.cluster,
            instanceId: context.instanceId(),
          }),
        );
      } catch (error) {
        throw new TaskStartFailure(`CannotCreateContainerError: ${errorMessage(error)}`, [container.name], {
          cause: error,
        });
      }
      crashPoint('exit-after-create');
      state = await context.runtime.inspectContainer(name);
    }
    if (state) context.observe(state);
  }
}

/** Containers without dependencies start at once, together; the first failure abandons the rest. */
async function startContainers(context: StartContext, containers: ContainerSpec[], taskSignal: AbortSignal) {
  const siblings = new AbortController();
  const signal = AbortSignal.any([taskSignal, siblings.signal]);
  const outcomes = await Promise.allSettled(
    containers.map((container) =>
      startWhenReady(context, container, signal).catch((error: unknown) => {
        siblings.abort(error);
        throw error;
      }),
    ),
  );
  const failures = outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason as unknown);
  if (failures.length > 0) throw failures.find((f) => f instanceof TaskStartFailure) ?? failures[0];
}

async function startWhenReady(context: StartContext, container: ContainerSpec, signal: AbortSignal) {
  // A container that has already run (found again after a restart) is never started twice, and
  // its dependencies were met when it started: a HEALTHY one that is unhealthy now fails nothing.
  if (context.stateOf(container.name)?.hasStarted) return;
  await context.waiters.waitUntil(() => dependenciesSatisfied(container, context.stateOf), signal);
  const state = context.stateOf(container.name);
  if (!state || state.hasStarted) return;
  signal.throwIfAborted();
  try {
    await context.runtime.startContainer(state.id);
  } catch (error) {
    throw new TaskStartFailure(`CannotStartContainerError: ${errorMessage(error)}`, [container.name], {
      cause: error,
    });
  }
  const started = await context.runtime.inspectContainer(state.id);
  if (started) context.observe(started);
}
