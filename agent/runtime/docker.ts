/**
 * The Docker implementation of the container runtime, through dockerode (DOCKER_HOST or the local
 * socket). Every failure leaves as a ContainerRuntimeError with Docker's status (docker-errors.ts).
 */
import Docker from 'dockerode';
import { STOP_CALL_MARGIN_MS } from '../timing';
import { dockerCreateOptions, networkBindingsOf } from './docker-config';
import { dockerError, dockerStatusCode } from './docker-errors';
import { watchDockerEvents } from './docker-events';
import { ContainerRuntimeError } from './runtime-error';
import type {
  ContainerHealth,
  ContainerRuntime,
  ContainerState,
  CreateContainerRequest,
  RuntimeWatchHandlers,
} from './types';

/** Docker's zero time: StartedAt of a container that never started. */
const NEVER = '0001-01-01T00:00:00Z';

function timeMs(text: string | undefined): number | undefined {
  if (!text || text.startsWith('0001-01-01')) return undefined;
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/**
 * The digest ECS reports for an image: the registry's content digest (the `sha256:…` after the `@`
 * of a RepoDigests entry, preferring the entry of the repository the container was created from),
 * else the local image id, which is also `sha256:…`. Exported for its unit test.
 */
export function imageDigestOf(image: { Id: string; RepoDigests?: string[] }, reference: string): string {
  const digests = (image.RepoDigests ?? []).filter((d) => d.includes('@'));
  const repository = repositoryOf(reference);
  const chosen = digests.find((d) => d.slice(0, d.lastIndexOf('@')) === repository) ?? digests[0];
  return chosen ? chosen.slice(chosen.lastIndexOf('@') + 1) : image.Id;
}

/** `registry/name:tag` or `name@sha256:…` without its tag or digest, in the form Docker lists it. */
function repositoryOf(reference: string): string {
  const withoutDigest = reference.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const name = colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
  // Docker Hub's official images are listed without the implied library/ prefix or registry.
  return name.replace(/^(docker\.io\/)?(library\/)?/, '');
}

function containerStateOf(info: Docker.ContainerInspectInfo): ContainerState {
  const { State: state } = info;
  const hasStarted = state.StartedAt !== NEVER && timeMs(state.StartedAt) !== undefined;
  const running = state.Running || state.Restarting || state.Paused;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    labels: info.Config.Labels ?? {},
    running,
    hasStarted,
    exitCode: hasStarted && !running ? state.ExitCode : undefined,
    oomKilled: state.OOMKilled,
    startedAtMs: timeMs(state.StartedAt),
    finishedAtMs: timeMs(state.FinishedAt),
    error: state.Error || undefined,
    networkBindings: running ? networkBindingsOf(info.NetworkSettings.Ports) : [],
    health: healthOf(state.Health?.Status),
  };
}

const HEALTH_VALUES: readonly string[] = ['starting', 'healthy', 'unhealthy'] satisfies ContainerHealth[];

function healthOf(status: string | undefined): ContainerHealth | undefined {
  return status && HEALTH_VALUES.includes(status) ? (status as ContainerHealth) : undefined;
}

const isStatus = (error: unknown, ...codes: number[]) => codes.includes(dockerStatusCode(error) ?? 0);

export class DockerRuntime implements ContainerRuntime {
  /** Image id → digest: an image id names fixed content, so one image inspect per image suffices. */
  private readonly digests = new Map<string, string>();

  constructor(private readonly docker: Docker = new Docker()) {}

  async version(): Promise<string> {
    try {
      return (await this.docker.version()).Version;
    } catch (error) {
      throw dockerError(error, 'NoSuchContainer');
    }
  }

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (error) {
      if (isStatus(error, 404)) return false;
      throw dockerError(error, 'NoSuchImage');
    }
  }

  async pullImage(image: string, timeoutMs: number): Promise<void> {
    const abort = new AbortController();
    const timer = setTimeout(
      () =>
        abort.abort(
          new ContainerRuntimeError('Timeout', `pulling ${image} took longer than ${timeoutMs} ms`, true),
        ),
      timeoutMs,
    );
    try {
      const stream = (await this.docker.pull(image, { abortSignal: abort.signal })) as NodeJS.ReadableStream;
      await new Promise<void>((resolve, reject) => {
        abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true });
        this.docker.modem.followProgress(stream, (error: Error | null) =>
          error ? reject(error) : resolve(),
        );
      });
    } catch (error) {
      if (abort.signal.aborted) throw abort.signal.reason as ContainerRuntimeError;
      throw dockerError(error, 'NoSuchImage');
    } finally {
      clearTimeout(timer);
    }
  }

  async createContainer(request: CreateContainerRequest): Promise<string> {
    try {
      const container = await this.docker.createContainer(dockerCreateOptions(request));
      return container.id;
    } catch (error) {
      // The name is deterministic: a conflict means an earlier attempt created it, so adopt it.
      if (isStatus(error, 409)) {
        const existing = await this.inspectContainer(request.name);
        if (existing) return existing.id;
      }
      // Creating answers 404 only for a missing image.
      throw dockerError(error, 'NoSuchImage');
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (error) {
      if (isStatus(error, 304)) return;
      throw dockerError(error, 'NoSuchContainer');
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    try {
      // Docker waits out the stop timeout itself; the margin only guards against an engine that never answers.
      const abortSignal = AbortSignal.timeout(timeoutSeconds * 1000 + STOP_CALL_MARGIN_MS);
      await this.docker.getContainer(id).stop({ t: timeoutSeconds, abortSignal });
    } catch (error) {
      if (isStatus(error, 304, 404)) return;
      throw dockerError(error, 'NoSuchContainer');
    }
  }

  async inspectContainer(idOrName: string): Promise<ContainerState | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(idOrName).inspect();
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw dockerError(error, 'NoSuchContainer');
    }
    return { ...containerStateOf(info), imageDigest: await this.imageDigest(info.Image, info.Config.Image) };
  }

  /** The digest of the image a container runs; its id alone when the image can't be inspected (removed since). */
  private async imageDigest(imageId: string, reference: string): Promise<string | undefined> {
    if (!imageId) return undefined;
    const known = this.digests.get(imageId);
    if (known) return known;
    try {
      const digest = imageDigestOf(await this.docker.getImage(imageId).inspect(), reference);
      this.digests.set(imageId, digest);
      return digest;
    } catch {
      return imageId;
    }
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerState[]> {
    const listed = await this.docker
      .listContainers({
        all: true,
        filters: { label: Object.entries(labels).map(([name, value]) => `${name}=${value}`) },
      })
      .catch((error: unknown) => {
        throw dockerError(error, 'NoSuchContainer');
      });
    const states = await Promise.all(listed.map((summary) => this.inspectContainer(summary.Id)));
    return states.filter((state) => state !== undefined);
  }

  watch(labels: Record<string, string>, handlers: RuntimeWatchHandlers): { close(): void } {
    return watchDockerEvents(this.docker, labels, handlers);
  }
}
