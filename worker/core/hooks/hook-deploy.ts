/**
 * The room's side of deploy hooks. An accepted delivery is a `queued` row of the delivery log plus
 * the persisted deadline `hookDeploy:<service>`, set (never pushed later) `hookDebounceMs` ahead, so
 * a burst of deliveries for one service becomes one deployment and a restart loses none. When the
 * deadline comes due, every queued delivery of the service's hooks is applied in the order received
 * (a later one wins for a container), one new task definition revision is registered with the new
 * images, and UpdateService starts one deployment (forced, so the same tag again rolls the tasks and
 * the agents pull it again). The deployment records what triggered it (`triggerJson`: provider,
 * deliveries, commit, image, digest), shown by DescribeServiceDeployments as `berth.trigger` and in
 * the service's event log.
 */
import { and, asc, eq, inArray } from 'drizzle-orm';
import {
  type DeployHookRow,
  deployHooks,
  type HookDeliveryRow,
  hookDeliveries,
  serviceDeployments,
  services,
} from '../../../db/schema';
import type { ServiceEvent, UpdateServiceRequest } from '../../ecs-types.generated';
import type { ClusterCommand, CommandContext } from '../cluster/command-context';
import { EcsError } from '../errors';
import { appendServiceEvents } from '../services/service-events';
import { requireServiceInRoom } from '../services/service-queries';
import { updateService } from '../services/update-service';
import {
  registerTaskDefinition,
  requireTaskDefinition,
  toTaskDefinition,
} from '../task-definitions/task-definitions';
import type { RegisterTaskDefinitionInput, TaskDefinitionBody } from '../task-definitions/types';

export const HOOK_DEPLOY = 'hookDeploy';
/** How long a service's deliveries are gathered before one deployment is started for all of them. */
export const DEFAULT_HOOK_DEBOUNCE_MS = 2_000;
/** When applying queued deliveries failed for a reason other than their own, they are tried again this much later. */
const HOOK_DEPLOY_RETRY_MS = 15_000;

/** What a hook-triggered deployment records (service_deployments.trigger_json). */
export interface DeploymentTrigger {
  provider: string;
  hookIds: string[];
  /** Berth's delivery ids, oldest first, and the providers' own ids where they sent one. */
  deliveryIds: string[];
  sourceDeliveryIds: string[];
  commit?: string;
  image?: string;
  imageDigest?: string;
}

/** A cluster command: makes sure the service's deploy deadline is set. */
export const queueHookDeploy: ClusterCommand<{ service: string }, { dueAtMs: number }> = async (
  ctx,
  input,
) => {
  const dueAtMs = ctx.deps.now() + (ctx.deps.config.hookDebounceMs ?? DEFAULT_HOOK_DEBOUNCE_MS);
  await ctx.deadlines.scheduleNoLaterThan(HOOK_DEPLOY, input.service, dueAtMs, { persist: true });
  return { dueAtMs };
};

/** `registry/name:tag@digest` → `registry/name` (a port's colon is before the last slash). */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0];
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
}

/** The image a delivery asks for, in the container's own repository: pinned to the digest when it gave one. */
export function imageFor(current: string, delivery: Pick<HookDeliveryRow, 'tag' | 'digest'>): string {
  if (delivery.digest) return `${repositoryOf(current)}@${delivery.digest}`;
  if (delivery.tag) return `${repositoryOf(current)}:${delivery.tag}`;
  return current;
}

function registerInputOf(body: TaskDefinitionBody, tagsJson: string): RegisterTaskDefinitionInput {
  const { compatibilities: _c, requiresAttributes: _r, ...input } = body;
  return { ...input, tags: JSON.parse(tagsJson) };
}

export async function hookDeployDue(ctx: CommandContext, serviceName: string): Promise<void> {
  const { db } = ctx.deps;
  const hooks = await db
    .select()
    .from(deployHooks)
    .where(and(eq(deployHooks.clusterArn, ctx.cluster.arn), eq(deployHooks.serviceName, serviceName)));
  if (hooks.length === 0) return;
  const queued = await db
    .select()
    .from(hookDeliveries)
    .where(
      and(
        inArray(
          hookDeliveries.hookId,
          hooks.map((h) => h.id),
        ),
        eq(hookDeliveries.outcome, 'queued'),
      ),
    )
    .orderBy(asc(hookDeliveries.receivedAtMs), asc(hookDeliveries.id));
  if (queued.length === 0) return;
  const fail = async (rows: readonly HookDeliveryRow[], reason: string) => {
    if (rows.length === 0) return;
    await db
      .update(hookDeliveries)
      .set({ outcome: 'failed', reason })
      .where(
        inArray(
          hookDeliveries.id,
          rows.map((r) => r.id),
        ),
      );
  };
  try {
    await deploy(ctx, serviceName, new Map(hooks.map((h) => [h.id, h])), queued, fail);
  } catch (error) {
    if (!(error instanceof EcsError)) {
      // Anything else (the database, say): the deliveries stay queued and are tried again.
      await ctx.deadlines.schedule(HOOK_DEPLOY, serviceName, ctx.deps.now() + HOOK_DEPLOY_RETRY_MS, {
        persist: true,
      });
      throw error;
    }
    // The caller's kind of error (service gone, definition refused): the deliveries failed, the room is fine.
    await fail(queued, `${error.errorName}: ${error.message}`);
  }
}

