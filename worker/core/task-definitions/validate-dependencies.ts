/** dependsOn rules: targets exist, conditions make sense for the target, and no cycles. */
import { clientError, invalidParameter } from '../errors';
import { effectiveEssential } from './task-size';
import type { ContainerCondition, ContainerDefinition } from './types';

const CONDITIONS: readonly ContainerCondition[] = ['START', 'COMPLETE', 'SUCCESS', 'HEALTHY'];

export function validateDependencies(containers: ContainerDefinition[]): void {
  const byName = new Map(containers.map((container) => [container.name!, container]));
  containers.forEach((container, i) => {
    (container.dependsOn ?? []).forEach((dependency, j) => {
      validateDependency(container, dependency, byName, `containerDefinitions[${i}].dependsOn[${j}]`);
    });
  });
  rejectCycles(containers, byName);
}

function validateDependency(
  container: ContainerDefinition,
  dependency: { containerName?: string; condition?: string } | null,
  byName: ReadonlyMap<string, ContainerDefinition>,
  path: string,
): void {
  const targetName = dependency?.containerName;
  if (typeof targetName !== 'string' || targetName === '') {
    throw clientError(`${path}.containerName: required field is missing`);
  }
  if (targetName === container.name) {
    throw clientError(`${path}.containerName: Container '${targetName}' cannot depend on itself.`);
  }
  const target = byName.get(targetName);
  if (!target) {
    throw clientError(
      `${path}.containerName: Cannot depend on container '${targetName}' because it does not exist.`,
    );
  }
  const condition = dependency?.condition;
  if (!CONDITIONS.includes(condition as ContainerCondition)) {
    throw invalidParameter(`${path}.condition: '${condition ?? ''}' is not one of ${CONDITIONS.join(', ')}`);
  }
  if (condition === 'HEALTHY' && target.healthCheck == null) {
    throw invalidParameter(
      `${path}.condition: HEALTHY requires container '${targetName}' to have a healthCheck. ` +
        'Use START, COMPLETE or SUCCESS, or give it a healthCheck.',
    );
  }
  if ((condition === 'COMPLETE' || condition === 'SUCCESS') && effectiveEssential(target)) {
    throw clientError(
      `${path}.condition: A dependency container with SUCCESS or COMPLETE condition cannot be an essential ` +
        `container ('${targetName}' is essential).`,
    );
  }
}

/** Depth-first search; a container met again while still on the stack closes a cycle. */
function rejectCycles(
  containers: ContainerDefinition[],
  byName: ReadonlyMap<string, ContainerDefinition>,
): void {
  const finished = new Set<string>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    const onStack = stack.indexOf(name);
    if (onStack >= 0) {
      const cycle = [...stack.slice(onStack), name];
      const index = containers.findIndex((c) => c.name === cycle[0]);
      throw clientError(
        `containerDefinitions[${index}].dependsOn: Dependency cycle between containers: ${cycle.join(' -> ')}.`,
      );
    }
    if (finished.has(name)) return;
    stack.push(name);
    for (const dependency of byName.get(name)?.dependsOn ?? []) visit(dependency.containerName);
    stack.pop();
    finished.add(name);
  };
  for (const container of containers) visit(container.name!);
}
