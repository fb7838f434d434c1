/**
 * Chooses a container instance for each task of a RunTask / service placement, the way ECS does:
 * filter by status, agent, resources (CPU, memory, static host ports), then by the constraints;
 * rank what is left by the strategies in order, each breaking the previous one's ties; break the
 * final tie with the injected RNG. Tasks are placed one at a time against a working copy of the
 * cluster's resources, so a call never over-commits an instance.
 *
 * Cost is O(count × instances × strategies) with typed arrays for the working copy: nothing is
 * allocated per instance per task.
 */
import { matchesClusterQuery } from './cluster-query-match';
import type {
  PlacementFailure,
  PlacementFailureReason,
  PlacementInstance,
  PlacementRequest,
  PlacementResult,
} from './types';
import type { CompiledConstraint, CompiledStrategy } from './validate-placement';
import { validatePlacement } from './validate-placement';

type ScoredStrategy = Exclude<CompiledStrategy, { kind: 'random' }>;

/** The mutable view of the cluster a single `placeTasks` call works on. */
class WorkingCluster {
  readonly cpuLeft: Float64Array;
  readonly memoryLeftMiB: Float64Array;
  /** Tasks of the request's group on each instance, including those placed by this call. */
  readonly groupTasks: Int32Array;
  readonly placedHere: Int32Array;
  private readonly portsTaken: Uint8Array;
  /** Reasons that no placement in this call can change (status, agent). */
  private readonly fixedReason: (PlacementFailureReason | null)[];
  /** Per memberOf constraint, per instance: 1 when the instance is a member. */
  private readonly memberOf: Uint8Array[];

  constructor(
    readonly instances: PlacementInstance[],
    private readonly request: PlacementRequest,
    private readonly constraints: CompiledConstraint[],
  ) {
    const count = instances.length;
    this.cpuLeft = new Float64Array(count);
    this.memoryLeftMiB = new Float64Array(count);
    this.groupTasks = new Int32Array(count);
    this.placedHere = new Int32Array(count);
    this.portsTaken = new Uint8Array(count);
    this.fixedReason = new Array(count);
    this.memberOf = constraints.map(() => new Uint8Array(count));
    instances.forEach((instance, index) => {
      this.cpuLeft[index] = instance.remainingCpu;
      this.memoryLeftMiB[index] = instance.remainingMemoryMiB;
      for (const group of instance.taskGroups) if (group === request.group) this.groupTasks[index]++;
      this.portsTaken[index] = holdsAnyPort(instance, request) ? 1 : 0;
      this.fixedReason[index] =
        instance.status !== 'ACTIVE' ? 'INACTIVE' : !instance.agentConnected ? 'AGENT' : null;
      this.evaluateMembership(index, instance);
    });
  }

  /** The first reason the instance can't take the next task, in ECS's order; null when it can. */
  exclusionReason(index: number): PlacementFailureReason | null {
    const fixed = this.fixedReason[index];
    if (fixed !== null) return fixed;
    const { cpu, memoryMiB, hostPorts } = this.request;
    if (cpu > 0 && this.cpuLeft[index] < cpu) return 'RESOURCE:CPU';
    if (memoryMiB > 0 && this.memoryLeftMiB[index] < memoryMiB) return 'RESOURCE:MEMORY';
    // A task placed here by this call already holds every static port the next one needs.
    if (hostPorts.length > 0 && (this.portsTaken[index] === 1 || this.placedHere[index] > 0))
      return 'RESOURCE:PORTS';
    for (let c = 0; c < this.constraints.length; c++) {
      if (this.constraints[c].kind === 'distinctInstance') {
        if (this.groupTasks[index] > 0) return 'DistinctInstance';
      } else if (this.memberOf[c][index] === 0) {
        return 'MemberOf';
      }
    }
    return null;
  }

  place(index: number): void {
    this.cpuLeft[index] -= this.request.cpu;
    this.memoryLeftMiB[index] -= this.request.memoryMiB;
    this.groupTasks[index]++;
    this.placedHere[index]++;
    // The instance now hosts the request's group, which `task:group` expressions can see.
    if (this.placedHere[index] === 1 && this.constraints.some(isGroupAwareMemberOf)) {
      const instance = this.instances[index];
      this.evaluateMembership(index, {
        ...instance,
        taskGroups: [...instance.taskGroups, this.request.group],
      });
    }
  }

  private evaluateMembership(index: number, instance: PlacementInstance): void {
    this.constraints.forEach((constraint, c) => {
      if (constraint.kind === 'memberOf')
        this.memberOf[c][index] = matchesClusterQuery(constraint.query, instance) ? 1 : 0;
    });
  }
}

const isGroupAwareMemberOf = (constraint: CompiledConstraint): boolean =>
  constraint.kind === 'memberOf' && constraint.readsTaskGroups;

