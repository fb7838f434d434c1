/**
 * Agent grace: an agent whose socket closed still counts as connected for
 * `agentDisconnectGraceMs` after it was last seen, because agents behind NAT reconnect often and a
 * blip is not an outage. After a control-plane start the grace counts from the start, so a restart
 * never marks hosts lost. A disconnect is never a stop: tasks keep their status; only placement
 * avoids the instance.
 *
 * Deadlines are named `agentGrace:<instanceArn>` and derived again from the database whenever the
 * room loads its view (a start, a wake-up from hibernation), so they need no persistence.
 */
import { eq } from 'drizzle-orm';
import { type ContainerInstanceRow, containerInstances } from '../../../db/schema';
import type { CommandContext } from '../cluster/command-context';
import { instanceEventInsert } from '../events/instance-events';

export const AGENT_GRACE = 'agentGrace';

/** When an instance without a socket stops counting as connected. */
export function agentGraceEndsAtMs(ctx: CommandContext, row: ContainerInstanceRow): number {
  return Math.max(row.lastSeenAtMs, ctx.loadedAtMs) + ctx.deps.config.agentDisconnectGraceMs;
}

/** Arms the grace deadline of every instance that counts as connected but has no socket here. */
export async function armAgentGraceDeadlines(ctx: CommandContext): Promise<void> {
  for (const { row } of ctx.view.instances.values()) {
    if (row.agentConnected && !ctx.agentLinked(row.arn)) {
      await ctx.deadlines.schedule(AGENT_GRACE, row.arn, agentGraceEndsAtMs(ctx, row));
    }
  }
}

/** The socket closed: remember when the agent was last seen and start its grace. */
export async function agentLeft(ctx: CommandContext, instanceArn: string): Promise<void> {
  const [row] = await ctx.deps.db
    .update(containerInstances)
    .set({ lastSeenAtMs: ctx.deps.now() })
    .where(eq(containerInstances.arn, instanceArn))
    .returning();
  if (!row) return;
  ctx.view.upsertInstance(row);
  if (row.agentConnected) await ctx.deadlines.schedule(AGENT_GRACE, row.arn, agentGraceEndsAtMs(ctx, row));
}

/** The deadline handler: still no socket, so the instance is now disconnected. */
export async function agentGraceExpired(ctx: CommandContext, instanceArn: string): Promise<void> {
  const instance = ctx.view.instances.get(instanceArn);
  if (!instance?.row.agentConnected || ctx.agentLinked(instanceArn)) return;
  // A reconnect and a new close can have moved the end of grace since the deadline was armed.
  const endsAtMs = agentGraceEndsAtMs(ctx, instance.row);
  if (endsAtMs > ctx.deps.now()) {
    await ctx.deadlines.schedule(AGENT_GRACE, instanceArn, endsAtMs);
    return;
  }
  const updated = { ...instance.row, agentConnected: false };
  await ctx.deps.db.batch([
    ctx.deps.db
      .update(containerInstances)
      .set({ agentConnected: false })
      .where(eq(containerInstances.arn, instanceArn)),
    instanceEventInsert(ctx.deps, updated, instance.allocations),
  ]);
  ctx.view.upsertInstance(updated);
  ctx.eventsWritten();
  ctx.log(
    `agent ${instance.row.instanceId} marked disconnected after ${ctx.deps.config.agentDisconnectGraceMs} ms`,
  );
}
