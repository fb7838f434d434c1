/**
 * The seam between the agent and whatever runs containers: Docker in production and in end-to-end
 * tests (docker.ts), a simulated runtime for scale tests with thousands of hollow hosts. Methods
 * reject with a ContainerRuntimeError (runtime-error.ts): a name, whether a retry can help, and the
 * engine's status when it has one.
 */
import type { ContainerSpec, NetworkBinding } from '../../protocol/task-frames';

export type NetworkMode = 'bridge' | 'host' | 'none';

export interface CreateContainerRequest {
  /** Deterministic per task and container: creating a name that exists returns the existing container. */
  name: string;
  spec: ContainerSpec;
  networkMode: NetworkMode;
  labels: Record<string, string>;
  /** Legacy links as `<runtime name of the linked container>:<alias>` (bridge mode only). */
  links: string[];
  stopTimeoutSeconds: number;
}

/** What the runtime knows about one container right now. */
export interface ContainerState {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** The process is alive. */
  running: boolean;
  /** The container was started at least once (a created-but-never-started container has not). */
  hasStarted: boolean;
  /** Set once a started container is no longer running: the real exit code of its process. */
  exitCode?: number;
  oomKilled: boolean;
  startedAtMs?: number;
  finishedAtMs?: number;
  /** The runtime's own error for the container, if any (e.g. why it could not start). */
  error?: string;
  networkBindings: NetworkBinding[];
  /** The engine's health check verdict; undefined when the container has no health check. */
  health?: ContainerHealth;
  /** The image's digest (`sha256:…`): the registry's when the engine has one, else the image id. */
  imageDigest?: string;
}

/** Docker's `State.Health.Status` (its `none` is an undefined `health`). */
export type ContainerHealth = 'starting' | 'healthy' | 'unhealthy';

/** `health` is Docker's `health_status: healthy|unhealthy`, sent only when the verdict changes. */
export type ContainerEventKind = 'start' | 'die' | 'oom' | 'health';

export interface RuntimeWatchHandlers {
  /** Something happened to a container; inspect it to learn the truth. */
  onContainerEvent(containerId: string, kind: ContainerEventKind): void;
  /**
   * The connection to the engine (re)opened. Events may have been missed while it was away (or
   * before the first watch), so every container must be inspected again.
   */
  onResync(): void;
  /** The connection to the engine broke; the runtime keeps reconnecting by itself. */
  onDisconnect(error: Error): void;
}

export interface ContainerRuntime {
  /** The engine's version (hello's dockerVersion); rejects while the engine is unreachable. */
  version(): Promise<string>;
  hasImage(image: string): Promise<boolean>;
  /** Pulls an image; rejects with the engine's own message on failure or after `timeoutMs`. */
  pullImage(image: string, timeoutMs: number): Promise<void>;
  /** Creates a container and returns its id; an existing container with the same name is adopted. */
  createContainer(request: CreateContainerRequest): Promise<string>;
  /** Starts a container; starting a running container is not an error. */
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `timeoutSeconds`; stopping a stopped or missing container is not an error. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Looks a container up by id or name; undefined when it does not exist. */
  inspectContainer(idOrName: string): Promise<ContainerState | undefined>;
  /** Every container (running or not) carrying all of the given labels. */
  listContainers(labels: Record<string, string>): Promise<ContainerState[]>;
  /** Watches containers carrying all of the given labels until `close()`. */
  watch(labels: Record<string, string>, handlers: RuntimeWatchHandlers): { close(): void };
}
