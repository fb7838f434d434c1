/**
 * ECS ExecuteCommand, a command of the cluster's room (it needs to know whether the task's agent is
 * linked right now): checks the target with ECS's errors, records the session (who, where, what),
 * and answers with the data channel's URL and a single-use token that expires in TOKEN_TTL_MS.
 * The session itself runs when the client opens the URL (data-channel-session.ts).
 */
import { eq } from 'drizzle-orm';
import { execSessions } from '../../../db/schema';
import type { ExecuteCommandRequest, ExecuteCommandResponse } from '../../ecs-types.generated';
import type { CommandContext } from '../cluster/command-context';
import { type CoreDeps, randomHexId } from '../deps';
import { invalidParameter } from '../errors';
import { sha256Hex } from '../sha256';
import { execTarget, targetNotConnected } from './exec-target';

/** A token not used by then is dead: the aws cli starts the plugin right after the call. */
export const TOKEN_TTL_MS = 2 * 60_000;
export const DATA_CHANNEL_PATH_PREFIX = '/ssm/v1/data-channel/';

export interface ExecuteCommandInput extends ExecuteCommandRequest {
  /** The signed call's principal. */
  principal: string;
  /** The control plane's base URL as the caller reached it (`http://host:port`). */
  baseUrl: string;
}

export function dataChannelUrl(baseUrl: string, sessionId: string): string {
  const url = new URL(baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${DATA_CHANNEL_PATH_PREFIX}${sessionId}`;
  url.search = '?role=publish_subscribe';
  return url.toString();
}

export function loggingOn(configurationJson: string): boolean {
  const configuration = JSON.parse(configurationJson) as {
    executeCommandConfiguration?: { logging?: string };
  };
  const logging = configuration.executeCommandConfiguration?.logging;
  return logging === 'DEFAULT' || logging === 'OVERRIDE';
}

export async function executeCommand(
  ctx: CommandContext,
  input: ExecuteCommandInput,
): Promise<ExecuteCommandResponse> {
  if (input.interactive !== true) throw invalidParameter('Interactive is the only mode supported currently.');
  if (!input.command?.trim()) throw invalidParameter('command: required field is missing');
  if (input.command.length > 65_536) throw invalidParameter('command: longer than 65536 characters');
  const target = await execTarget(ctx.deps, ctx.cluster, input, true);
  if (!ctx.agentLinked(target.instanceArn)) throw targetNotConnected();
  const sessionId = `ecs-execute-command-${randomHexId()}`;
  const tokenValue = `${randomHexId()}${randomHexId()}`;
  const nowMs = ctx.deps.now();
  await ctx.deps.db.insert(execSessions).values({
    sessionId,
    clusterArn: ctx.cluster.arn,
    clusterName: ctx.cluster.name,
    taskArn: target.task.arn,
    containerName: target.container.name,
    containerRuntimeId: target.containerRuntimeId,
    containerInstanceArn: target.instanceArn,
    command: input.command,
    interactive: true,
    principal: input.principal,
    tokenHash: await sha256Hex(tokenValue),
    tokenExpiresAtMs: nowMs + TOKEN_TTL_MS,
    logging: loggingOn(ctx.cluster.configurationJson),
    startedAtMs: nowMs,
  });
  return {
    clusterArn: ctx.cluster.arn,
    containerArn: target.container.containerArn,
    containerName: target.container.name,
    interactive: true,
    taskArn: target.task.arn,
    session: { sessionId, streamUrl: dataChannelUrl(input.baseUrl, sessionId), tokenValue },
  };
}

const SESSION_ID_PATTERN = /^ecs-execute-command-[0-9a-f]{32}$/;

/** The session id in a data-channel path, or undefined when the path names none. */
export function sessionIdOfPath(pathname: string): string | undefined {
  if (!pathname.startsWith(DATA_CHANNEL_PATH_PREFIX)) return undefined;
  const id = pathname.slice(DATA_CHANNEL_PATH_PREFIX.length);
  return SESSION_ID_PATTERN.test(id) ? id : undefined;
}

/** The cluster of an ExecuteCommand session, where its data channel is served. */
export async function clusterOfSession(deps: CoreDeps, sessionId: string): Promise<string | undefined> {
  const [row] = await deps.db
    .select({ clusterName: execSessions.clusterName })
    .from(execSessions)
    .where(eq(execSessions.sessionId, sessionId));
  return row?.clusterName;
}
