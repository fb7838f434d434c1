/**
 * `GET /berth/v1/clusters/<cluster>/exec-sessions/<sessionId>`: one exec session's record (who
 * ran what where, when it started and ended, the exit code or why it ended) and, when the
 * cluster's executeCommandConfiguration logged it, its transcript (the terminal output, as text).
 * Policy action `berth:GetExecSession` (a transcript may hold secrets, so read-only keys lack it).
 */
import { and, asc, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { execSessions, execTranscriptChunks } from '../../db/schema';
import { clusterNameOf, requireCluster } from '../core/clusters/clusters';
import { EcsError } from '../core/errors';
import type { ApiContext } from './actions';
import { renderError } from './ecs-protocol';

export const EXEC_SESSION_PATH = '/berth/v1/clusters/:cluster/exec-sessions/:sessionId';
export const EXEC_SESSION_ACTION = 'berth:GetExecSession';

export async function handleGetExecSession(c: Context, ctx: ApiContext & { log: (line: string) => void }) {
  const requestId = crypto.randomUUID();
  try {
    const cluster = await requireCluster(ctx.deps, clusterNameOf(c.req.param('cluster')));
    const sessionId = c.req.param('sessionId') ?? '';
    const [row] = await ctx.deps.db
      .select()
      .from(execSessions)
      .where(and(eq(execSessions.sessionId, sessionId), eq(execSessions.clusterArn, cluster.arn)));
    if (!row)
      throw new EcsError(
        'ResourceNotFoundException',
        `sessionId: no exec session '${sessionId.slice(0, 64)}' in the cluster.`,
      );
    const chunks = row.logging
      ? await ctx.deps.db
          .select()
          .from(execTranscriptChunks)
          .where(eq(execTranscriptChunks.sessionId, sessionId))
          .orderBy(asc(execTranscriptChunks.seq))
      : [];
    const bytes = chunks.flatMap((chunk) => Array.from(atob(chunk.dataBase64), (ch) => ch.charCodeAt(0)));
    return c.json({
      session: {
        sessionId: row.sessionId,
        clusterArn: row.clusterArn,
        taskArn: row.taskArn,
        containerName: row.containerName,
        command: row.command,
        interactive: row.interactive,
        principal: row.principal,
        startedAt: row.startedAtMs / 1000,
        endedAt: row.endedAtMs === null ? undefined : row.endedAtMs / 1000,
        exitCode: row.exitCode ?? undefined,
        endReason: row.endReason ?? undefined,
        logging: row.logging,
      },
      transcript: row.logging ? new TextDecoder().decode(new Uint8Array(bytes)) : undefined,
    });
  } catch (error) {
    return renderError(c, error, requestId, ctx.log);
  }
}
