/**
 * Records API calls in the audit log (worker/core/audit/audit-log.ts), around `authenticate`: after
 * the call is answered, before the answer leaves, so an acknowledged call always has its row.
 *
 * Recorded: ECS calls other than Describe* and List*; Berth API calls other than GETs, plus the
 * admin reads (listing keys and join tokens, reading this log); and any call of a known key that
 * was refused (AccessDeniedException, a wrong signature, an inactive key), reads included. A call
 * signed with a key nobody created is not recorded: anyone can make one up, and the log is not
 * theirs to fill. Who: the key's principal and id; where from: the host's `sourceAddressOf`.
 */
import { eq } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { accessKeys } from '../../db/schema';
import { type AuditEntry, type AuditWriter, outcomeOf, SUCCESS } from '../core/audit/audit-log';
import type { CoreDeps } from '../core/deps';
import { ACCESS_KEY_ACTIONS } from './access-keys-api';
import { JOIN_TOKEN_ACTIONS } from './agent-admin-api';
import { AUDIT_ACTIONS } from './audit-api';
import type { DescribeCall } from './auth/authenticate';
import { ecsBodyOf } from './ecs-protocol';

declare module 'hono' {
  interface ContextVariableMap {
    /** What a Berth API route acted on, when more precise than its cluster (an instance's ARN, a key id). */
    auditResource: string;
    auditDetail: Record<string, unknown>;
    /** Where the request came from, as the host trusts it: for routes that record more (exec sessions). */
    sourceAddress: string | undefined;
  }
}

/** Where a request came from: the host decides what it trusts (a socket address, CF-Connecting-IP). */
export type SourceAddressOf = (c: Context) => string | undefined;

const ADMIN_READS = new Set<string>([ACCESS_KEY_ACTIONS.list, JOIN_TOKEN_ACTIONS.list, AUDIT_ACTIONS.read]);

export function auditCalls(
  deps: CoreDeps,
  writer: AuditWriter,
  describeCall: DescribeCall,
  sourceAddressOf: SourceAddressOf,
  log: (line: string) => void,
): MiddlewareHandler {
  return async (c, next) => {
    c.set('sourceAddress', sourceAddressOf(c));
    await next();
    try {
      const entry = await entryFor(c, deps, describeCall);
      if (entry) await writer.record(entry);
    } catch (error) {
      // Never turns an answered call into a failure; the writer logs failed inserts itself.
      log(`audit: could not describe a call: ${String(error)}`);
    }
  };
}

async function entryFor(
  c: Context,
  deps: CoreDeps,
  describeCall: DescribeCall,
): Promise<AuditEntry | undefined> {
  // Described once by authentication when the call got that far (a hook's cluster is a database
  // read); a call refused before that is described here.
  const call = c.get('describedCall') ?? (await describeCall(c));
  if (!call) return undefined;
  const errorName =
    c.res.headers.get('X-Amzn-ErrorType') ?? (c.res.status >= 400 ? `HTTP${c.res.status}` : undefined);
  const result = errorName ?? SUCCESS;
  // A throttled call did nothing, and recording it would let a flood write the log at its own rate.
  if (result === 'ThrottlingException') return undefined;
  const denied = outcomeOf(result) === 'denied';
  if (!denied && !isAudited(call.action, c.req.method)) return undefined;
  const caller = c.get('caller');
  let principalName = caller?.principalName;
  const accessKeyId = caller?.accessKeyId ?? c.get('presentedAccessKeyId');
  if (!principalName) {
    if (!accessKeyId || accessKeyId.length > 128) return undefined;
    const [key] = await deps.db
      .select({ principalName: accessKeys.principalName })
      .from(accessKeys)
      .where(eq(accessKeys.accessKeyId, accessKeyId));
    if (!key) return undefined;
    principalName = key.principalName;
  }
  const { region, accountId } = deps.config;
  const clusterArn = call.cluster ? `arn:aws:ecs:${region}:${accountId}:cluster/${call.cluster}` : undefined;
  const named = call.action.startsWith('ecs:') ? await namedResourceOf(c) : undefined;
  return {
    principalName,
    accessKeyId,
    action: call.action,
    clusterName: call.cluster,
    resource: c.get('auditResource') ?? named?.arn ?? clusterArn ?? '*',
    result,
    sourceAddress: c.get('sourceAddress'),
    detail: c.get('auditDetail') ?? named?.detail,
  };
}

function isAudited(action: string, method: string): boolean {
  if (action === 'berth:Unknown') return false;
  if (action.startsWith('ecs:')) return !/^ecs:(Describe|List)/i.test(action);
  return method !== 'GET' || ADMIN_READS.has(action);
}

/** Body members that name what an ECS call acts on, most specific first. */
const RESOURCE_MEMBERS = [
  'task',
  'service',
  'containerInstance',
  'resourceArn',
  'taskDefinition',
  'capacityProvider',
  'serviceName',
  'family',
  'name',
];

/** The ARN the body names, or the short name in `detail` (the cluster's ARN is the resource then). */
async function namedResourceOf(
  c: Context,
): Promise<{ arn?: string; detail?: Record<string, unknown> } | undefined> {
  const body = await ecsBodyOf(c);
  if (!('value' in body)) return undefined;
  const input = body.value;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  for (const member of RESOURCE_MEMBERS) {
    const value = (input as Record<string, unknown>)[member];
    if (typeof value !== 'string' || value === '') continue;
    const clipped = value.slice(0, 1024);
    return value.startsWith('arn:') ? { arn: clipped } : { detail: { [member]: clipped } };
  }
  return undefined;
}
