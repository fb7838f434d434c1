/**
 * IAM-style policies, evaluated as IAM evaluates identity policies: an explicit Deny in any
 * statement wins, then any Allow, else the request is denied by default. A statement matches when
 * its Action (or NotAction), its Resource (or NotResource) and every Condition match.
 *
 * - Actions are `service:Name` with `*` and `?` wildcards, compared case-insensitively
 *   (`ecs:Describe*`, `ecs:*`, `berth:ManageKeys`).
 * - Resources are ARNs with `*` and `?` wildcards, compared case-sensitively; `*` is everything.
 * - Conditions: StringEquals, StringNotEquals, StringLike, StringNotLike on the context keys the
 *   request carries (`ecs:cluster`, the cluster's ARN, for every call inside a cluster). A key the
 *   request doesn't carry fails a positive operator and passes a negative one, as in IAM.
 *
 * Documents are validated when stored: a wrong shape is an InvalidParameterException naming the
 * member (`policy.Statement[0].Effect: must be Allow or Deny`).
 */
import { invalidParameter } from '../errors';

export type Effect = 'Allow' | 'Deny';
type Operator = 'StringEquals' | 'StringNotEquals' | 'StringLike' | 'StringNotLike';

export interface Statement {
  Sid?: string;
  Effect: Effect;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Partial<Record<Operator, Record<string, string | string[]>>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: Statement | Statement[];
}

export interface AuthorizationRequest {
  /** `ecs:RunTask`, `berth:ManageKeys`, … */
  action: string;
  /** The ARN the call acts on (`*` when it names none). */
  resource: string;
  /** Condition keys: `ecs:cluster` for calls inside a cluster. */
  context: Record<string, string>;
}

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

const OPERATORS: readonly Operator[] = ['StringEquals', 'StringNotEquals', 'StringLike', 'StringNotLike'];
const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export function evaluate(policies: readonly PolicyDocument[], request: AuthorizationRequest): Decision {
  let allowed = false;
  for (const policy of policies) {
    const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
    for (const statement of statements) {
      if (!statementMatches(statement, request)) continue;
      if (statement.Effect === 'Deny') return 'ExplicitDeny';
      allowed = true;
    }
  }
  return allowed ? 'Allow' : 'ImplicitDeny';
}

function statementMatches(statement: Statement, request: AuthorizationRequest): boolean {
  const action = request.action.toLowerCase();
  const actionMatches = (patterns: string[]) => patterns.some((p) => wildcard(p.toLowerCase()).test(action));
  if (statement.Action !== undefined && !actionMatches(list(statement.Action))) return false;
  if (statement.NotAction !== undefined && actionMatches(list(statement.NotAction))) return false;
  const resourceMatches = (patterns: string[]) => patterns.some((p) => wildcard(p).test(request.resource));
  if (statement.Resource !== undefined && !resourceMatches(list(statement.Resource))) return false;
  if (statement.NotResource !== undefined && resourceMatches(list(statement.NotResource))) return false;
  for (const [operator, keys] of Object.entries(statement.Condition ?? {}) as [
    Operator,
    Record<string, string | string[]>,
  ][]) {
    for (const [key, expected] of Object.entries(keys)) {
      const actual = request.context[key];
      const values = list(expected);
      const equal = actual !== undefined && values.includes(actual);
      const like = actual !== undefined && values.some((v) => wildcard(v).test(actual));
      const holds =
        operator === 'StringEquals'
          ? equal
          : operator === 'StringNotEquals'
            ? !equal
            : operator === 'StringLike'
              ? like
              : !like;
      if (!holds) return false;
    }
  }
  return true;
}

const patternCache = new Map<string, RegExp>();
/** `*` any run of characters, `?` exactly one; everything else literal. */
function wildcard(pattern: string): RegExp {
  let regex = patternCache.get(pattern);
  if (!regex) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    regex = new RegExp(`^${body}$`, 's');
    if (patternCache.size > 1000) patternCache.clear();
    patternCache.set(pattern, regex);
  }
  return regex;
}

/** Checks a document's shape before it is stored; returns it typed. */
export function validatePolicyDocument(document: unknown, field = 'policy'): PolicyDocument {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw invalidParameter(`${field}: must be a JSON object with a Statement`);
  }
  const { Version, Statement: statements } = document as Record<string, unknown>;
  if (Version !== undefined && Version !== '2012-10-17' && Version !== '2008-10-17') {
    throw invalidParameter(`${field}.Version: must be 2012-10-17`);
  }
  const all = Array.isArray(statements) ? statements : [statements];
  if (statements === undefined || all.length === 0)
    throw invalidParameter(`${field}.Statement: at least one statement is required`);
  for (const [i, statement] of all.entries()) validateStatement(statement, `${field}.Statement[${i}]`);
  return document as PolicyDocument;
}

