/**
 * The vocabulary of the cluster query language: its tree, its subjects and operators, and which
 * operators the ECS guide allows on each subject.
 */
import type { ParsedArgument } from './cluster-query-arguments';
import type { Pattern } from './pattern';

export type QuerySubject =
  | { kind: 'agentConnected' }
  | { kind: 'agentVersion' }
  | { kind: 'attribute'; name: string }
  | { kind: 'instanceId' }
  | { kind: 'registeredAt' }
  | { kind: 'runningTasksCount' }
  | { kind: 'taskGroup' };

export type ComparisonOperator =
  | 'equals'
  | 'not_equals'
  | 'greater_than'
  | 'greater_than_equal'
  | 'less_than'
  | 'less_than_equal'
  | 'exists'
  | 'not_exists'
  | 'in'
  | 'not_in'
  | 'matches'
  | 'not_matches';

export type ClusterQuery =
  | { kind: 'and'; left: ClusterQuery; right: ClusterQuery }
  | { kind: 'or'; left: ClusterQuery; right: ClusterQuery }
  | { kind: 'not'; operand: ClusterQuery }
  | {
      kind: 'comparison';
      subject: QuerySubject;
      operator: ComparisonOperator;
      /** Empty for exists / not_exists; one entry except for in / not_in. */
      arguments: ParsedArgument[];
      /** Compiled once here so matching an instance never compiles. */
      pattern: Pattern | null;
    };

export const SYMBOL_OPERATORS: [string, ComparisonOperator][] = [
  ['!exists', 'not_exists'],
  ['!in', 'not_in'],
  ['==', 'equals'],
  ['!=', 'not_equals'],
  ['>=', 'greater_than_equal'],
  ['<=', 'less_than_equal'],
  ['=~', 'matches'],
  ['!~', 'not_matches'],
  ['>', 'greater_than'],
  ['<', 'less_than'],
];
export const WORD_OPERATORS = new Set<string>([
  'equals',
  'not_equals',
  'greater_than',
  'greater_than_equal',
  'less_than',
  'less_than_equal',
  'exists',
  'not_exists',
  'in',
  'not_in',
  'matches',
  'not_matches',
]);
const EQUALITY: ComparisonOperator[] = ['equals', 'not_equals', 'in', 'not_in', 'matches', 'not_matches'];
const ORDERING: ComparisonOperator[] = [
  'equals',
  'not_equals',
  'greater_than',
  'greater_than_equal',
  'less_than',
  'less_than_equal',
];
const EXISTENCE: ComparisonOperator[] = ['exists', 'not_exists'];
/** The operators the ECS guide lists per subject; attributes take every operator. */
export const OPERATORS_BY_SUBJECT: Record<QuerySubject['kind'], ReadonlySet<ComparisonOperator>> = {
  agentConnected: new Set(EQUALITY),
  agentVersion: new Set(ORDERING),
  attribute: new Set([...ORDERING, ...EQUALITY, ...EXISTENCE]),
  instanceId: new Set(EQUALITY),
  registeredAt: new Set(ORDERING),
  runningTasksCount: new Set(ORDERING),
  taskGroup: new Set([...EQUALITY, ...EXISTENCE]),
};
export const FIXED_SUBJECTS: Record<string, QuerySubject> = {
  agentConnected: { kind: 'agentConnected' },
  agentVersion: { kind: 'agentVersion' },
  ec2InstanceId: { kind: 'instanceId' },
  instanceId: { kind: 'instanceId' },
  registeredAt: { kind: 'registeredAt' },
  runningTasksCount: { kind: 'runningTasksCount' },
  'task:group': { kind: 'taskGroup' },
};
/** ECS attribute names: letters, digits, hyphens, underscores, slashes, backslashes, periods. */
export const ATTRIBUTE_NAME = /^[A-Za-z0-9_./\\-]{1,128}$/;
