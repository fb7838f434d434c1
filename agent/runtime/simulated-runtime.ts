/**
 * A container runtime that runs nothing: containers live in a Map, "run" as soon as they are started
 * (or after `startDelayMs`), and exit when stopped. It lets one process host hundreds of real agents
 * (hollow hosts) against one control plane without Docker. Never a stand-in for Docker in
 * end-to-end tests; the agent's Docker path is tested against a real engine.
 */
import { randomBytes } from 'node:crypto';
import type {
  ContainerEventKind,
  ContainerHealth,
  ContainerRuntime,
  ContainerState,
  CreateContainerRequest,
  RuntimeWatchHandlers,
} from './types';

/** What a SIGTERM'd process reports, as Docker shows it (128 + 15). */
export const STOPPED_EXIT_CODE = 143;
export const SIMULATED_ENGINE_VERSION = '0.0-hollow';

export interface SimulatedRuntimeOptions {
  /** How long `startContainer` takes before the container runs; 0 (the default) runs it at once. */
  startDelayMs?: number;
  /** How long `stopContainer` takes before the container exits; 0 (the default) exits at once. */
  stopDelayMs?: number;
  /** Images the engine already holds; every other image is pulled (instantly). All are present when omitted. */
  presentImages?: string[];
}

interface Watcher {
  labels: Record<string, string>;
  handlers: RuntimeWatchHandlers;
}

const hasLabels = (state: ContainerState, labels: Record<string, string>) =>
  Object.entries(labels).every(([name, value]) => state.labels[name] === value);

/** Callers get their own copy, as they would from a real engine's inspect. */
const copyOf = (state: ContainerState): ContainerState => ({
  ...state,
  labels: { ...state.labels },
  networkBindings: [...state.networkBindings],
});

const delay = (ms: number) => (ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : undefined);

export class SimulatedRuntime implements ContainerRuntime {
  private readonly byId = new Map<string, ContainerState>();
  private readonly idByName = new Map<string, string>();
  /** Containers created with a health check: they are `starting` from each start until `setHealth`. */
  private readonly checked = new Set<string>();
  private readonly watchers = new Set<Watcher>();
  private readonly images: Set<string> | undefined;

  constructor(private readonly options: SimulatedRuntimeOptions = {}) {
    this.images = options.presentImages ? new Set(options.presentImages) : undefined;
  }

  /** How many containers are running right now. */
  runningCount(): number {
    let running = 0;
    for (const state of this.byId.values()) if (state.running) running++;
    return running;
  }

  async version(): Promise<string> {
    return SIMULATED_ENGINE_VERSION;
  }

  async hasImage(image: string): Promise<boolean> {
    return this.images === undefined || this.images.has(image);
  }

  async pullImage(image: string): Promise<void> {
    this.images?.add(image);
  }

  async createContainer(request: CreateContainerRequest): Promise<string> {
    const existing = this.idByName.get(request.name);
    if (existing) return existing;
    const id = randomBytes(32).toString('hex');
    this.byId.set(id, {
      id,
      name: request.name,
      labels: { ...request.labels },
      running: false,
      hasStarted: false,
      oomKilled: false,
      networkBindings: [],
    });
    this.idByName.set(request.name, id);
    if (request.spec.healthCheck) this.checked.add(id);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const state = this.require(id);
    if (state.running) return;
    await delay(this.options.startDelayMs ?? 0);
    state.running = true;
    state.hasStarted = true;
    state.startedAtMs = Date.now();
    state.exitCode = undefined;
    state.finishedAtMs = undefined;
    if (this.checked.has(id)) state.health = 'starting';
    this.emit(state, 'start');
  }

  async stopContainer(id: string): Promise<void> {
    const state = this.byId.get(id);
    if (!state?.running) return;
    await delay(this.options.stopDelayMs ?? 0);
    if (!state.running) return;
    state.running = false;
    state.exitCode = STOPPED_EXIT_CODE;
    state.finishedAtMs = Date.now();
    this.emit(state, 'die');
  }

  /** A container's process ends by itself (it finished, or crashed) with this exit code. */
  exitContainer(idOrName: string, exitCode: number): void {
    const state = this.find(idOrName);
    if (!state?.running) throw new Error(`container ${idOrName} is not running`);
    state.running = false;
    state.exitCode = exitCode;
    state.finishedAtMs = Date.now();
    this.emit(state, 'die');
  }

  /**
   * The health check's verdict changes, as Docker's probes would decide; like Docker, an event is
   * sent only for a change to healthy or unhealthy.
   */
  setHealth(idOrName: string, health: ContainerHealth): void {
    const state = this.find(idOrName);
    if (!state?.running || !this.checked.has(state.id)) {
      throw new Error(`container ${idOrName} is not running with a health check`);
    }
    if (state.health === health) return;
    state.health = health;
    if (health !== 'starting') this.emit(state, 'health');
  }

  async inspectContainer(idOrName: string): Promise<ContainerState | undefined> {
    const state = this.find(idOrName);
    return state ? copyOf(state) : undefined;
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerState[]> {
    return [...this.byId.values()].filter((s) => hasLabels(s, labels)).map(copyOf);
  }

  watch(labels: Record<string, string>, handlers: RuntimeWatchHandlers): { close(): void } {
    const watcher = { labels, handlers };
    this.watchers.add(watcher);
    // Like Docker's event stream: the first connection asks for an inventory, after `watch` returns.
    setImmediate(() => {
      if (this.watchers.has(watcher)) handlers.onResync();
    });
    return { close: () => this.watchers.delete(watcher) };
  }

  /** A container by id or by name, as Docker's API accepts either. */
  private find(idOrName: string): ContainerState | undefined {
    return this.byId.get(idOrName) ?? this.byId.get(this.idByName.get(idOrName) ?? '');
  }

  private require(id: string): ContainerState {
    const state = this.byId.get(id);
    if (!state) throw new Error(`No such container: ${id}`);
    return state;
  }

  /** Events arrive after the call that caused them returns, as they do from a real engine. */
  private emit(state: ContainerState, kind: ContainerEventKind): void {
    for (const { labels, handlers } of this.watchers) {
      if (hasLabels(state, labels)) setImmediate(() => handlers.onContainerEvent(state.id, kind));
    }
  }
}
