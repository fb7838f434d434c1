import { and, count, eq, inArray, ne } from 'drizzle-orm';
import { services } from '../../../db/schema';
import type { CoreDeps } from '../deps';

/** ACTIVE services per cluster, for DescribeClusters. */
export async function activeServicesCounts(
  deps: CoreDeps,
  clusterArns: string[],
): Promise<Map<string, number>> {
  if (clusterArns.length === 0) return new Map();
  const rows = await deps.db
    .select({ clusterArn: services.clusterArn, n: count() })
    .from(services)
    .where(and(inArray(services.clusterArn, clusterArns), eq(services.status, 'ACTIVE')))
    .groupBy(services.clusterArn);
  return new Map(rows.map((r) => [r.clusterArn, r.n]));
}

/** Services of a cluster that are ACTIVE or DRAINING: a cluster holding one can't be deleted. */
export async function unfinishedServicesCount(deps: CoreDeps, clusterArn: string): Promise<number> {
  const [row] = await deps.db
    .select({ n: count() })
    .from(services)
    .where(and(eq(services.clusterArn, clusterArn), ne(services.status, 'INACTIVE')));
  return row?.n ?? 0;
}
