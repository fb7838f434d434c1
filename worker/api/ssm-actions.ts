/**
 * The SSM actions the session-manager-plugin calls at ExecuteCommand's endpoint (its argv[6]),
 * ecs-exec-protocol.md §2.8: `ResumeSession` after its socket dropped, answered without a token so
 * the plugin ends cleanly ("Session: X timed out."), since a Berth session does not outlive its
 * socket; and `TerminateSession`, which ends the session where its data channel is open.
 */

import { EcsError, invalidParameter } from '../core/errors';
import { clusterOfSession } from '../core/exec/execute-command';
import type { ApiContext } from './actions';

function sessionIdOf(body: unknown): string {
  const id = (body as { SessionId?: unknown } | null)?.SessionId;
  if (typeof id !== 'string' || id.length === 0 || id.length > 200)
    throw invalidParameter('SessionId: required string');
  return id;
}

export async function handleSsmAction(action: string, body: unknown, ctx: ApiContext): Promise<unknown> {
  if (action === 'ResumeSession') return { SessionId: sessionIdOf(body) };
  if (action === 'TerminateSession') {
    const sessionId = sessionIdOf(body);
    const cluster = await clusterOfSession(ctx.deps, sessionId);
    if (cluster) await ctx.coordinators.forCluster(cluster).terminateExecSession(sessionId);
    return { SessionId: sessionId };
  }
  throw new EcsError('UnknownOperationException', `Unknown action 'AmazonSSM.${action.slice(0, 64)}'.`);
}
