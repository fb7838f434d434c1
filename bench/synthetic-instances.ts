/** Registers container instances straight in the database, for benchmarks that need a big cluster without agents. */
import { containerInstances } from '../db/schema';
import { containerInstanceArn } from '../worker/core/arn';
import type { CoreDeps } from '../worker/core/deps';

export async function insertSyntheticInstances(
  deps: CoreDeps,
  cluster: { arn: string; name: string },
  count: number,
  resources: {
    cpu: number;
    memoryMiB: number;
    attributes?: (index: number) => { name: string; value: string }[];
  },
): Promise<string[]> {
  const now = Date.now();
  const rows = Array.from({ length: count }, (_, i) => ({
    arn: containerInstanceArn(deps.config, cluster.name, `i${i}`),
    clusterArn: cluster.arn,
    instanceId: `i${i}`,
    hostname: `host-${i}`,
    status: 'ACTIVE' as const,
    agentConnected: true,
    agentVersion: '0.1.0',
    dockerVersion: '20.10',
    registeredCpu: resources.cpu,
    registeredMemoryMiB: resources.memoryMiB,
    attributesJson: JSON.stringify(resources.attributes?.(i) ?? []),
    registeredAtMs: now,
    lastSeenAtMs: now,
  }));
  for (let i = 0; i < rows.length; i += 100)
    await deps.db.insert(containerInstances).values(rows.slice(i, i + 100));
  return rows.map((r) => r.arn);
}
