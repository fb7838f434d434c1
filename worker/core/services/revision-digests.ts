/**
 * A service revision's image digests: the revision names its images when it is made, and takes the
 * digest of each container's image from the first of its tasks whose agent reports one (later
 * reports never change it: a revision is immutable once a digest is known). Run after each batch of
 * task reports; a revision whose every container has its digest is remembered per room, so the
 * steady stream of reports costs no database read.
 */
import { eq, inArray } from 'drizzle-orm';
import { serviceDeployments, type TaskRow } from '../../../db/schema';
import type { ClusterView } from '../cluster/cluster-view';
import type { CommandContext } from '../cluster/command-context';
import type { ContainerRecord } from '../tasks/task-record';
import { serviceArn } from './service-record';

/** Per room (its view lives as long as the room's state): the revisions whose digests are all known. */
const completeRevisions = new WeakMap<ClusterView, Set<string>>();

export async function recordRevisionDigests(ctx: CommandContext, rows: Iterable<TaskRow>): Promise<void> {
  const { db, config } = ctx.deps;
  let complete = completeRevisions.get(ctx.view);
  if (!complete) {
    complete = new Set();
    completeRevisions.set(ctx.view, complete);
  }
  const reported = new Map<
    string,
    { serviceArn: string; names: string[]; digests: Record<string, string> }
  >();
  for (const row of rows) {
    const deploymentId = row.startedBy;
    if (!row.group.startsWith('service:') || !deploymentId || complete.has(deploymentId)) continue;
    const containers = JSON.parse(row.containersJson) as ContainerRecord[];
    if (!containers.some((c) => c.imageDigest)) continue;
    const entry = reported.get(deploymentId) ?? {
      serviceArn: serviceArn(config, ctx.cluster.name, row.group.slice('service:'.length)),
      names: containers.map((c) => c.name),
      digests: {},
    };
    for (const c of containers) if (c.imageDigest) entry.digests[c.name] ??= c.imageDigest;
    reported.set(deploymentId, entry);
  }
  if (reported.size === 0) return;
  const stored = await db
    .select({
      id: serviceDeployments.id,
      serviceArn: serviceDeployments.serviceArn,
      imageDigestsJson: serviceDeployments.imageDigestsJson,
    })
    .from(serviceDeployments)
    .where(inArray(serviceDeployments.id, [...reported.keys()]));
  // A deployment that is gone (its service purged or created again) has nothing left to record.
  for (const id of reported.keys()) if (!stored.some((d) => d.id === id)) complete.add(id);
  const writes = [];
  for (const deployment of stored) {
    const entry = reported.get(deployment.id);
    // Only the service's own tasks speak for its revision (a RunTask can't borrow a deployment id).
    if (!entry || entry.serviceArn !== deployment.serviceArn) continue;
    const known = JSON.parse(deployment.imageDigestsJson) as Record<string, string>;
    const merged = { ...entry.digests, ...known };
    if (Object.keys(merged).length > Object.keys(known).length) {
      writes.push(
        db
          .update(serviceDeployments)
          .set({ imageDigestsJson: JSON.stringify(merged) })
          .where(eq(serviceDeployments.id, deployment.id)),
      );
    }
    if (entry.names.every((name) => name in merged)) complete.add(deployment.id);
  }
  if (writes.length > 0) await db.batch(writes as [(typeof writes)[number], ...typeof writes]);
}
