/**
 * Container ordering inside a task: explicit `dependsOn` conditions plus the implicit START
 * dependency of a legacy link (Docker needs a linked container running before it links to it).
 */
import type { ContainerSpec } from '../../protocol/task-frames';
import type { ContainerState } from '../runtime/types';

export type DependencyCondition = ContainerSpec['dependsOn'][number]['condition'];

export interface Dependency {
  containerName: string;
  condition: DependencyCondition;
}

/**
 * Raised when a task cannot start; `containerNames` are the containers the reason belongs to, and
 * `cause` the runtime's typed error (ContainerRuntimeError) when there is one.
 */
export class TaskStartFailure extends Error {
  constructor(
    message: string,
    readonly containerNames: string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TaskStartFailure';
  }
}

/** `name` or `name:alias`, as ECS writes links. */
export function parseLink(link: string): { containerName: string; alias: string } {
  const [containerName, alias] = link.split(':');
  return { containerName, alias: alias || containerName };
}

export function dependenciesOf(container: ContainerSpec): Dependency[] {
  const explicit = container.dependsOn.map(({ containerName, condition }) => ({ containerName, condition }));
  const linked = (container.links ?? []).map((link) => ({
    containerName: parseLink(link).containerName,
    condition: 'START' as const,
  }));
  return [...explicit, ...linked];
}

/** Containers ordered so that each comes after everything it depends on. */
export function creationOrder(containers: ContainerSpec[]): ContainerSpec[] {
  const byName = new Map(containers.map((c) => [c.name, c]));
  const ordered: ContainerSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (container: ContainerSpec) => {
    if (state.get(container.name) === 'done') return;
    if (state.get(container.name) === 'visiting') {
      throw new TaskStartFailure(`dependency cycle through container ${container.name}`, [container.name]);
    }
    state.set(container.name, 'visiting');
    for (const dependency of dependenciesOf(container)) {
      const target = byName.get(dependency.containerName);
      if (!target) {
        throw new TaskStartFailure(
          `container ${container.name} depends on unknown container ${dependency.containerName}`,
          [container.name],
        );
      }
      visit(target);
    }
    state.set(container.name, 'done');
    ordered.push(container);
  };
  for (const container of containers) visit(container);
  return ordered;
}

/**
 * Whether a container may start now: true when every dependency's condition holds, false while
 * one is still pending; throws when one can no longer hold (a SUCCESS dependency exited non-zero,
 * a HEALTHY dependency turned unhealthy or exited before it was healthy). HEALTHY is decided only
 * at start, as in ECS: what the dependency's health does afterwards does not concern its dependents.
 */
export function dependenciesSatisfied(
  container: ContainerSpec,
  stateOf: (containerName: string) => ContainerState | undefined,
): boolean {
  for (const dependency of dependenciesOf(container)) {
    const state = stateOf(dependency.containerName);
    if (!state?.hasStarted) return false;
    if (dependency.condition === 'START') continue;
    if (dependency.condition === 'HEALTHY') {
      if (!healthyDependency(container, dependency.containerName, state)) return false;
      continue;
    }
    if (state.running) return false;
    if (dependency.condition === 'SUCCESS' && state.exitCode !== 0) {
      throw new TaskStartFailure(
        `dependency ${dependency.containerName} exited with code ${state.exitCode}`,
        [container.name],
      );
    }
  }
  return true;
}

function healthyDependency(container: ContainerSpec, dependencyName: string, state: ContainerState): boolean {
  if (state.health === 'healthy' && state.running) return true;
  if (state.health === 'unhealthy') {
    throw new TaskStartFailure(`dependency ${dependencyName} is unhealthy`, [container.name]);
  }
  if (!state.running) {
    throw new TaskStartFailure(
      `dependency ${dependencyName} exited with code ${state.exitCode} before it was healthy`,
      [container.name],
    );
  }
  return false;
}

/** The containers that depend on `containerName` (stopped before it, in reverse start order). */
export function dependentsOf(containers: ContainerSpec[], containerName: string): ContainerSpec[] {
  return containers.filter((c) => dependenciesOf(c).some((d) => d.containerName === containerName));
}
