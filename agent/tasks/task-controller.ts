/**
 * One task on this host: starts its containers in dependency order, follows what the runtime
 * reports about them, and stops them. It owns the task's observed state (`record.observed`) and
 * calls `onChange` after every change; the registry turns changes into sequenced reports.
 *
 * Known status only moves forward (PENDING -> RUNNING -> STOPPED, per container and per task), and
 * a container that has run is never started again, so repeating any step is harmless.
 */
import { CONTAINER_LABELS } from '../../protocol/labels';
import type { StopCode } from '../../protocol/statuses';
import type { ContainerSpec, HealthStatus, ObservedContainer } from '../../protocol/task-frames';
import { errorMessage } from '../errors';
import { describeRuntimeError } from '../runtime/runtime-error';
import type { ContainerHealth, ContainerRuntime, ContainerState } from '../runtime/types';
import type { PersistedTask } from '../state/state-file';
import { DEFAULT_STOP_TIMEOUT_SECONDS } from '../timing';
import { dependentsOf, TaskStartFailure } from './dependencies';
import { startTaskContainers } from './start-sequence';
import { ConditionWaiters } from './waiting';

const ESSENTIAL_EXIT_REASON = 'Essential container in task exited';
const OOM_REASON = 'OutOfMemoryError: Container killed due to memory usage';
const REMOVED_REASON = 'ContainerRemoved: the container was removed outside the agent';

/** Docker's verdict in ECS's words: a check not yet decided (`starting`) is UNKNOWN. */
const HEALTH_STATUS_OF: Record<ContainerHealth, HealthStatus> = {
  starting: 'UNKNOWN',
  healthy: 'HEALTHY',
  unhealthy: 'UNHEALTHY',
};

export interface StopCause {
  /** Unset for stops the control plane asked for: it keeps the code it recorded. */
  stopCode?: StopCode;
  reason?: string;
}

export interface TaskControllerDeps {
  runtime: ContainerRuntime;
  cluster: string;
  instanceId(): string | undefined;
  now(): number;
  log(line: string): void;
  onChange(task: TaskController): void;
}

export class TaskController {
  private readonly runtimeStates = new Map<string, ContainerState>();
  private readonly waiters = new ConditionWaiters();
  private readonly abort = new AbortController();
  private startSequence: Promise<void> | undefined;
  private stopSequence: Promise<void> | undefined;

  constructor(
    readonly record: PersistedTask,
    private readonly deps: TaskControllerDeps,
  ) {}

  get taskArn(): string {
    return this.record.taskArn;
  }

  /** Takes the control plane's spec (a task found from labels alone gets one later). */
  adoptSpec(): void {
    const spec = this.record.spec;
    if (!spec) return;
    const known = new Map(this.record.observed.containers.map((c) => [c.name, c]));
    this.record.observed.containers = spec.containers.map(
      (c) => known.get(c.name) ?? { name: c.name, lastStatus: 'PENDING' },
    );
    // Containers found running before the spec came: which of them has a check is known only now.
    for (const [name, state] of this.runtimeStates) this.recordHealth(this.observedContainer(name), state);
  }

  /** Acts on the desired status and on what is known: resumes a start, stops, or reacts to an exit. */
  reevaluate(): void {
    if (this.record.desiredStatus === 'STOPPED') {
      void this.stop({ reason: this.record.stopReason });
      return;
    }
    for (const [name, state] of this.runtimeStates) {
      if (state.hasStarted && !state.running) this.onContainerExited(name);
    }
    this.ensureStarted();
  }

  /** Records the runtime's truth about one of this task's containers. */
  observe(state: ContainerState): void {
    const name = this.containerNameOf(state);
    this.runtimeStates.set(name, state);
    const container = this.observedContainer(name);
    container.runtimeId = state.id;
    if (state.imageDigest) container.imageDigest = state.imageDigest;
    if (state.running && container.lastStatus === 'PENDING') container.lastStatus = 'RUNNING';
    if (state.running && container.lastStatus === 'RUNNING') {
      container.networkBindings = this.networkBindingsOf(name, state);
      this.recordHealth(container, state);
    }
    if (state.hasStarted && !state.running) {
      container.lastStatus = 'STOPPED';
      container.exitCode = state.exitCode;
      if (state.oomKilled) container.reason ??= OOM_REASON;
    }
    this.markRunningWhenAllStarted();
    this.waiters.notify();
    if (state.hasStarted && !state.running) this.onContainerExited(name);
    this.deps.onChange(this);
  }

  /** After an engine resync: containers the task had but the engine no longer knows were removed. */
  observeInventory(states: ContainerState[]): void {
    for (const state of states) this.observe(state);
    const seen = new Set(states.map((s) => this.containerNameOf(s)));
    for (const container of this.record.observed.containers) {
      if (!container.runtimeId || seen.has(container.name) || container.lastStatus === 'STOPPED') continue;
      this.runtimeStates.delete(container.name);
      container.lastStatus = 'STOPPED';
      container.reason ??= REMOVED_REASON;
      this.deps.onChange(this);
      this.onContainerExited(container.name);
    }
  }

  /** Stops every container (dependents first) and reports the task STOPPED. Idempotent. */
  stop(cause: StopCause): Promise<void> {
    if (this.record.observed.lastStatus === 'STOPPED') return Promise.resolve();
    this.stopSequence ??= this.runStopSequence(cause).catch((error: unknown) => {
      // Typically the engine went away; the next resync calls reevaluate, which tries again.
      this.deps.log(`stopping ${this.taskArn} failed: ${describeRuntimeError(error)}`);
      this.stopSequence = undefined;
    });
    return this.stopSequence;
  }

