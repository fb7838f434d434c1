/**
 * UpdateService, a cluster command. Starts a new deployment only where ECS does (a task
 * definition, forceNewDeployment; the other triggers ECS lists are refused fields in Berth): the
 * new one becomes PRIMARY and every older one ACTIVE, to be drained within the bounds. desiredCount,
 * the deployment configuration and the placement rules change the service in place; null keeps a
 * placement field, `[]` clears it.
 */
import { and, eq, ne } from 'drizzle-orm';
import { serviceDeployments, services } from '../../../db/schema';
import type { UpdateServiceRequest, UpdateServiceResponse } from '../../ecs-types.generated';
import { runTaskStrategy } from '../capacity-providers/strategy';
import type { ClusterCommand } from '../cluster/command-context';
import { containerPolicyOf, enforceContainerPolicy } from '../clusters/container-policy';
import { EcsError } from '../errors';
import { validatePlacement } from '../placement';
import { requireTaskDefinition, toTaskDefinition } from '../task-definitions/task-definitions';
import { reconcileService } from './reconcile';
import { rolloutReason } from './service-events';
import { describeServiceInRoom, requireServiceInRoom } from './service-queries';
import { deploymentConfigurationOf, newDeploymentId } from './service-record';
import { deploymentEvent, serviceStreamEventsInsert } from './service-stream-events';
import { deploymentConfiguration, refuseDaemonFields, validateUpdateFields } from './validate-service';

export const updateService: ClusterCommand<UpdateServiceRequest, UpdateServiceResponse> = async (
  ctx,
  input,
) => {
  const { deps, cluster } = ctx;
  validateUpdateFields(input);
  const service = await requireServiceInRoom(ctx, input.service);
  if (service.schedulingStrategy === 'DAEMON') refuseDaemonFields(input);
  const arn = service.arn;
  if (service.status !== 'ACTIVE') throw new EcsError('ServiceNotActiveException', 'Service was not ACTIVE.');

  const definition = input.taskDefinition
    ? await requireTaskDefinition(deps, input.taskDefinition)
    : undefined;
  // A new definition meets the cluster's policy here, and so does the current one when the update
  // would launch tasks of it (a policy tightened since): refused before anything is written.
  const launches =
    (definition !== undefined && definition.arn !== service.taskDefinitionArn) ||
    input.forceNewDeployment === true ||
    (input.desiredCount !== undefined && input.desiredCount > service.desiredCount);
  if (launches) {
    // A current definition deleted since is not this check's business: launches report it.
    const launched =
      definition ?? (await requireTaskDefinition(deps, service.taskDefinitionArn).catch(() => undefined));
    if (launched)
      enforceContainerPolicy(toTaskDefinition(launched), containerPolicyOf(cluster), cluster.name);
  }
  const constraints = input.placementConstraints ?? JSON.parse(service.placementConstraintsJson);
  const strategies = input.placementStrategy ?? JSON.parse(service.placementStrategyJson);
  const definitionArn = definition?.arn ?? service.taskDefinitionArn;
  validatePlacement(strategies, [
    ...(definition ? toTaskDefinition(definition).placementConstraints : []),
    ...constraints,
  ]);
  const strategy = input.capacityProviderStrategy?.length
    ? await runTaskStrategy(deps, cluster, { capacityProviderStrategy: input.capacityProviderStrategy })
    : undefined;
  const nowMs = deps.now();
  const writes = [];
  writes.push(
    deps.db
      .update(services)
      .set({
        desiredCount: input.desiredCount ?? service.desiredCount,
        // A count given while stopped through the Berth API is a start at that count.
        stoppedDesiredCount: input.desiredCount !== undefined ? null : service.stoppedDesiredCount,
        taskDefinitionArn: definitionArn,
        capacityProviderStrategyJson: strategy
          ? JSON.stringify(strategy)
          : service.capacityProviderStrategyJson,
        launchType: strategy ? null : service.launchType,
        placementConstraintsJson: JSON.stringify(constraints),
        placementStrategyJson: JSON.stringify(strategies),
        deploymentConfigurationJson: JSON.stringify(
          deploymentConfiguration(
            input.deploymentConfiguration,
            deploymentConfigurationOf(service),
            service.schedulingStrategy,
          ),
        ),
        propagateTags: input.propagateTags ?? service.propagateTags,
        enableEcsManagedTags: input.enableECSManagedTags ?? service.enableEcsManagedTags,
        enableExecuteCommand: input.enableExecuteCommand ?? service.enableExecuteCommand,
        healthCheckGracePeriodSeconds:
          input.healthCheckGracePeriodSeconds ?? service.healthCheckGracePeriodSeconds,
      })
      .where(eq(services.arn, arn)),
  );
  const newDeployment =
    input.forceNewDeployment === true ||
    (definition !== undefined && definition.arn !== service.taskDefinitionArn);
  if (newDeployment) {
    const id = newDeploymentId(ctx.random);
    writes.push(
      deps.db
        .update(serviceDeployments)
        .set({ status: 'ACTIVE', updatedAtMs: nowMs })
        .where(and(eq(serviceDeployments.serviceArn, arn), eq(serviceDeployments.status, 'PRIMARY'))),
      deps.db.insert(serviceDeployments).values({
        id,
        serviceArn: arn,
        status: 'PRIMARY',
        taskDefinitionArn: definitionArn,
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: rolloutReason.inProgress(id),
        createdAtMs: nowMs,
        updatedAtMs: nowMs,
      }),
      serviceStreamEventsInsert(deps, service, [
        deploymentEvent('SERVICE_DEPLOYMENT_IN_PROGRESS', id, rolloutReason.inProgress(id)),
      ]),
    );
  } else if (input.desiredCount !== undefined && input.desiredCount !== service.desiredCount) {
    // A new count is not a new deployment, but the PRIMARY one is in progress until it is reached.
    writes.push(
      deps.db
        .update(serviceDeployments)
        .set({ updatedAtMs: nowMs })
        .where(and(eq(serviceDeployments.serviceArn, arn), ne(serviceDeployments.status, 'INACTIVE'))),
    );
  }
  await deps.db.batch(writes as [(typeof writes)[number], ...typeof writes]);
  if (newDeployment) ctx.eventsWritten();
  await reconcileService(ctx, service.name);
  return { service: await describeServiceInRoom(ctx, arn) };
};
