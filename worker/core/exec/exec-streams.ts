/**
 * Berth's own exec and logs, beyond ECS: a command's stdout and stderr apart and its exit code
 * (non-interactive, no TTY), and a container's logs (running or stopped, while the container
 * exists), both as record streams (worker/core/streams/record-stream.ts) fed from the agent.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { execSessions } from '../../../db/schema';
import { recordExecSession, SUCCESS } from '../audit/audit-log';
import { requireCluster } from '../clusters/clusters';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import { recordStreamBody } from '../streams/record-stream';
import type { StreamHub, StreamResult } from '../streams/stream-hub';
import { execTarget, logsTarget, targetNotConnected } from './exec-target';

export interface ExecStreamInput {
  task: string;
  container?: string;
  command: string[];
  /** Who asked (the signed call's principal), for the session record. */
  principal: string;
}

export interface LogStreamInput {
  task: string;
  container?: string;
  follow: boolean;
  /** Unix seconds. */
  since?: number;
  tail?: number;
  timestamps: boolean;
}

export function validateCommand(command: unknown): string[] {
  if (!Array.isArray(command) || command.length === 0)
    throw invalidParameter('command: must be a non-empty list of strings');
  if (command.length > 1_000) throw invalidParameter('command: at most 1000 arguments');
  for (const [i, arg] of command.entries()) {
    if (typeof arg !== 'string') throw invalidParameter(`command[${i}]: must be a string`);
    if (arg.length > 65_536) throw invalidParameter(`command[${i}]: longer than 65536 characters`);
    if (arg.includes('\0')) throw invalidParameter(`command[${i}]: contains a NUL character`);
  }
  return command as string[];
}

export async function openExecStream(
  deps: CoreDeps,
  hub: StreamHub,
  clusterName: string,
  input: ExecStreamInput,
): Promise<ReadableStream<Uint8Array>> {
  const command = validateCommand(input.command);
  const cluster = await requireCluster(deps, clusterName);
  const target = await execTarget(deps, cluster, input, true);
  if (!hub.connected(target.instanceArn)) throw targetNotConnected();
  const sessionId = `berth-exec-${deps.newId()}`;
  await deps.db.insert(execSessions).values({
    sessionId,
    clusterArn: cluster.arn,
    clusterName: cluster.name,
    taskArn: target.task.arn,
    containerName: target.container.name,
    containerRuntimeId: target.containerRuntimeId,
    containerInstanceArn: target.instanceArn,
    command: JSON.stringify(command),
    interactive: false,
    principal: input.principal,
    startedAtMs: deps.now(),
  });
  return recordStreamBody(
    (consumer) =>
      hub.open(
        target.instanceArn,
        { kind: 'exec', containerId: target.containerRuntimeId, command, tty: false, stdin: false },
        consumer,
      ),
    (result) => void recordSessionEnd(deps, sessionId, result),
  );
}

export async function openLogStream(
  deps: CoreDeps,
  hub: StreamHub,
  clusterName: string,
  input: LogStreamInput,
): Promise<ReadableStream<Uint8Array>> {
  const cluster = await requireCluster(deps, clusterName);
  const target = await logsTarget(deps, cluster, input);
  if (!hub.connected(target.instanceArn)) throw targetNotConnected();
  return recordStreamBody((consumer) =>
    hub.open(
      target.instanceArn,
      {
        kind: 'logs',
        containerId: target.containerRuntimeId,
        follow: input.follow,
        since: input.since,
        tail: input.tail,
        timestamps: input.timestamps,
      },
      consumer,
    ),
  );
}

/**
 * Writes how a session ended into its record, and into the audit log as `berth:EndExecSession` (the
 * call that opened it is audited as `ecs:ExecuteCommand` or `berth:ExecuteCommand`): who, task,
 * container, command, start, end and exit code. A failure to write is only logged by the caller's deps.
 */
export async function recordSessionEnd(
  deps: CoreDeps,
  sessionId: string,
  result: StreamResult,
): Promise<void> {
  try {
    const endedAtMs = deps.now();
    const [session] = await deps.db
      .update(execSessions)
      .set({
        endedAtMs,
        exitCode: result.exitCode ?? null,
        endReason: result.error ? `${result.error.name}: ${result.error.message}`.slice(0, 1_000) : null,
      })
      .where(and(eq(execSessions.sessionId, sessionId), isNull(execSessions.endedAtMs)))
      .returning();
    if (!session) return; // already ended: recorded once
    await recordExecSession(deps, {
      principalName: session.principal,
      clusterName: session.clusterName,
      taskArn: session.taskArn,
      container: session.containerName,
      command: session.command,
      interactive: session.interactive,
      result: result.error ? result.error.name : SUCCESS,
      action: 'berth:EndExecSession',
      detail: {
        sessionId,
        startedAt: new Date(session.startedAtMs).toISOString(),
        endedAt: new Date(endedAtMs).toISOString(),
        ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
      },
    });
  } catch {
    // The session record is an audit trail, not the session: losing its end must not break the stream.
  }
}
