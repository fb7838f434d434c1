/**
 * Wires the agent together: state file, container runtime, task registry and the control-plane link.
 * Start-up order matters: the engine is watched and inventoried before the first hello, so the
 * snapshot the control plane receives is the truth, including exits that happened while the agent
 * was down.
 */
import Docker from 'dockerode';
import { CONTAINER_LABELS } from '../protocol/labels';
import { AGENT_CONNECT_PATH, PROTOCOL_VERSION } from '../protocol/link';
import { Backoff } from './backoff';
import { AGENT_VERSION, detectedResources, hostAttributes, hostName } from './host-facts';
import { ControlPlaneLink } from './link/control-plane-link';
import { type AgentOptions, agentSocketUrl, DEFAULT_STATE_DIR } from './options';
import { DockerRuntime } from './runtime/docker';
import { describeRuntimeError } from './runtime/runtime-error';
import type { ContainerRuntime } from './runtime/types';
import { StateStore } from './state/state-file';
import { TaskRegistry } from './tasks/task-registry';
import { DOCKER_RECONNECT_BASE_DELAY_MS, DOCKER_RECONNECT_MAX_DELAY_MS } from './timing';

export interface StartAgentOptions extends AgentOptions {
  /** The container runtime; Docker when omitted (a simulated runtime for scale tests). */
  runtime?: ContainerRuntime;
  log?: (line: string) => void;
  /**
   * The agent stopped for good (its credential was revoked): `berth agent` exits with the message.
   * The agent has already stopped when this is called.
   */
  onFatal?: (message: string) => void;
}

export interface RunningAgent {
  /** Closes the link and stops watching; never stops a container (a restarted agent re-adopts them). */
  stop(): Promise<void>;
  /** The instance id the control plane gave this host, once welcomed (kept in the state file). */
  instanceId(): string | undefined;
  /** True while the link is open and welcomed. */
  connected(): boolean;
}

export async function startAgent(options: StartAgentOptions): Promise<RunningAgent> {
  const log = options.log ?? ((line: string) => console.log(`[agent] ${line}`));
  // Exec and logs streams need the engine itself; a simulated runtime (scale tests) has none.
  const docker = options.runtime ? undefined : new Docker();
  const runtime = options.runtime ?? new DockerRuntime(docker);
  const store = await StateStore.open(options.stateDir ?? DEFAULT_STATE_DIR, options.cluster);
  let stopped = false;
  let dockerVersion: string | undefined;

  const registry: TaskRegistry = new TaskRegistry(store, {
    runtime,
    cluster: options.cluster,
    now: Date.now,
    log,
    send: (frame) => link.send(frame),
  });

  const link: ControlPlaneLink = new ControlPlaneLink(
    agentSocketUrl(options.endpoint, AGENT_CONNECT_PATH, options.cluster),
    {
      log,
      credential: () => store.state.instanceCredential ?? options.joinToken,
      onIdentityGone: async () => {
        store.state.instanceId = undefined;
        store.state.containerInstanceArn = undefined;
        store.state.instanceCredential = undefined;
        await store.save();
      },
      hello: async () => {
        const version = dockerVersion ?? (await runtime.version());
        return {
          type: 'hello',
          protocolVersion: PROTOCOL_VERSION,
          agentVersion: AGENT_VERSION,
          instanceId: store.state.instanceId,
          hostname: hostName(),
          resources: detectedResources({ cpu: options.cpu, memoryMiB: options.memoryMiB }),
          attributes: hostAttributes(version, options.attributes, options.capacityProvider),
          reservedPorts: options.reservedPorts,
          dockerVersion: version,
          tasks: await registry.helloSnapshot(),
        };
      },
      onCredentialRevoked: (message) => {
        void stopAgent().then(() => options.onFatal?.(message));
      },
      tasks: registry,
      cluster: options.cluster,
      docker,
    },
  );

  // Inventory after every (re)connection to the engine; a failed one is retried, and the link
  // only opens after the first one succeeded.
  const resyncBackoff = new Backoff(DOCKER_RECONNECT_BASE_DELAY_MS, DOCKER_RECONNECT_MAX_DELAY_MS);
  let resyncRetry: NodeJS.Timeout | undefined;
  let linkStarted = false;
  const resync = async () => {
    clearTimeout(resyncRetry);
    if (stopped) return;
    try {
      dockerVersion = await runtime.version();
      await registry.resync();
      resyncBackoff.reset();
      if (!linkStarted && !stopped) {
        linkStarted = true;
        link.start();
      }
    } catch (error) {
      const delayMs = resyncBackoff.nextDelayMs();
      log(
        `taking inventory of containers failed (${describeRuntimeError(error)}); retrying in ${delayMs} ms`,
      );
      resyncRetry = setTimeout(() => void resync(), delayMs);
    }
  };
  const watcher = runtime.watch(
    { [CONTAINER_LABELS.cluster]: options.cluster },
    {
      onResync: () => void resync(),
      onContainerEvent: (containerId) => void registry.onContainerEvent(containerId),
      onDisconnect: (error) => log(`lost the container engine (${error.message}); reconnecting`),
    },
  );

  async function stopAgent() {
    if (stopped) return;
    stopped = true;
    clearTimeout(resyncRetry);
    watcher.close();
    await link.stop();
    await registry.close();
  }

  return {
    stop: stopAgent,
    instanceId: () => store.state.instanceId,
    connected: () => link.connected(),
  };
}
