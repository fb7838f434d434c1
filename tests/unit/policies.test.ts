/** IAM-style policy evaluation and validation (worker/core/auth/policies.ts). */
import { describe, expect, it } from 'vitest';
import {
  type AuthorizationRequest,
  builtInPolicy,
  evaluate,
  type PolicyDocument,
  validatePolicyDocument,
} from '../../worker/core/auth/policies';

const ACCOUNT = { region: 'us-east-1', accountId: '000000000000' };
const cluster = (name: string) => `arn:aws:ecs:us-east-1:000000000000:cluster/${name}`;
const call = (action: string, clusterName?: string): AuthorizationRequest => ({
  action,
  resource: clusterName ? cluster(clusterName) : '*',
  context: clusterName ? { 'ecs:cluster': cluster(clusterName) } : ({} as Record<string, string>),
});

describe('policy evaluation', () => {
  it('denies by default, allows what a statement allows, and lets an explicit Deny win', () => {
    const allowRead: PolicyDocument = {
      Statement: { Effect: 'Allow', Action: 'ecs:Describe*', Resource: '*' },
    };
    const denyTasks: PolicyDocument = {
      Statement: [{ Effect: 'Deny', Action: 'ecs:DescribeTasks', Resource: '*' }],
    };
    expect(evaluate([], call('ecs:ListClusters'))).toBe('ImplicitDeny');
    expect(evaluate([allowRead], call('ecs:DescribeClusters'))).toBe('Allow');
    expect(evaluate([allowRead], call('ecs:describeclusters'))).toBe('Allow');
    expect(evaluate([allowRead], call('ecs:RunTask', 'a'))).toBe('ImplicitDeny');
    expect(evaluate([allowRead, denyTasks], call('ecs:DescribeTasks', 'a'))).toBe('ExplicitDeny');
  });

  it('matches resources and the ecs:cluster condition with wildcards', () => {
    const prodOnly: PolicyDocument = {
      Statement: [
        { Effect: 'Allow', Action: 'ecs:*', Resource: 'arn:aws:ecs:*:*:cluster/prod-?' },
        {
          Effect: 'Allow',
          Action: 'ecs:StopTask',
          Resource: '*',
          Condition: { StringLike: { 'ecs:cluster': '*/staging' } },
        },
      ],
    };
    expect(evaluate([prodOnly], call('ecs:RunTask', 'prod-1'))).toBe('Allow');
    expect(evaluate([prodOnly], call('ecs:RunTask', 'prod-12'))).toBe('ImplicitDeny');
    expect(evaluate([prodOnly], call('ecs:StopTask', 'staging'))).toBe('Allow');
    expect(evaluate([prodOnly], call('ecs:StopTask'))).toBe('ImplicitDeny');
    const notStaging: PolicyDocument = {
      Statement: {
        Effect: 'Allow',
        NotAction: 'ecs:Delete*',
        Resource: '*',
        Condition: { StringNotEquals: { 'ecs:cluster': cluster('staging') } },
      },
    };
    expect(evaluate([notStaging], call('ecs:RunTask', 'prod'))).toBe('Allow');
    expect(evaluate([notStaging], call('ecs:RunTask', 'staging'))).toBe('ImplicitDeny');
    expect(evaluate([notStaging], call('ecs:DeleteCluster', 'prod'))).toBe('ImplicitDeny');
  });

  it('gives the built-ins their meaning: admin, read-only, and a deployer of one cluster', () => {
    const admin = builtInPolicy('admin', ACCOUNT)!;
    const readOnly = builtInPolicy('read-only', ACCOUNT)!;
    const deployer = builtInPolicy('deployer:a', ACCOUNT)!;
    expect(evaluate([admin], call('ecs:DeleteCluster', 'a'))).toBe('Allow');
    expect(evaluate([readOnly], call('ecs:ListTasks', 'a'))).toBe('Allow');
    expect(evaluate([readOnly], call('ecs:RunTask', 'a'))).toBe('ImplicitDeny');
    // The task-event stream, but not the audit log (every principal's activity): admins only.
    expect(evaluate([readOnly], call('berth:ReadTaskEvents', 'a'))).toBe('Allow');
    expect(evaluate([readOnly], call('berth:ReadAuditLog'))).toBe('ImplicitDeny');
    expect(evaluate([readOnly], call('berth:ListJoinTokens'))).toBe('ImplicitDeny');
    expect(evaluate([deployer], call('berth:RevokeInstanceCredential', 'a'))).toBe('ImplicitDeny');
    expect(evaluate([deployer], call('berth:ReadAuditLog'))).toBe('ImplicitDeny');
    expect(evaluate([deployer], call('ecs:UpdateService', 'a'))).toBe('Allow');
    expect(evaluate([deployer], call('ecs:UpdateService', 'b'))).toBe('ImplicitDeny');
    expect(evaluate([deployer], call('ecs:DeleteCluster', 'a'))).toBe('ExplicitDeny');
    expect(evaluate([deployer], call('ecs:RegisterTaskDefinition'))).toBe('Allow');
    expect(builtInPolicy('deployer:', ACCOUNT)).toBeUndefined();
    expect(builtInPolicy('root', ACCOUNT)).toBeUndefined();
  });
});

describe('policy validation', () => {
  it.each([
    [[], /policy: must be a JSON object/],
    [{}, /policy.Statement: at least one statement/],
    [{ Version: '2020-01-01', Statement: [] }, /policy.Version: must be 2012-10-17/],
    [
      { Statement: [{ Effect: 'allow', Action: '*', Resource: '*' }] },
      /policy.Statement\[0\].Effect: must be Allow or Deny/,
    ],
    [{ Statement: [{ Effect: 'Allow', Resource: '*' }] }, /exactly one of Action and NotAction/],
    [
      { Statement: [{ Effect: 'Allow', Action: 'RunTask', Resource: '*' }] },
      /'RunTask' is not service:Action/,
    ],
    [{ Statement: [{ Effect: 'Allow', Action: '*', Resource: 5 }] }, /Resource: must be a string or a list/],
    [
      { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Principal: '*' }] },
      /Principal: not a statement member/,
    ],
    [
      { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { IpAddress: {} } }] },
      /Condition.IpAddress: Berth evaluates/,
    ],
  ])('refuses %j', (document, message) => {
    expect(() => validatePolicyDocument(document)).toThrow(message);
  });

  it('accepts a well-formed document', () => {
    const document = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'x', Effect: 'Deny', Action: ['ecs:*'], Resource: '*' }],
    };
    expect(validatePolicyDocument(document)).toBe(document);
  });
});
