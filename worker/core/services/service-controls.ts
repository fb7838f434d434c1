/**
 * Berth's service controls beyond ECS, each a cluster command served by the Berth API
 * (worker/api/service-controls.ts) and `npx berth services …`:
 * - pause and resume the rolling deployment in progress (Nomad's `deployment pause|resume`);
 * - roll back to any earlier revision of the service, not only the last successful one
 *   (`kubectl rollout undo --to-revision`, `nomad job revert`);
 * - stop a service keeping its definition, and start it again at its previous count
 *   (aws/containers-roadmap#458).
 * They leave the ECS API unchanged: DescribeServices shows their effects in ECS terms (a new
 * deployment, desiredCount 0, the events).
 */
import { and, eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { type ServiceDeploymentRow, type ServiceRow, serviceDeployments, services } from '../../../db/schema';
import type { Service, ServiceEvent } from '../../ecs-types.generated';
import { parseEcsArn } from '../arn';
import type { ClusterCommand, CommandContext } from '../cluster/command-context';
import { EcsError, excerpt, invalidParameter } from '../errors';
import { reconcileService } from './reconcile';
import { serviceRevisionArn } from './service-deployments';
import { appendServiceEvents, rolloutReason, serviceEventText } from './service-events';
import { describeServiceInRoom, requireServiceInRoom } from './service-queries';
import { deploymentRevisionId, newDeploymentId } from './service-record';

export interface ServiceControlInput {
  service: string;
}

export interface RollbackServiceInput extends ServiceControlInput {
  /** The revision to go back to: a `service-revision` ARN of this service (DescribeServiceRevisions). */
  serviceRevisionArn: string;
}

export interface ServiceControlOutput {
  service: Service;
}

const conflict = (message: string) => new EcsError('ConflictException', message);

async function activeService(ctx: CommandContext, reference: string): Promise<ServiceRow> {
  if (typeof reference !== 'string' || reference.length === 0) throw invalidParameter('service: required');
  const service = await requireServiceInRoom(ctx, reference);
  if (service.status !== 'ACTIVE') throw new EcsError('ServiceNotActiveException', 'Service was not ACTIVE.');
  return service;
}

async function primaryOf(
  ctx: CommandContext,
  service: ServiceRow,
): Promise<ServiceDeploymentRow | undefined> {
  const [primary] = await ctx.deps.db
    .select()
    .from(serviceDeployments)
    .where(and(eq(serviceDeployments.serviceArn, service.arn), eq(serviceDeployments.status, 'PRIMARY')));
  return primary;
}

/** Writes the change and the service's event in one batch, runs the scheduler, answers the service. */
async function commit(
  ctx: CommandContext,
  service: ServiceRow,
  change: Partial<ServiceRow>,
  message: string,
  deploymentWrites: readonly BatchItem<'sqlite'>[] = [],
): Promise<ServiceControlOutput> {
  const { db } = ctx.deps;
  const events = appendServiceEvents(
    JSON.parse(service.eventsJson) as ServiceEvent[],
    [message],
    ctx.deps.now(),
    ctx.deps.newId,
  );
  await db.batch([
    db
      .update(services)
      .set({ ...change, eventsJson: JSON.stringify(events) })
      .where(eq(services.arn, service.arn)),
    ...deploymentWrites,
  ]);
  await reconcileService(ctx, service.name);
  return { service: await describeServiceInRoom(ctx, service.arn) };
}

export const pauseServiceDeployment: ClusterCommand<ServiceControlInput, ServiceControlOutput> = async (
  ctx,
  input,
) => {
  const service = await activeService(ctx, input.service);
  const primary = await primaryOf(ctx, service);
  if (primary?.rolloutState !== 'IN_PROGRESS') {
    throw conflict(`service ${service.name} has no deployment in progress to pause`);
  }
  if (primary.pausedAtMs !== null) return { service: await describeServiceInRoom(ctx, service.arn) };
  const nowMs = ctx.deps.now();
  return commit(ctx, service, {}, serviceEventText.paused(service.name, primary.id), [
    ctx.deps.db
      .update(serviceDeployments)
      .set({ pausedAtMs: nowMs, updatedAtMs: nowMs })
      .where(eq(serviceDeployments.id, primary.id)),
  ]);
};

export const resumeServiceDeployment: ClusterCommand<ServiceControlInput, ServiceControlOutput> = async (
  ctx,
  input,
) => {
  const service = await activeService(ctx, input.service);
  const primary = await primaryOf(ctx, service);
  if (!primary || primary.pausedAtMs === null) {
    throw conflict(`service ${service.name} has no paused deployment to resume`);
  }
  const nowMs = ctx.deps.now();
  return commit(ctx, service, {}, serviceEventText.resumed(service.name, primary.id), [
    ctx.deps.db
      .update(serviceDeployments)
      // The progress deadline counts again from the resume, not from before the pause.
      .set({ pausedAtMs: null, progressAtMs: nowMs, updatedAtMs: nowMs })
      .where(eq(serviceDeployments.id, primary.id)),
  ]);
};

/**
 * A new PRIMARY deployment whose target is the chosen earlier revision (reused, not copied); every
 * other deployment becomes ACTIVE and is drained within the bounds, as for an update.
 */
export const rollbackService: ClusterCommand<RollbackServiceInput, ServiceControlOutput> = async (
  ctx,
  input,
) => {
  const service = await activeService(ctx, input.service);
  const revisionArn = input.serviceRevisionArn;
  if (typeof revisionArn !== 'string' || parseEcsArn(revisionArn)?.resourceType !== 'service-revision') {
    throw invalidParameter(
      `serviceRevisionArn: '${excerpt(String(revisionArn ?? ''))}' is not a service-revision ARN`,
    );
  }
  const all = await ctx.deps.db
    .select()
    .from(serviceDeployments)
    .where(eq(serviceDeployments.serviceArn, service.arn));
  const target = all.find((d) => serviceRevisionArn(service, d) === revisionArn);
  if (!target) {
    throw invalidParameter(
      `serviceRevisionArn: '${excerpt(revisionArn)}' is not a revision of service ${service.name}`,
    );
  }
  const nowMs = ctx.deps.now();
  const id = newDeploymentId(ctx.random);
  const { db } = ctx.deps;
  return commit(
    ctx,
    service,
    { taskDefinitionArn: target.taskDefinitionArn },
    serviceEventText.rollingBack(service.name, target.id),
    [
      db
        .update(serviceDeployments)
        .set({ status: 'ACTIVE', pausedAtMs: null, updatedAtMs: nowMs })
        .where(and(eq(serviceDeployments.serviceArn, service.arn), eq(serviceDeployments.status, 'PRIMARY'))),
      db.insert(serviceDeployments).values({
        id,
        serviceArn: service.arn,
        status: 'PRIMARY',
        taskDefinitionArn: target.taskDefinitionArn,
        // The chosen revision itself, reused as ECS's rollback reuses one, not a new revision.
        revisionId: deploymentRevisionId(target),
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: rolloutReason.inProgress(id),
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
      }),
    ],
  );
};

/** desiredCount 0, remembering the count; the service stays ACTIVE with its definition and settings. */
export const stopService: ClusterCommand<ServiceControlInput, ServiceControlOutput> = async (ctx, input) => {
  const service = await activeService(ctx, input.service);
  if (service.stoppedDesiredCount !== null) throw conflict(`service ${service.name} is already stopped`);
  return commit(
    ctx,
    service,
    { desiredCount: 0, stoppedDesiredCount: service.desiredCount },
    serviceEventText.serviceStopped(service.name),
  );
};

export const startService: ClusterCommand<ServiceControlInput, ServiceControlOutput> = async (ctx, input) => {
  const service = await activeService(ctx, input.service);
  const count = service.stoppedDesiredCount;
  if (count === null) throw conflict(`service ${service.name} is not stopped`);
  return commit(
    ctx,
    service,
    { desiredCount: count, stoppedDesiredCount: null },
    serviceEventText.startedAgain(service.name, count),
  );
};
