/**
 * StopServiceDeployment, a cluster command (the cluster is the ARN's). Only a deployment in
 * progress can be stopped (ConflictException otherwise):
 * - ROLLBACK (the default) rolls back to the last deployment that completed, whether or not the
 *   service has rollback configured (ECS's "1-click rollback"): a new PRIMARY deployment on that
 *   revision, the stopped one ROLLBACK_IN_PROGRESS and then ROLLBACK_SUCCESSFUL;
 * - ABORT stops it where it is: status STOPPED, rolloutState FAILED, no more launches, and the
 *   tasks that run, of either revision, keep running.
 */
import { eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { serviceDeployments, services } from '../../../db/schema';
import type {
  ServiceEvent,
  StopServiceDeploymentRequest,
  StopServiceDeploymentResponse,
} from '../../ecs-types.generated';
import { parseEcsArn } from '../arn';
import type { ClusterCommand } from '../cluster/command-context';
import type { BerthConfig } from '../deps';
import { EcsError, invalidParameter } from '../errors';
import { planRollback } from './deployment-failures';
import { reconcileService } from './reconcile';
import { serviceDeploymentStatus } from './service-deployments';
import { appendServiceEvents, rolloutReason } from './service-events';
import { serviceArn } from './service-record';
import { deploymentEvent, type ServiceStreamEvent, serviceStreamEventsInsert } from './service-stream-events';

const ARN_SHAPE = 'arn:aws:ecs:<region>:<account>:service-deployment/<cluster>/<service>/<id>';

export const serviceDeploymentNotFound = (arn: string) =>
  new EcsError(
    'ServiceDeploymentNotFoundException',
    `serviceDeploymentArn: the service deployment ${arn} does not exist. Use ListServiceDeployments to find its ARN.`,
  );

/** The cluster, service and deployment id an ARN names; InvalidParameterException when it is no service-deployment ARN. */
export function parseServiceDeploymentArn(config: BerthConfig, arn: string) {
  const parsed = parseEcsArn(arn);
  const [clusterName, serviceName, digits] = parsed?.path ?? [];
  const wellFormed =
    parsed?.resourceType === 'service-deployment' &&
    parsed.path.length === 3 &&
    clusterName &&
    serviceName &&
    /^\d{1,19}$/.test(digits ?? '');
  if (!parsed || !wellFormed) {
    throw invalidParameter(`serviceDeploymentArn: '${arn}' is not a service deployment ARN (${ARN_SHAPE})`);
  }
  const elsewhere = parsed.region !== config.region || parsed.accountId !== config.accountId;
  return { clusterName, serviceName, deploymentId: `ecs-svc/${digits}`, elsewhere };
}

export const stopServiceDeployment: ClusterCommand<
  StopServiceDeploymentRequest,
  StopServiceDeploymentResponse
> = async (ctx, input) => {
  const { deps, cluster } = ctx;
  const arn = input.serviceDeploymentArn;
  const stopType = input.stopType ?? 'ROLLBACK';
  if (stopType !== 'ROLLBACK' && stopType !== 'ABORT') {
    throw invalidParameter(`stopType: must be ROLLBACK or ABORT, got ${String(stopType)}`);
  }
  const target = parseServiceDeploymentArn(deps.config, arn);
  if (target.elsewhere || target.clusterName !== cluster.name) throw serviceDeploymentNotFound(arn);
  const [service] = await deps.db
    .select()
    .from(services)
    .where(eq(services.arn, serviceArn(deps.config, cluster.name, target.serviceName)));
  const [deployment] = service
    ? await deps.db.select().from(serviceDeployments).where(eq(serviceDeployments.id, target.deploymentId))
    : [];
  // A rollback's own deployment is part of the service deployment it rolls back, not one to name.
  if (!service || !deployment || deployment.serviceArn !== service.arn || deployment.rollbackOf) {
    throw serviceDeploymentNotFound(arn);
  }
  const status = serviceDeploymentStatus(deployment);
  if (status !== 'IN_PROGRESS') {
    throw new EcsError(
      'ConflictException',
      `serviceDeploymentArn: the service deployment is ${status}; only a deployment IN_PROGRESS can be stopped`,
    );
  }

  const nowMs = deps.now();
  const writes: BatchItem<'sqlite'>[] = [];
  const messages: string[] = [];
  const streamEvents: ServiceStreamEvent[] = [];
  if (stopType === 'ABORT') {
    const reason = rolloutReason.aborted(deployment.id);
    writes.push(
      deps.db
        .update(serviceDeployments)
        .set({ rolloutState: 'FAILED', rolloutStateReason: reason, outcome: 'STOPPED', updatedAtMs: nowMs })
        .where(eq(serviceDeployments.id, deployment.id)),
    );
    streamEvents.push(deploymentEvent('SERVICE_DEPLOYMENT_FAILED', deployment.id, reason));
  } else {
    const plan = await planRollback(ctx, service, deployment, 'request', nowMs);
    if (!plan) {
      throw new EcsError(
        'ConflictException',
        'serviceDeploymentArn: the service has no earlier deployment that completed, so there is nothing to roll back to',
      );
    }
    writes.push(
      deps.db
        .update(serviceDeployments)
        .set({ rolloutState: 'FAILED', rolloutStateReason: plan.reason })
        .where(eq(serviceDeployments.id, deployment.id)),
      ...plan.writes,
    );
    messages.push(...plan.messages);
    streamEvents.push(
      deploymentEvent('SERVICE_DEPLOYMENT_FAILED', deployment.id, plan.reason),
      ...plan.streamEvents,
    );
  }
  if (messages.length > 0) {
    const events = appendServiceEvents(
      JSON.parse(service.eventsJson) as ServiceEvent[],
      messages,
      nowMs,
      deps.newId,
    );
    writes.push(
      deps.db
        .update(services)
        .set({ eventsJson: JSON.stringify(events) })
        .where(eq(services.arn, service.arn)),
    );
  }
  writes.push(serviceStreamEventsInsert(deps, service, streamEvents));
  await deps.db.batch(writes as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
  ctx.eventsWritten();
  await reconcileService(ctx, service.name);
  return { serviceDeploymentArn: arn };
};