function holdsAnyPort(instance: PlacementInstance, request: PlacementRequest): boolean {
  for (const wanted of request.hostPorts) {
    for (const used of instance.usedHostPorts) {
      if (used.port === wanted.port && used.protocol === wanted.protocol) return true;
    }
  }
  return false;
}

/** Spread on an attribute counts the group's tasks per attribute value, across the whole cluster. */
class AttributeSpread {
  readonly bucketOf: Int32Array;
  readonly tasksPerBucket: Float64Array;

  constructor(instances: PlacementInstance[], attributeName: string, groupTasks: Int32Array) {
    const bucketByValue = new Map<string | null, number>();
    this.bucketOf = new Int32Array(instances.length);
    instances.forEach((instance, index) => {
      // Instances without the attribute share one bucket, as if it were one more value.
      const value = Object.hasOwn(instance.attributes, attributeName)
        ? instance.attributes[attributeName]
        : null;
      let bucket = bucketByValue.get(value);
      if (bucket === undefined) {
        bucket = bucketByValue.size;
        bucketByValue.set(value, bucket);
      }
      this.bucketOf[index] = bucket;
    });
    this.tasksPerBucket = new Float64Array(bucketByValue.size);
    for (let index = 0; index < instances.length; index++)
      this.tasksPerBucket[this.bucketOf[index]] += groupTasks[index];
  }
}

/** Ranks candidates for one strategy. Lower is better: least capacity left (binpack), fewest group tasks (spread). */
interface Ranker {
  score(index: number): number;
  afterPlace(index: number): void;
}

function ranker(strategy: ScoredStrategy, cluster: WorkingCluster): Ranker {
  const nothingToUpdate = () => {};
  switch (strategy.kind) {
    case 'binpack': {
      const left = strategy.resource === 'cpu' ? cluster.cpuLeft : cluster.memoryLeftMiB;
      return { score: (index) => left[index], afterPlace: nothingToUpdate };
    }
    case 'spreadInstance':
      return { score: (index) => cluster.groupTasks[index], afterPlace: nothingToUpdate };
    case 'spreadAttribute': {
      const { bucketOf, tasksPerBucket } = new AttributeSpread(
        cluster.instances,
        strategy.attributeName,
        cluster.groupTasks,
      );
      return {
        score: (index) => tasksPerBucket[bucketOf[index]],
        afterPlace: (index) => {
          tasksPerBucket[bucketOf[index]]++;
        },
      };
    }
  }
}

/** Strategies after `random` can never break a tie random left, so they are dropped. */
function rankingStrategies(strategies: CompiledStrategy[]): ScoredStrategy[] {
  const ranked: ScoredStrategy[] = [];
  for (const strategy of strategies) {
    if (strategy.kind === 'random') break;
    ranked.push(strategy);
  }
  return ranked;
}

export function placeTasks(instances: PlacementInstance[], request: PlacementRequest): PlacementResult {
  const { strategies, constraints } = validatePlacement(request.strategies, request.constraints);
  const placements: { instanceArn: string }[] = [];
  if (instances.length === 0) return { placements, failures: [] };

  const cluster = new WorkingCluster(instances, request, constraints);
  const rankers = rankingStrategies(strategies).map((strategy) => ranker(strategy, cluster));
  const best = new Float64Array(rankers.length);
  const candidate = new Float64Array(rankers.length);
  const tied = new Int32Array(instances.length);

  for (let task = 0; task < request.count; task++) {
    let tiedCount = 0;
    for (let index = 0; index < instances.length; index++) {
      if (cluster.exclusionReason(index) !== null) continue;
      // order < 0: better than the best so far; 0: tied with it; > 0: worse.
      let order = tiedCount === 0 ? -1 : 0;
      for (let s = 0; s < rankers.length && order <= 0; s++) {
        candidate[s] = rankers[s].score(index);
        if (order === 0) order = Math.sign(candidate[s] - best[s]);
      }
      if (order < 0) {
        best.set(candidate);
        tied[0] = index;
        tiedCount = 1;
      } else if (order === 0) {
        tied[tiedCount++] = index;
      }
    }
    if (tiedCount === 0) return { placements, failures: describeFailures(cluster) };
    const chosen = tied[Math.min(tiedCount - 1, Math.floor(request.random() * tiedCount))];
    cluster.place(chosen);
    for (const rank of rankers) rank.afterPlace(chosen);
    placements.push({ instanceArn: instances[chosen].arn });
  }
  return { placements, failures: [] };
}

/** One failure per container instance, with the first reason that excluded it. */
function describeFailures(cluster: WorkingCluster): PlacementFailure[] {
  const failures: PlacementFailure[] = [];
  const reported = new Set<string>();
  cluster.instances.forEach((instance, index) => {
    const reason = cluster.exclusionReason(index);
    if (reason === null || reported.has(instance.arn)) return;
    reported.add(instance.arn);
    failures.push({ arn: instance.arn, reason });
  });
  return failures;
}
