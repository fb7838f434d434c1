/**
 * INACTIVE services are forgotten after a while, as ECS does: DescribeServices keeps describing an
 * INACTIVE service for the retention (BERTH_INACTIVE_SERVICE_RETENTION_MS, 1 hour by default), then
 * answers MISSING. The service becoming INACTIVE sets the persisted deadline `servicePurge:<name>`;
 * when it comes due the row, its deployments and its revisions (one row each) are deleted, unless
 * the name was created again in between.
 */
import { and, eq } from 'drizzle-orm';
import { serviceDeployments, services } from '../../../db/schema';
import type { CommandContext } from '../cluster/command-context';
import { serviceArn } from './service-record';

export const SERVICE_PURGE = 'servicePurge';
/** How long an INACTIVE service stays described by default. */
export const INACTIVE_SERVICE_RETENTION_MS = 60 * 60 * 1000;

/** The service just became INACTIVE: forget it after the retention (a later deletion moves the deadline). */
export async function schedulePurge(ctx: CommandContext, name: string): Promise<void> {
  const retentionMs = ctx.deps.config.inactiveServiceRetentionMs ?? INACTIVE_SERVICE_RETENTION_MS;
  await ctx.deadlines.schedule(SERVICE_PURGE, name, ctx.deps.now() + retentionMs, { persist: true });
}

/** The `servicePurge:<name>` deadline. */
export async function servicePurgeDue(ctx: CommandContext, name: string): Promise<void> {
  const { db, config } = ctx.deps;
  const arn = serviceArn(config, ctx.cluster.name, name);
  const [service] = await db.select({ status: services.status }).from(services).where(eq(services.arn, arn));
  // Created again since: the name is in use and keeps its new history.
  if (service?.status !== 'INACTIVE') return;
  await db.batch([
    db.delete(serviceDeployments).where(eq(serviceDeployments.serviceArn, arn)),
    db.delete(services).where(and(eq(services.arn, arn), eq(services.status, 'INACTIVE'))),
  ]);
  ctx.log(`service ${name}: INACTIVE past its retention, purged`);
}
