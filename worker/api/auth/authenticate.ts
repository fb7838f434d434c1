/**
 * The edge: every ECS and Berth API call is verified (SigV4, sigv4.ts) and authorized (the
 * caller's policies, worker/core/auth/policies.ts) here, before any handler runs. Handlers get
 * the caller's identity from the context (`c.get('caller')`) and never look at headers.
 *
 * What a call is, for its policy: the action (`ecs:<Operation>` from X-Amz-Target, or the Berth
 * API's `berth:<Action>`), the resource (the cluster's ARN for calls inside a cluster, else `*`),
 * and the condition key `ecs:cluster`. A refusal is AccessDeniedException with IAM's wording.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { activeKey, type Caller } from '../../core/auth/access-keys';
import { type AuthorizationRequest, evaluate } from '../../core/auth/policies';
import { clusterNameOf } from '../../core/clusters/clusters';
import type { CoreDeps } from '../../core/deps';
import { EcsError } from '../../core/errors';
import { ACCESS_KEY_ACTIONS } from '../access-keys-api';
import { INSTANCE_ACTIONS, JOIN_TOKEN_ACTIONS } from '../agent-admin-api';
import { AUDIT_ACTIONS } from '../audit-api';
import { CONTAINER_POLICY_ACTIONS } from '../container-policy-api';
import { ecsBodyOf, renderError, SSM_TARGET_PREFIX, TARGET_PREFIX } from '../ecs-protocol';
import { EXEC_SESSION_ACTION } from '../exec-sessions-api';
import { SUBSCRIPTIONS_ACTION } from '../subscriptions-api';
import { TASK_STREAM_ACTIONS } from '../task-streams';
import type { KeyLimits } from './key-limits';
import { verifySigV4 } from './sigv4';

declare module 'hono' {
  interface ContextVariableMap {
    caller: Caller;
    /** The access key id a request was signed with, known or not (the audit log records refusals of known keys). */
    presentedAccessKeyId: string;
    /** What the call is, for its policy, once authentication described it (the audit log reuses it). */
    describedCall: { action: string; cluster?: string };
  }
}

/** How a route names the call for policies: its action and, when inside a cluster, the cluster's name. */
export type DescribeCall = (
  c: Context,
) =>
  | Promise<{ action: string; cluster?: string } | undefined>
  | { action: string; cluster?: string }
  | undefined;

export function authenticate(
  deps: CoreDeps,
  serverKey: Uint8Array,
  keyLimits: KeyLimits,
  describeCall: DescribeCall,
  log: (line: string) => void,
): MiddlewareHandler {
  return async (c, next) => {
    const requestId = crypto.randomUUID();
    try {
      // Hono keeps the bytes read here, so the handler reads the same body without a second copy.
      const body = new Uint8Array(await c.req.arrayBuffer());
      let caller: Caller | undefined;
      await verifySigV4(
        { method: c.req.method, url: new URL(c.req.url), headers: c.req.raw.headers, body },
        {
          region: deps.config.region,
          // The session-manager-plugin signs its SSM calls (ResumeSession, TerminateSession) for `ssm`.
          service: (c.req.header('x-amz-target') ?? '').startsWith(SSM_TARGET_PREFIX) ? 'ssm' : 'ecs',
          nowMs: deps.now(),
          secretOf: async (accessKeyId) => {
            c.set('presentedAccessKeyId', accessKeyId);
            const key = await activeKey(deps, serverKey, accessKeyId);
            caller = key?.caller;
            return key?.secret;
          },
        },
      );
      if (!caller)
        throw new EcsError(
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
        );
      // Set before throttling and authorizing, so a refusal is recorded under its principal
      // (audit-calls.ts).
      c.set('caller', caller);
      // After the signature, so only a key's owner spends its budget; before the policy, as AWS
      // throttles refused calls too. SDKs back off and retry a ThrottlingException by themselves.
      if (!keyLimits.takeRequest(caller.accessKeyId))
        throw new EcsError('ThrottlingException', 'Rate exceeded');
      const call = await describeCall(c);
      if (call) {
        c.set('describedCall', call);
        authorize(deps, caller, call);
      }
    } catch (error) {
      return renderError(c, error, requestId, log);
    }
    await next();
  };
}