async function deploy(
  ctx: CommandContext,
  serviceName: string,
  hooks: Map<string, DeployHookRow>,
  queued: HookDeliveryRow[],
  fail: (rows: readonly HookDeliveryRow[], reason: string) => Promise<void>,
): Promise<void> {
  const { deps } = ctx;
  const { db } = deps;
  const service = await requireServiceInRoom(ctx, serviceName);
  if (service.status !== 'ACTIVE') return fail(queued, 'ServiceNotActiveException: Service was not ACTIVE.');
  const definitionRow = await requireTaskDefinition(deps, service.taskDefinitionArn);
  const definition = toTaskDefinition(definitionRow);
  const original = new Map(definition.containerDefinitions.map((c) => [c.name, c.image]));
  const images = new Map(original);
  const applied: { row: HookDeliveryRow; image: string }[] = [];
  for (const row of queued) {
    const hook = hooks.get(row.hookId)!;
    const named = JSON.parse(hook.containersJson) as string[];
    const containers = named.length > 0 ? named : [...original.keys()];
    const missing = containers.filter((name) => !original.has(name));
    if (missing.length > 0) {
      await fail([row], `the service's task definition has no container ${missing.join(', ')}`);
      continue;
    }
    for (const name of containers) images.set(name, imageFor(original.get(name)!, row));
    applied.push({ row, image: imageFor(original.get(containers[0])!, row) });
  }
  if (applied.length === 0) return;

  let taskDefinitionArn = service.taskDefinitionArn;
  if ([...images].some(([name, image]) => original.get(name) !== image)) {
    const body = JSON.parse(definitionRow.bodyJson) as TaskDefinitionBody;
    const input = registerInputOf(
      {
        ...body,
        containerDefinitions: body.containerDefinitions.map((c) => ({ ...c, image: images.get(c.name)! })),
      },
      definitionRow.tagsJson,
    );
    taskDefinitionArn = (await registerTaskDefinition(deps, input)).taskDefinition.taskDefinitionArn;
  }
  await updateService(ctx, {
    service: service.name,
    taskDefinition: taskDefinitionArn,
    forceNewDeployment: true,
  } as UpdateServiceRequest);

  const [primary] = await db
    .select()
    .from(serviceDeployments)
    .where(and(eq(serviceDeployments.serviceArn, service.arn), eq(serviceDeployments.status, 'PRIMARY')));
  const last = applied[applied.length - 1];
  const trigger: DeploymentTrigger = {
    provider: [...new Set(applied.map((a) => a.row.provider))].join(','),
    hookIds: [...new Set(applied.map((a) => a.row.hookId))],
    deliveryIds: applied.map((a) => a.row.id),
    sourceDeliveryIds: applied.flatMap((a) => (a.row.sourceDeliveryId ? [a.row.sourceDeliveryId] : [])),
    ...(last.row.commitSha ? { commit: last.row.commitSha } : {}),
    image: last.image,
    ...(last.row.digest ? { imageDigest: last.row.digest } : {}),
  };
  const [fresh] = await db.select().from(services).where(eq(services.arn, service.arn));
  const deliveriesText =
    applied.length === 1
      ? `${trigger.provider} delivery ${last.row.sourceDeliveryId ?? last.row.id}`
      : `${applied.length} ${trigger.provider} deliveries, the last ${last.row.sourceDeliveryId ?? last.row.id}`;
  const message =
    `(service ${service.name}) (deployment ${primary.id}) started by deploy hook ${trigger.hookIds.join(', ')}: ` +
    `${deliveriesText}${trigger.commit ? `, commit ${trigger.commit}` : ''}, image ${trigger.image}.`;
  const events = appendServiceEvents(
    JSON.parse(fresh.eventsJson) as ServiceEvent[],
    [message],
    deps.now(),
    deps.newId,
  );
  await db.batch([
    db
      .update(serviceDeployments)
      .set({ triggerJson: JSON.stringify(trigger) })
      .where(eq(serviceDeployments.id, primary.id)),
    db
      .update(services)
      .set({ eventsJson: JSON.stringify(events) })
      .where(eq(services.arn, service.arn)),
    ...applied.map((a) =>
      db
        .update(hookDeliveries)
        .set({ outcome: 'deployed', deploymentId: primary.id, image: a.image })
        .where(eq(hookDeliveries.id, a.row.id)),
    ),
  ]);
}
