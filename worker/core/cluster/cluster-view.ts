/**
 * The coordinator's in-memory picture of one cluster's capacity: every container instance and
 * what the non-stopped tasks on it hold. The coordinator is the only writer of placement and
 * task state for its cluster, so after one load from the database this view stays exact, and
 * placement needs no query per RunTask.
 */
import { and, eq, ne } from 'drizzle-orm';
import { type ContainerInstanceRow, containerInstances, type TaskRow, tasks } from '../../../db/schema';
import { DEFAULT_RESERVED_PORTS } from '../../../protocol/agent-protocol';
import type { Db } from '../deps';
import type { PlacementInstance } from '../placement';
import type { ContainerRecord } from '../tasks/task-record';

export interface TaskAllocation {
  cpu: number;
  memoryMiB: number;
  hostPorts: { port: number; protocol: 'tcp' | 'udp' }[];
  group: string;
  running: boolean;
}

export interface InstanceView {
  row: ContainerInstanceRow;
  allocations: Map<string, TaskAllocation>;
  /** The row's two attribute lists, parsed once per row change rather than once per placement. */
  attributes: Record<string, string | null>;
  /** The row's reserved host ports, parsed once per row change like the attributes. */
  reservedPorts: readonly number[];
  /** What placement sees of this instance; rebuilt only after the instance or one of its tasks changed. */
  placement?: PlacementInstance;
}

export function allocationOf(row: TaskRow): TaskAllocation {
  const containers = JSON.parse(row.containersJson) as ContainerRecord[];
  const hostPorts: TaskAllocation['hostPorts'] = [];
  for (const c of containers) {
    for (const p of c.spec.portMappings) {
      if (p.hostPort) hostPorts.push({ port: p.hostPort, protocol: p.protocol });
    }
    for (const b of c.networkBindings) {
      if (!hostPorts.some((h) => h.port === b.hostPort && h.protocol === b.protocol)) {
        hostPorts.push({ port: b.hostPort, protocol: b.protocol });
      }
    }
  }
  return {
    cpu: row.cpu,
    memoryMiB: row.memoryMiB,
    hostPorts,
    group: row.group,
    running: row.lastStatus === 'RUNNING',
  };
}

export class ClusterView {
  readonly instances = new Map<string, InstanceView>();
  /** Every task that has not stopped, as last written: reports are applied to these without a read. */
  readonly taskRows = new Map<string, TaskRow>();

  static async load(db: Db, clusterArn: string): Promise<ClusterView> {
    const view = new ClusterView();
    const instanceRows = await db
      .select()
      .from(containerInstances)
      .where(and(eq(containerInstances.clusterArn, clusterArn), ne(containerInstances.status, 'INACTIVE')));
    for (const row of instanceRows) view.upsertInstance(row);
    const taskRows = await db
      .select()
      .from(tasks)
      .where(and(eq(tasks.clusterArn, clusterArn), ne(tasks.lastStatus, 'STOPPED')));
    for (const t of taskRows) view.trackTask(t);
    return view;
  }

  upsertInstance(row: ContainerInstanceRow): void {
    const existing = this.instances.get(row.arn);
    const attributes = attributesOf(row);
    const reservedPorts = reservedPortsOf(row);
    if (existing) Object.assign(existing, { row, attributes, reservedPorts, placement: undefined });
    else this.instances.set(row.arn, { row, allocations: new Map(), attributes, reservedPorts });
  }

  removeInstance(arn: string): void {
    this.instances.delete(arn);
  }

  findByInstanceId(instanceId: string): InstanceView | undefined {
    for (const view of this.instances.values()) if (view.row.instanceId === instanceId) return view;
    return undefined;
  }

  /** Records or refreshes what a task holds; a STOPPED task releases everything. */
  trackTask(row: TaskRow): void {
    if (row.lastStatus === 'STOPPED') this.taskRows.delete(row.arn);
    else this.taskRows.set(row.arn, row);
    if (!row.containerInstanceArn) return;
    const instance = this.instances.get(row.containerInstanceArn);
    if (!instance) return;
    if (row.lastStatus === 'STOPPED') instance.allocations.delete(row.arn);
    else instance.allocations.set(row.arn, allocationOf(row));
    instance.placement = undefined;
  }

  placementInstanceOf(arn: string): PlacementInstance | undefined {
    const view = this.instances.get(arn);
    return view ? placementOf(view) : undefined;
  }

  /** Placement's input; with a thousand instances of a hundred tasks each, the cache is what keeps RunTask cheap. */
  placementInstances(): PlacementInstance[] {
    return Array.from(this.instances.values(), placementOf);
  }
}

function placementOf(view: InstanceView): PlacementInstance {
  view.placement ??= toPlacementInstance(view.row, view.allocations, view.attributes, view.reservedPorts);
  return view.placement;
}

export function attributesOf(row: ContainerInstanceRow): Record<string, string | null> {
  const attributes: Record<string, string | null> = {};
  for (const list of [row.attributesJson, row.customAttributesJson]) {
    for (const a of JSON.parse(list) as { name: string; value?: string }[])
      attributes[a.name] = a.value ?? null;
  }
  return attributes;
}

const isHostPort = (value: unknown): value is number =>
  Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65_535;

/**
 * The host ports no task may take on this instance (the agent's list, ECS's by default). A stored
 * list that does not parse falls back to ECS's list rather than to none, so a bad row can never hand
 * out the Docker daemon's port.
 */
export function reservedPortsOf(row: Pick<ContainerInstanceRow, 'reservedPortsJson'>): number[] {
  try {
    const parsed: unknown = JSON.parse(row.reservedPortsJson);
    if (Array.isArray(parsed) && parsed.every(isHostPort)) return parsed;
  } catch {
    // Unreadable JSON: the same fallback as a list of the wrong shape.
  }
  return [...DEFAULT_RESERVED_PORTS];
}

export function toPlacementInstance(
  row: ContainerInstanceRow,
  allocations: Map<string, TaskAllocation>,
  attributes: Record<string, string | null> = attributesOf(row),
  reservedPorts: readonly number[] = reservedPortsOf(row),
): PlacementInstance {
  let cpu = 0;
  let memoryMiB = 0;
  let running = 0;
  // Reserved ports count as used under both protocols: the list names ports, not services, and a
  // host service on a reserved port (DNS, a VPN) may well listen on UDP.
  const usedHostPorts: TaskAllocation['hostPorts'] = [];
  for (const port of reservedPorts) usedHostPorts.push({ port, protocol: 'tcp' }, { port, protocol: 'udp' });
  const taskGroups: string[] = [];
  for (const a of allocations.values()) {
    cpu += a.cpu;
    memoryMiB += a.memoryMiB;
    if (a.running) running++;
    usedHostPorts.push(...a.hostPorts);
    taskGroups.push(a.group);
  }
  return {
    arn: row.arn,
    id: row.instanceId,
    status: row.status,
    agentConnected: row.agentConnected,
    agentVersion: row.agentVersion,
    registeredAtMs: row.registeredAtMs,
    attributes,
    remainingCpu: row.registeredCpu - cpu,
    remainingMemoryMiB: row.registeredMemoryMiB - memoryMiB,
    usedHostPorts,
    runningTasksCount: running,
    pendingTasksCount: allocations.size - running,
    taskGroups,
  };
}
