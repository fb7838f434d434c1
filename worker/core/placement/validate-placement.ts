/**
 * Checks placement strategies and constraints the way ECS does and compiles them into the forms
 * `placeTasks` runs: memberOf expressions parsed once, strategy fields resolved once.
 */
import { invalidParameter } from '../errors';
import type { ClusterQuery } from './cluster-query';
import { parseClusterQuery, readsTaskGroups } from './cluster-query';
import { ATTRIBUTE_NAME } from './cluster-query-syntax';
import type { PlacementConstraint, PlacementStrategy } from './types';

export const MAX_PLACEMENT_STRATEGIES = 5;
export const MAX_PLACEMENT_CONSTRAINTS = 10;

export type CompiledStrategy =
  | { kind: 'binpack'; resource: 'cpu' | 'memory' }
  | { kind: 'spreadInstance' }
  | { kind: 'spreadAttribute'; attributeName: string }
  | { kind: 'random' };

export type CompiledConstraint =
  | { kind: 'distinctInstance' }
  | { kind: 'memberOf'; query: ClusterQuery; readsTaskGroups: boolean };

export interface CompiledPlacement {
  strategies: CompiledStrategy[];
  constraints: CompiledConstraint[];
}

/** Request field names, so errors name what the caller sent (e.g. a service's own fields). */
export interface PlacementFieldNames {
  strategies: string;
  constraints: string;
}

const DEFAULT_FIELD_NAMES: PlacementFieldNames = {
  strategies: 'placementStrategy',
  constraints: 'placementConstraints',
};

function compileStrategy(strategy: PlacementStrategy, field: string): CompiledStrategy {
  const value = strategy.field ?? '';
  switch (strategy.type) {
    case 'random':
      // ECS's random takes no field; one sent anyway changes nothing, so it is ignored.
      return { kind: 'random' };
    case 'binpack': {
      const resource = value.toLowerCase();
      if (resource === 'cpu' || resource === 'memory') return { kind: 'binpack', resource };
      throw invalidParameter(`${field}.field: binpack needs the field cpu or memory, not '${value}'`);
    }
    case 'spread': {
      const lower = value.toLowerCase();
      if (lower === 'instanceid' || lower === 'host') return { kind: 'spreadInstance' };
      if (value.startsWith('attribute:') && ATTRIBUTE_NAME.test(value.slice('attribute:'.length))) {
        return { kind: 'spreadAttribute', attributeName: value.slice('attribute:'.length) };
      }
      throw invalidParameter(
        `${field}.field: spread needs the field instanceId, host or attribute:<name>, not '${value}'`,
      );
    }
    default:
      throw invalidParameter(
        `${field}.type: must be random, spread or binpack, not '${String(strategy.type)}'`,
      );
  }
}

function compileConstraint(constraint: PlacementConstraint, field: string): CompiledConstraint {
  const expression = constraint.expression ?? '';
  switch (constraint.type) {
    case 'distinctInstance':
      if (expression.trim() !== '') {
        throw invalidParameter(`${field}.expression: distinctInstance takes no expression`);
      }
      return { kind: 'distinctInstance' };
    case 'memberOf': {
      if (expression.trim() === '')
        throw invalidParameter(`${field}.expression: memberOf needs an expression`);
      const query = parseClusterQuery(expression, `${field}.expression`);
      return { kind: 'memberOf', query, readsTaskGroups: readsTaskGroups(query) };
    }
    default:
      throw invalidParameter(
        `${field}.type: must be distinctInstance or memberOf, not '${String(constraint.type)}'`,
      );
  }
}

/** Throws InvalidParameterException naming the offending field; returns the compiled placement. */
export function validatePlacement(
  strategies: PlacementStrategy[],
  constraints: PlacementConstraint[],
  fieldNames: PlacementFieldNames = DEFAULT_FIELD_NAMES,
): CompiledPlacement {
  if (strategies.length > MAX_PLACEMENT_STRATEGIES) {
    throw invalidParameter(
      `${fieldNames.strategies}: at most ${MAX_PLACEMENT_STRATEGIES} strategies are allowed, got ${strategies.length}`,
    );
  }
  if (constraints.length > MAX_PLACEMENT_CONSTRAINTS) {
    throw invalidParameter(
      `${fieldNames.constraints}: at most ${MAX_PLACEMENT_CONSTRAINTS} constraints are allowed, got ${constraints.length}`,
    );
  }
  return {
    strategies: strategies.map((strategy, index) =>
      compileStrategy(strategy, `${fieldNames.strategies}[${index}]`),
    ),
    constraints: constraints.map((constraint, index) =>
      compileConstraint(constraint, `${fieldNames.constraints}[${index}]`),
    ),
  };
}
