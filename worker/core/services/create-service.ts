/**
 * CreateService, a cluster command: validates, writes the service and its first (PRIMARY)
 * deployment in one batch, then runs the scheduler, which places the first tasks. A name that is
 * ACTIVE answers the existing service when the call is the same one again (same parameters, the
 * clientToken aside), else "Creation of service was not idempotent."; a DRAINING one is refused.
 */
import { eq } from 'drizzle-orm';
import { serviceDeployments, services } from '../../../db/schema';
import type { CreateServiceRequest, CreateServiceResponse } from '../../ecs-types.generated';
import { runTaskStrategy } from '../capacity-providers/strategy';
import type { ClusterCommand } from '../cluster/command-context';
import { containerPolicyOf, enforceContainerPolicy } from '../clusters/container-policy';
import { invalidParameter } from '../errors';
import { validatePlacement } from '../placement';
import { sha256Hex } from '../sha256';
import { validateTags } from '../tags';
import { requireTaskDefinition, toTaskDefinition } from '../task-definitions/task-definitions';
import { reconcileService } from './reconcile';
import { rolloutReason } from './service-events';
import { serviceExtensionsOf } from './service-extensions';
import { describeServiceInRoom } from './service-queries';
import { newDeploymentId, serviceArn } from './service-record';
import { deploymentEvent, serviceStreamEventsInsert } from './service-stream-events';
import { deploymentConfiguration, validateCreateFields } from './validate-service';

export const createService: ClusterCommand<CreateServiceRequest, CreateServiceResponse> = async (
  ctx,
  input,
) => {
  const { deps, cluster } = ctx;
  validateCreateFields(input);
  const { clientToken: _token, cluster: _cluster, ...parameters } = input;
  const requestSha256 = await sha256Hex(JSON.stringify(parameters));
  const arn = serviceArn(deps.config, cluster.name, input.serviceName);
  const [existing] = await deps.db.select().from(services).where(eq(services.arn, arn));
  if (existing?.status === 'ACTIVE') {
    // The same parameters (with or without the same clientToken) are the same call; a clientToken
    // used again with other parameters is not.
    const sameCall = existing.requestSha256 === requestSha256;
    if (!sameCall) throw invalidParameter('Creation of service was not idempotent.');
    return { service: await describeServiceInRoom(ctx, arn) };
  }
  if (existing?.status === 'DRAINING')
    throw invalidParameter('Unable to Start a service that is still Draining.');

  const definition = await requireTaskDefinition(deps, input.taskDefinition ?? '');
  enforceContainerPolicy(toTaskDefinition(definition), containerPolicyOf(cluster), cluster.name);
  // As RunTask: the call's strategy (its providers associated with the cluster), else the
  // cluster's default one unless a launch type is named; stored with base and weight filled in.
  const daemon = input.schedulingStrategy === 'DAEMON';
  // A daemon runs on every matching instance: no capacity provider spreads it (refused when given).
  const strategy = daemon ? [] : ((await runTaskStrategy(deps, cluster, input)) ?? []);
  const constraints = input.placementConstraints ?? [];
  const strategies = input.placementStrategy ?? [];
  validatePlacement(strategies, [...toTaskDefinition(definition).placementConstraints, ...constraints]);
  const tags = validateTags(input.tags);
  serviceExtensionsOf(tags);
  const nowMs = deps.now();
  const deploymentId = newDeploymentId(ctx.random);
  const fields = {
    clusterArn: cluster.arn,
    name: input.serviceName,
    status: 'ACTIVE' as const,
    // A daemon's count is its instances': the scheduler writes it.
    desiredCount: input.desiredCount ?? 0,
    taskDefinitionArn: definition.arn,
    launchType: strategy.length > 0 ? null : (input.launchType ?? 'EC2'),
    capacityProviderStrategyJson: JSON.stringify(strategy),
    placementConstraintsJson: JSON.stringify(constraints),
    placementStrategyJson: JSON.stringify(strategies),
    deploymentConfigurationJson: JSON.stringify(
      deploymentConfiguration(input.deploymentConfiguration, undefined, daemon ? 'DAEMON' : 'REPLICA'),
    ),
    schedulingStrategy: daemon ? 'DAEMON' : 'REPLICA',
    propagateTags: input.propagateTags ?? 'NONE',
    enableEcsManagedTags: input.enableECSManagedTags ?? false,
    enableExecuteCommand: input.enableExecuteCommand ?? false,
    healthCheckGracePeriodSeconds: input.healthCheckGracePeriodSeconds ?? 0,
    tagsJson: JSON.stringify(tags),
    eventsJson: '[]',
    clientToken: input.clientToken ?? null,
    requestSha256,
    createdAtMs: nowMs,
  };
  // An INACTIVE service of the same name is replaced: its row (the ARN is the name) and its deployments.
  await deps.db.batch([
    deps.db.delete(serviceDeployments).where(eq(serviceDeployments.serviceArn, arn)),
    deps.db
      .insert(services)
      .values({ arn, ...fields })
      .onConflictDoUpdate({ target: services.arn, set: fields }),
    deps.db.insert(serviceDeployments).values({
      id: deploymentId,
      serviceArn: arn,
      status: 'PRIMARY',
      taskDefinitionArn: definition.arn,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: rolloutReason.inProgress(deploymentId),
      createdAtMs: nowMs,
      updatedAtMs: nowMs,
    }),
    serviceStreamEventsInsert(deps, { arn, name: input.serviceName, clusterArn: cluster.arn }, [
      deploymentEvent('SERVICE_DEPLOYMENT_IN_PROGRESS', deploymentId, rolloutReason.inProgress(deploymentId)),
    ]),
  ]);
  ctx.eventsWritten();
  await reconcileService(ctx, input.serviceName);
  return { service: await describeServiceInRoom(ctx, arn) };
};
