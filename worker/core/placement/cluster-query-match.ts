/**
 * Evaluates a parsed cluster query against one container instance.
 *
 * Each negative operator is exactly the negation of its positive one, so for a subject with no
 * value (a missing or valueless attribute, an instance without tasks) `==`, `in`, `=~` and the
 * orderings are false while `!=`, `not_in` and `!~` are true. `task:group` holds when ANY task
 * on the instance satisfies it, so `task:group != db` means "hosts no task of group db".
 */

import type { ParsedArgument } from './cluster-query-arguments';
import type { ClusterQuery, ComparisonOperator } from './cluster-query-syntax';
import type { Pattern } from './pattern';
import type { PlacementInstance } from './types';

type Comparison = Extract<ClusterQuery, { kind: 'comparison' }>;
type PositiveOperator =
  | 'equals'
  | 'greater_than'
  | 'greater_than_equal'
  | 'less_than'
  | 'less_than_equal'
  | 'in'
  | 'matches';
/** How a subject's values are ordered and compared for equality. */
type ValueKind = 'text' | 'boolean' | 'version' | 'count';

const NEGATED: Partial<Record<ComparisonOperator, PositiveOperator>> = {
  not_equals: 'equals',
  not_in: 'in',
  not_matches: 'matches',
};

export function matchesClusterQuery(query: ClusterQuery, instance: PlacementInstance): boolean {
  switch (query.kind) {
    case 'and':
      return matchesClusterQuery(query.left, instance) && matchesClusterQuery(query.right, instance);
    case 'or':
      return matchesClusterQuery(query.left, instance) || matchesClusterQuery(query.right, instance);
    case 'not':
      return !matchesClusterQuery(query.operand, instance);
    case 'comparison':
      return matchesComparison(query, instance);
  }
}

function matchesComparison(query: Comparison, instance: PlacementInstance): boolean {
  const subject = query.subject;
  if (query.operator === 'exists' || query.operator === 'not_exists') {
    const exists =
      subject.kind === 'attribute'
        ? Object.hasOwn(instance.attributes, subject.name)
        : subject.kind === 'taskGroup'
          ? instance.taskGroups.length > 0
          : true;
    return exists === (query.operator === 'exists');
  }
  const negatedFrom = NEGATED[query.operator];
  const operator = negatedFrom ?? (query.operator as PositiveOperator);
  const holds = holdsForSubject(query, operator, instance);
  return negatedFrom ? !holds : holds;
}

function holdsForSubject(
  query: Comparison,
  operator: PositiveOperator,
  instance: PlacementInstance,
): boolean {
  const { arguments: args, pattern } = query;
  switch (query.subject.kind) {
    case 'agentConnected':
      return holds(String(instance.agentConnected), 'boolean', operator, args, pattern);
    case 'agentVersion':
      return holds(instance.agentVersion, 'version', operator, args, pattern);
    case 'instanceId':
      return holds(instance.id, 'text', operator, args, pattern);
    case 'runningTasksCount':
      return holds(String(instance.runningTasksCount), 'count', operator, args, pattern);
    case 'registeredAt':
      return holdsForInstant(instance.registeredAtMs, operator, args);
    case 'attribute': {
      const value = Object.hasOwn(instance.attributes, query.subject.name)
        ? instance.attributes[query.subject.name]
        : null;
      return value !== null && holds(value, 'text', operator, args, pattern);
    }
    case 'taskGroup':
      for (const group of instance.taskGroups) if (holds(group, 'text', operator, args, pattern)) return true;
      return false;
  }
}

function holds(
  value: string,
  kind: ValueKind,
  operator: PositiveOperator,
  args: ParsedArgument[],
  pattern: Pattern | null,
): boolean {
  switch (operator) {
    case 'matches':
      return pattern?.test(value) === true;
    case 'in':
      for (const argument of args) if (compare(value, kind, argument) === 0) return true;
      return false;
    case 'equals':
      return compare(value, kind, args[0]) === 0;
    case 'greater_than':
      return compare(value, kind, args[0]) > 0;
    case 'greater_than_equal':
      return compare(value, kind, args[0]) >= 0;
    case 'less_than':
      return compare(value, kind, args[0]) < 0;
    case 'less_than_equal':
      return compare(value, kind, args[0]) <= 0;
  }
}

/** Negative when `value` sorts before the argument. Numbers compare as numbers when both sides are numeric. */
function compare(value: string, kind: ValueKind, argument: ParsedArgument): number {
  if (kind === 'boolean') return value === argument.text.toLowerCase() ? 0 : 1;
  if (kind === 'version') return compareVersions(value, argument.text);
  if (!Number.isNaN(argument.number)) {
    const valueNumber = kind === 'count' || /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isNaN(valueNumber)) return Math.sign(valueNumber - argument.number);
  }
  return value < argument.text ? -1 : value > argument.text ? 1 : 0;
}

/** Dotted versions compare part by part, numerically where both parts are numbers: 1.9.0 < 1.14.5. */
function compareVersions(left: string, right: string): number {
  const leftParts = left.split('.');
  const rightParts = right.split('.');
  for (let i = 0; i < Math.max(leftParts.length, rightParts.length); i++) {
    const a = leftParts[i] ?? '0';
    const b = rightParts[i] ?? '0';
    const bothNumeric = /^\d+$/.test(a) && /^\d+$/.test(b);
    const order = bothNumeric ? Math.sign(Number(a) - Number(b)) : a < b ? -1 : a > b ? 1 : 0;
    if (order !== 0) return order;
  }
  return 0;
}

/** A bare date names a whole UTC day, so `registeredAt == 2018-02-13` means "during that day". */
function holdsForInstant(instantMs: number, operator: PositiveOperator, args: ParsedArgument[]): boolean {
  switch (operator) {
    case 'equals':
    case 'in':
      for (const { startMs, endMs } of args) if (instantMs >= startMs && instantMs <= endMs) return true;
      return false;
    case 'greater_than':
      return instantMs > args[0].endMs;
    case 'greater_than_equal':
      return instantMs >= args[0].startMs;
    case 'less_than':
      return instantMs < args[0].startMs;
    case 'less_than_equal':
      return instantMs <= args[0].endMs;
    case 'matches':
      return false;
  }
}
