/**
 * The Node host's rooms: one ClusterCoordinator per cluster for the life of the process, created
 * only for a cluster that exists (requests naming clusters that don't leave nothing behind), and
 * one timer per cluster for the room's named deadlines.
 */
import { eq } from 'drizzle-orm';
import { clusters } from '../../../db/schema';
import {
  type CoordinatorClient,
  type CoordinatorDirectory,
  clientResolvedPerCall,
} from '../../api/coordinator-directory';
import { InMemoryAgentLinks } from '../../core/cluster/agent-links';
import { ClusterCoordinator } from '../../core/cluster/cluster-coordinator';
import { requireCluster } from '../../core/clusters/clusters';
import type { CoreDeps } from '../../core/deps';

export class InProcessRooms implements CoordinatorDirectory {
  private readonly byCluster = new Map<string, ClusterCoordinator>();
  private readonly links = new InMemoryAgentLinks();

  constructor(
    private readonly deps: CoreDeps,
    private readonly log: (line: string) => void,
    /** Opens event subscriptions' signing secrets (the rooms send the event webhooks). */
    private readonly serverKey?: Uint8Array,
  ) {}

  private readonly wakeTimers = new Map<string, { atMs: number; timer: ReturnType<typeof setTimeout> }>();

  forCluster(clusterName: string): CoordinatorClient {
    const existing = this.byCluster.get(clusterName);
    if (existing) return existing;
    return clientResolvedPerCall(() => this.forExistingCluster(clusterName));
  }

  /** The cluster's coordinator; ClusterNotFoundException (and no state kept) when it doesn't exist. */
  async forExistingCluster(clusterName: string): Promise<ClusterCoordinator> {
    if (!this.byCluster.has(clusterName)) await requireCluster(this.deps, clusterName);
    return this.coordinatorOf(clusterName);
  }

  private coordinatorOf(clusterName: string): ClusterCoordinator {
    let coordinator = this.byCluster.get(clusterName);
    if (!coordinator) {
      const scheduler = { wakeAt: (whenMs: number) => this.wakeAt(clusterName, whenMs) };
      coordinator = new ClusterCoordinator(this.deps, clusterName, this.links, {
        log: this.log,
        scheduler,
        serverKey: this.serverKey,
      });
      this.byCluster.set(clusterName, coordinator);
    }
    return coordinator;
  }

  /** Starts every active cluster's coordinator, so agents that don't come back are noticed. */
  async resumeAll(): Promise<void> {
    const rows = await this.deps.db
      .select({ name: clusters.name })
      .from(clusters)
      .where(eq(clusters.status, 'ACTIVE'));
    await Promise.all(rows.map((r) => this.coordinatorOf(r.name).resume()));
  }

  private wakeAt(clusterName: string, whenMs: number): void {
    const existing = this.wakeTimers.get(clusterName);
    if (existing && existing.atMs <= whenMs) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.wakeTimers.delete(clusterName);
        this.coordinatorOf(clusterName)
          .onWake()
          .catch((error) => this.log(`wake of ${clusterName} failed: ${String(error)}`));
      },
      Math.max(0, whenMs - Date.now()),
    );
    timer.unref();
    this.wakeTimers.set(clusterName, { atMs: whenMs, timer });
  }

  stop(): void {
    for (const { timer } of this.wakeTimers.values()) clearTimeout(timer);
  }
}
