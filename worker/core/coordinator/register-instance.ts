/**
 * A hello registers its host as a container instance, or refreshes the one it already is: the
 * agent's resources, attributes and versions replace what was recorded; custom attributes stay.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { type ContainerInstanceRow, containerInstances } from '../../../db/schema';
import type { AgentFrame, FrameOf } from '../../../protocol/agent-protocol';
import { containerInstanceArn } from '../arn';
import type { CoreDeps } from '../deps';
import type { ClusterView } from './cluster-view';

type Hello = FrameOf<AgentFrame, 'hello'>;

export async function registerInstance(
  deps: CoreDeps,
  cluster: { arn: string; name: string },
  view: ClusterView,
  hello: Hello,
): Promise<ContainerInstanceRow> {
  const nowMs = deps.now();
  const attributes = JSON.stringify(hello.attributes);
  const known = hello.instanceId ? view.findByInstanceId(hello.instanceId) : undefined;
  if (known) {
    const [row] = await deps.db
      .update(containerInstances)
      .set({
        agentConnected: true,
        agentVersion: hello.agentVersion,
        dockerVersion: hello.dockerVersion,
        hostname: hello.hostname,
        registeredCpu: hello.resources.cpu,
        registeredMemoryMiB: hello.resources.memoryMiB,
        attributesJson: attributes,
        lastSeenAtMs: nowMs,
        version: known.row.version + 1,
      })
      .where(eq(containerInstances.arn, known.row.arn))
      .returning();
    view.upsertInstance(row);
    return row;
  }
  // An id we don't know (first start, or an instance that was deregistered) gets a fresh identity.
  const reusable = hello.instanceId && !(await instanceIdTaken(deps, cluster.arn, hello.instanceId));
  const instanceId = reusable ? hello.instanceId! : deps.newId();
  const [row] = await deps.db
    .insert(containerInstances)
    .values({
      arn: containerInstanceArn(deps.config, cluster.name, instanceId),
      clusterArn: cluster.arn,
      instanceId,
      hostname: hello.hostname,
      status: 'ACTIVE',
      agentConnected: true,
      agentVersion: hello.agentVersion,
      dockerVersion: hello.dockerVersion,
      registeredCpu: hello.resources.cpu,
      registeredMemoryMiB: hello.resources.memoryMiB,
      attributesJson: attributes,
      registeredAtMs: nowMs,
      lastSeenAtMs: nowMs,
    })
    .returning();
  view.upsertInstance(row);
  return row;
}

async function instanceIdTaken(deps: CoreDeps, clusterArn: string, instanceId: string): Promise<boolean> {
  const rows = await deps.db
    .select({ arn: containerInstances.arn })
    .from(containerInstances)
    .where(
      and(
        eq(containerInstances.clusterArn, clusterArn),
        inArray(containerInstances.instanceId, [instanceId]),
      ),
    );
  return rows.length > 0;
}