function authorize(deps: CoreDeps, caller: Caller, call: { action: string; cluster?: string }): void {
  const { region, accountId } = deps.config;
  const clusterArn =
    call.cluster === undefined ? undefined : `arn:aws:ecs:${region}:${accountId}:cluster/${call.cluster}`;
  const request: AuthorizationRequest = {
    action: call.action,
    resource: clusterArn ?? '*',
    context: clusterArn ? { 'ecs:cluster': clusterArn } : {},
  };
  const decision = evaluate(caller.policies, request);
  if (decision === 'Allow') return;
  const why =
    decision === 'ExplicitDeny'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${call.action} action`;
  throw new EcsError(
    'AccessDeniedException',
    `User: arn:aws:iam::${accountId}:user/${caller.principalName} is not authorized to perform: ${call.action} on resource: ${request.resource} ${why}`,
  );
}

/** ECS calls: the operation from X-Amz-Target, the cluster from the body's `cluster` member. */
export const describeEcsCall: DescribeCall = async (c) => {
  const target = c.req.header('x-amz-target') ?? '';
  if (target.startsWith(SSM_TARGET_PREFIX)) {
    const operation = target.slice(SSM_TARGET_PREFIX.length);
    return /^[A-Za-z]{1,64}$/.test(operation) ? { action: `ssm:${operation}` } : undefined;
  }
  if (!target.startsWith(TARGET_PREFIX)) return undefined; // the front answers UnknownOperationException
  const operation = target.slice(TARGET_PREFIX.length);
  if (!/^[A-Za-z]{1,64}$/.test(operation)) return undefined;
  return { action: `ecs:${operation}`, cluster: clusterOfBody(operation, await ecsBodyOf(c)) };
};

/** Operations that act on no cluster (or on several, named in lists): their resource is `*`. */
const ACCOUNT_OPERATIONS = new Set([
  'ListClusters',
  'DescribeClusters',
  'RegisterTaskDefinition',
  'DeregisterTaskDefinition',
  'DeleteTaskDefinitions',
  'DescribeTaskDefinition',
  'ListTaskDefinitions',
  'ListTaskDefinitionFamilies',
  'PutAccountSetting',
  'PutAccountSettingDefault',
  'DeleteAccountSetting',
  'ListAccountSettings',
  'CreateCapacityProvider',
  'UpdateCapacityProvider',
  'DeleteCapacityProvider',
  'DescribeCapacityProviders',
  'TagResource',
  'UntagResource',
  'ListTagsForResource',
  'DescribeServiceDeployments',
  'DescribeServiceRevisions',
  'StopServiceDeployment',
]);

function clusterOfBody(operation: string, body: { value: unknown } | { error: unknown }): string | undefined {
  if (ACCOUNT_OPERATIONS.has(operation)) return undefined;
  if ('error' in body) return undefined; // the front refuses the body itself
  const parsed = body.value;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const input = parsed as Record<string, unknown>;
  const named = operation === 'CreateCluster' ? input.clusterName : input.cluster;
  if (named !== undefined && typeof named !== 'string') return undefined;
  try {
    return clusterNameOf(named as string | undefined);
  } catch {
    return undefined; // a malformed cluster is refused by the front, with its own message
  }
}

/**
 * Berth API calls: `/berth/v1/clusters/<cluster>/<what>[/<name>/<action>]`. Reading the event stream
 * is `berth:ReadTaskEvents`; a service control is `berth:<Action>Service` (PauseService, …); the
 * key routes (`/berth/v1/keys…`) are `berth:{Create,List,Update,Delete}AccessKey`; the container
 * policy is `berth:DescribeContainerPolicy` (GET) and `berth:PutContainerPolicy` (anything else).
 * key routes (`/berth/v1/keys…`) are `berth:{Create,List,Update,Delete}AccessKey`; the audit log
 * (`/berth/v1/audit`) is `berth:ReadAuditLog`; join tokens (`/berth/v1/join-tokens…`)
 * `berth:ListJoinTokens` and `berth:RevokeJoinToken`; revoking an instance's credential
 * (`/berth/v1/clusters/<cluster>/container-instances/revoke-credential`) is
 * `berth:RevokeInstanceCredential`;
 * the event subscription routes (`/berth/v1/subscriptions…`) are `berth:ManageSubscriptions`.
 */
export const describeBerthCall: DescribeCall = (c) => {
  const path = new URL(c.req.url).pathname.split('/').slice(3).map(decodeSegment);
  if (path[0] === 'audit') return { action: AUDIT_ACTIONS.read };
  if (path[0] === 'join-tokens') {
    return { action: c.req.method === 'GET' ? JOIN_TOKEN_ACTIONS.list : JOIN_TOKEN_ACTIONS.revoke };
  }
  if (path[0] === 'keys') {
    const action =
      c.req.method === 'GET'
        ? ACCESS_KEY_ACTIONS.list
        : c.req.method === 'DELETE'
          ? ACCESS_KEY_ACTIONS.delete
          : path.length === 1
            ? ACCESS_KEY_ACTIONS.create
            : ACCESS_KEY_ACTIONS.update;
    return { action };
  }
  if (path[0] === 'subscriptions') return { action: SUBSCRIPTIONS_ACTION };
  const [clustersSegment, cluster, what, , control] = path;
  if (clustersSegment !== 'clusters' || !cluster) return { action: 'berth:Unknown' };
  let clusterName: string | undefined;
  try {
    clusterName = clusterNameOf(cluster);
  } catch {
    clusterName = undefined;
  }
  if (what === 'task-events') return { action: 'berth:ReadTaskEvents', cluster: clusterName };
  if (what === 'container-policy') {
    const action = c.req.method === 'GET' ? CONTAINER_POLICY_ACTIONS.describe : CONTAINER_POLICY_ACTIONS.put;
    return { action, cluster: clusterName };
  }
  if (what === 'container-instances')
    return { action: INSTANCE_ACTIONS.revokeCredential, cluster: clusterName };
  if (what === 'exec-sessions') return { action: EXEC_SESSION_ACTION, cluster: clusterName };
  if (what === 'tasks' && (control === 'exec' || control === 'logs')) {
    return { action: TASK_STREAM_ACTIONS[control], cluster: clusterName };
  }
  if (what === 'services' && control) {
    const action = `berth:${control.charAt(0).toUpperCase()}${control.slice(1).replace(/[^A-Za-z]/g, '')}Service`;
    return { action, cluster: clusterName };
  }
  return { action: 'berth:Unknown', cluster: clusterName };
};

/** A path segment decoded; a malformed escape stays as it was (the route then answers 404, not 500). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