  /** Agent shutdown: abandon a start in progress without touching containers. */
  async detach(): Promise<void> {
    this.abort.abort(new Error('agent stopping'));
    await this.startSequence;
  }

  private specOf(name: string): ContainerSpec | undefined {
    return this.record.spec?.containers.find((c) => c.name === name);
  }

  private containerNameOf(state: ContainerState): string {
    return state.labels[CONTAINER_LABELS.containerName] ?? state.name;
  }

  private observedContainer(name: string): ObservedContainer {
    let container = this.record.observed.containers.find((c) => c.name === name);
    if (!container) {
      container = { name, lastStatus: 'PENDING' };
      this.record.observed.containers.push(container);
    }
    return container;
  }

  /** Only a check from the task definition is reported; an image's own HEALTHCHECK is not (as in ECS). */
  private recordHealth(container: ObservedContainer, state: ContainerState): void {
    if (!state.running || container.lastStatus !== 'RUNNING' || !this.specOf(container.name)?.healthCheck)
      return;
    container.healthStatus = HEALTH_STATUS_OF[state.health ?? 'starting'];
  }

  private networkBindingsOf(name: string, state: ContainerState) {
    if (this.record.spec?.networkMode !== 'host') return state.networkBindings;
    // With the host's network namespace a container port is the host port.
    return (this.specOf(name)?.portMappings ?? []).map((m) => ({
      bindIP: '0.0.0.0',
      containerPort: m.containerPort,
      hostPort: m.hostPort || m.containerPort,
      protocol: m.protocol,
    }));
  }

  /** ECS: a task is RUNNING once every container has started (some may have completed by design). */
  private markRunningWhenAllStarted(): void {
    const observed = this.record.observed;
    if (observed.lastStatus !== 'PENDING' || this.stopSequence || observed.containers.length === 0) return;
    if (observed.containers.some((c) => c.lastStatus === 'PENDING')) return;
    observed.lastStatus = 'RUNNING';
    observed.startedAtMs ??= this.deps.now();
    this.deps.log(`task ${this.taskArn} running`);
  }

  private onContainerExited(name: string): void {
    if (this.stopSequence || this.record.observed.lastStatus === 'STOPPED') return;
    // Without a spec the agent cannot tell an essential container; the control plane's spec will.
    if (!this.specOf(name)?.essential) return;
    void this.stop({ stopCode: 'EssentialContainerExited', reason: ESSENTIAL_EXIT_REASON });
  }

  private ensureStarted(): void {
    if (this.startSequence || this.stopSequence || !this.record.spec) return;
    if (this.record.observed.lastStatus !== 'PENDING') return;
    this.startSequence = this.runStartSequence();
  }

  private async runStartSequence(): Promise<void> {
    const { signal } = this.abort;
    const spec = this.record.spec!;
    try {
      // The first report (PENDING, with the pull start) comes from markPull('started').
      await startTaskContainers(
        {
          ...this.deps,
          taskArn: this.taskArn,
          generation: this.record.generation,
          stateOf: (name) => this.runtimeStates.get(name),
          observe: (state) => this.observe(state),
          waiters: this.waiters,
          markPull: (phase) => {
            const observed = this.record.observed;
            if (phase === 'started') observed.pullStartedAtMs ??= this.deps.now();
            else observed.pullStoppedAtMs ??= this.deps.now();
            this.deps.onChange(this);
          },
        },
        spec,
        signal,
      );
    } catch (error) {
      if (signal.aborted) return;
      const failure =
        error instanceof TaskStartFailure ? error : new TaskStartFailure(errorMessage(error), []);
      for (const name of failure.containerNames) this.observedContainer(name).reason ??= failure.message;
      void this.stop({ stopCode: 'TaskFailedToStart', reason: failure.message });
    }
  }

  private async runStopSequence(cause: StopCause): Promise<void> {
    this.abort.abort(new Error('task is stopping'));
    await this.startSequence;
    const containers = this.record.spec?.containers ?? [];
    const stopping = new Map<string, Promise<void>>();
    // Dependents stop before what they depend on, as ECS does; unrelated containers stop together.
    const stopInOrder = (name: string): Promise<void> => {
      let promise = stopping.get(name);
      if (!promise) {
        promise = Promise.all(dependentsOf(containers, name).map((d) => stopInOrder(d.name))).then(() =>
          this.stopContainer(name),
        );
        stopping.set(name, promise);
      }
      return promise;
    };
    const names = new Set([...containers.map((c) => c.name), ...this.runtimeStates.keys()]);
    await Promise.all([...names].map(stopInOrder));
    const observed = this.record.observed;
    for (const container of observed.containers) container.lastStatus = 'STOPPED';
    observed.lastStatus = 'STOPPED';
    observed.stopCode = cause.stopCode;
    observed.stoppedReason = cause.reason;
    observed.executionStoppedAtMs = this.deps.now();
    this.deps.log(`task ${this.taskArn} stopped${cause.reason ? `: ${cause.reason}` : ''}`);
    this.deps.onChange(this);
  }

  private async stopContainer(name: string): Promise<void> {
    const known = this.runtimeStates.get(name);
    if (!known) return;
    const current = await this.deps.runtime.inspectContainer(known.id);
    if (!current) {
      this.observedContainer(name).reason ??= REMOVED_REASON;
      return;
    }
    if (current.running) {
      const timeoutSeconds = this.specOf(name)?.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS;
      await this.deps.runtime.stopContainer(current.id, timeoutSeconds);
    }
    const after = current.running ? await this.deps.runtime.inspectContainer(current.id) : current;
    if (after) this.observe(after);
  }
}