function validateStatement(statement: unknown, field: string): void {
  if (statement === null || typeof statement !== 'object' || Array.isArray(statement)) {
    throw invalidParameter(`${field}: must be an object`);
  }
  const s = statement as Record<string, unknown>;
  const known = new Set(['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);
  for (const key of Object.keys(s)) {
    if (!known.has(key))
      throw invalidParameter(
        `${field}.${key}: not a statement member Berth evaluates (Principal belongs to resource policies)`,
      );
  }
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
    throw invalidParameter(`${field}.Effect: must be Allow or Deny`);
  if ((s.Action === undefined) === (s.NotAction === undefined)) {
    throw invalidParameter(`${field}: exactly one of Action and NotAction is required`);
  }
  if ((s.Resource === undefined) === (s.NotResource === undefined)) {
    throw invalidParameter(`${field}: exactly one of Resource and NotResource is required`);
  }
  for (const key of ['Action', 'NotAction', 'Resource', 'NotResource']) {
    if (s[key] !== undefined && !isStringList(s[key]))
      throw invalidParameter(`${field}.${key}: must be a string or a list of strings`);
  }
  for (const key of ['Action', 'NotAction']) {
    for (const action of list(s[key] as string | string[] | undefined)) {
      if (action !== '*' && !/^[a-z0-9-]+:[A-Za-z0-9*?]+$/i.test(action)) {
        throw invalidParameter(
          `${field}.${key}: '${action.slice(0, 64)}' is not service:Action (wildcards * and ? allowed)`,
        );
      }
    }
  }
  if (s.Condition !== undefined) {
    if (s.Condition === null || typeof s.Condition !== 'object' || Array.isArray(s.Condition)) {
      throw invalidParameter(`${field}.Condition: must be an object of operators`);
    }
    for (const [operator, keys] of Object.entries(s.Condition)) {
      if (!(OPERATORS as string[]).includes(operator)) {
        throw invalidParameter(
          `${field}.Condition.${operator.slice(0, 32)}: Berth evaluates ${OPERATORS.join(', ')}`,
        );
      }
      if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) {
        throw invalidParameter(`${field}.Condition.${operator}: must map condition keys to values`);
      }
      for (const [key, value] of Object.entries(keys)) {
        if (!isStringList(value))
          throw invalidParameter(
            `${field}.Condition.${operator}.${key}: must be a string or a list of strings`,
          );
      }
    }
  }
}

const isStringList = (value: unknown) =>
  typeof value === 'string' ||
  (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string'));

/** The built-in policies `berth keys create --policy admin|read-only|deployer:<cluster>` names. */
export function builtInPolicy(
  name: string,
  account: { region: string; accountId: string },
): PolicyDocument | undefined {
  if (name === 'admin')
    return { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
  if (name === 'read-only') {
    return {
      Version: '2012-10-17',
      // Not `berth:Read*`: that would let every read-only key read the audit log (berth:ReadAuditLog),
      // which holds every principal's activity and source addresses. Admins only.
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            'ecs:Describe*',
            'ecs:List*',
            'berth:ReadTaskEvents',
            'berth:ReadHooks',
            'berth:ReadTaskLogs',
            'berth:Describe*',
          ],
          Resource: '*',
        },
      ],
    };
  }
  const deployer = /^deployer:([A-Za-z0-9_-]{1,255})$/.exec(name);
  if (deployer) {
    const clusterArn = `arn:aws:ecs:${account.region}:${account.accountId}:cluster/${deployer[1]}`;
    return {
      Version: '2012-10-17',
      Statement: [
        // Everything inside its cluster, but not the cluster's own life, its hosts' membership or
        // its container policy (which it may read, not change: only admins put it).
        {
          Effect: 'Allow',
          Action: [
            'ecs:*',
            'berth:*Service',
            'berth:ReadTaskEvents',
            'berth:DescribeContainerPolicy',
            'berth:ManageHooks',
            'berth:ReadHooks',
            'berth:ExecuteCommand',
            'berth:ReadTaskLogs',
            'berth:GetExecSession',
          ],
          Resource: '*',
          Condition: { StringEquals: { 'ecs:cluster': clusterArn } },
        },
        {
          Effect: 'Deny',
          Action: [
            'ecs:DeleteCluster',
            'ecs:DeregisterContainerInstance',
            'ecs:UpdateCluster*',
            'ecs:PutClusterCapacityProviders',
          ],
          Resource: '*',
        },
        {
          Effect: 'Allow',
          Action: [
            'ecs:RegisterTaskDefinition',
            'ecs:DescribeTaskDefinition',
            'ecs:ListTaskDefinition*',
            'ecs:ListClusters',
          ],
          Resource: '*',
        },
      ],
    };
  }
  return undefined;
}
