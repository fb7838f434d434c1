/**
 * The agent's one connection to the control plane: an outbound WebSocket that says hello first,
 * sends the keepalive every heartbeat interval, hands every frame it receives to its handler
 * (agent/handlers/), one at a time (a command is taken at once; its answer, which waits for the
 * state file, does not hold up the next frame), and reconnects with exponential backoff and full
 * jitter whenever the link breaks or goes silent.
 */
import type Docker from 'dockerode';
import WebSocket from 'ws';
import type { AgentFrame, ControlFrame } from '../../protocol/frames';
import {
  CLOSE_CODES,
  CONNECT_REFUSAL,
  HEARTBEAT_INTERVAL_MS,
  KEEPALIVE_PING,
  MAX_FRAME_BYTES,
  SILENT_INTERVALS_BEFORE_CUT,
} from '../../protocol/link';
import { ProtocolError, parseControlFrame } from '../../protocol/parsing';
import { decodeStreamData } from '../../protocol/streams';
import { Backoff } from '../backoff';
import { type AgentTasks, ANSWERED_WHEN_DURABLE, type HandlerContext, handleControlFrame } from '../handlers';
import { AgentStreams } from '../streams/agent-streams';
import {
  CONNECT_TIMEOUT_MS,
  RECONNECT_BASE_DELAY_MS,
  RECONNECT_MAX_DELAY_MS,
  REJECTED_BASE_DELAY_MS,
  REJECTED_MAX_DELAY_MS,
} from '../timing';

export interface LinkDeps {
  /** The bearer credential for the next connect: the instance's own once registered, else the join token. */
  credential(): string;
  /**
   * The control plane says the instance this agent proved to be was deregistered (HTTP 410): the
   * agent forgets that identity, so its next connect registers a new instance with the join token.
   */
  onIdentityGone(): Promise<void>;
  /**
   * An admin revoked this instance's credential (close 4012, or a 403 marked `credential-revoked`
   * at connect): the link stops for good; the join token must not quietly make the host a new instance.
   */
  onCredentialRevoked?(message: string): void;
  /** Built for every connection: the snapshot must be the truth at that moment. */
  hello(): Promise<AgentFrame>;
  /** What the control plane's frames act on. */
  tasks: AgentTasks;
  log(line: string): void;
  /** The cluster's name: a stream may only reach containers labelled with it. */
  cluster: string;
  /** The engine exec and logs streams use; without one, streams are refused. */
  docker?: Docker;
}

/** How long `stop()` waits for the control plane to answer a close before cutting the socket. */
const CLOSE_GRACE_MS = 1_000;

const HTTP_REJECTIONS: Record<number, string> = {
  401: 'the control plane rejected the join token or instance credential (HTTP 401)',
  403: 'the control plane refused the connection (HTTP 403)',
  404: 'the control plane does not know this cluster or connect path (HTTP 404)',
};
const CLOSE_REJECTIONS: Partial<Record<number, string>> = {
  [CLOSE_CODES.unauthorized]: 'the control plane rejected the join token (close 4001)',
  [CLOSE_CODES.clusterNotFound]: 'the control plane does not know this cluster (close 4004)',
  [CLOSE_CODES.registrationRateLimited]: 'the join token registered too many instances recently (close 4030)',
};
/** The control plane's answer when the instance an agent proved to be was deregistered. */
const HTTP_GONE = 410;
const REVOKED_MESSAGE =
  "an admin revoked this instance's credential; the agent stops and will not reconnect (to bring the host back, remove its state file and join it again with a new join token)";

export class ControlPlaneLink {
  private socket: WebSocket | undefined;
  /** The exec and logs streams of the current connection; they end with it. */
  private streams: AgentStreams | undefined;
  private welcomed = false;
  private stopped = false;
  private heartbeatIntervalMs = HEARTBEAT_INTERVAL_MS;
  private lastHeardAtMs = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Why the last attempt failed, when the control plane refused us rather than the network failing. */
  private rejection: string | undefined;
  private lastError: string | undefined;
  /** Frames are handled one at a time, in arrival order, so a command never overtakes the welcome. */
  private inbox: Promise<void> = Promise.resolve();
  private readonly backoff = new Backoff(RECONNECT_BASE_DELAY_MS, RECONNECT_MAX_DELAY_MS);
  private readonly rejectedBackoff = new Backoff(REJECTED_BASE_DELAY_MS, REJECTED_MAX_DELAY_MS);

  /** Set by an HTTP 410: the next attempt registers afresh, without waiting out a backoff. */
  private identityGone = false;
  /** Set by a refusal that means the credential was revoked: no further attempt. */
  private revoked = false;

  constructor(
    private readonly url: string,
    private readonly deps: LinkDeps,
  ) {}

  start(): void {
    this.connect();
  }

  /** Welcomed and open: reports sent now reach the control plane. */
  connected(): boolean {
    return this.welcomed && this.socket?.readyState === WebSocket.OPEN;
  }

  /** Sends a frame on a welcomed link; false otherwise (the next hello carries the truth instead). */
  send(frame: AgentFrame): boolean {
    if (!this.connected()) return false;
    this.socket!.send(JSON.stringify(frame));
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    const socket = this.socket;
    this.socket = undefined;
    this.welcomed = false;
    this.streams?.closeAll('the agent is stopping');
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const cut = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
      socket.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      if (socket.readyState === WebSocket.OPEN) socket.close(CLOSE_CODES.normal, 'agent stopping');
      else socket.terminate();
    });
  }

  private connect(): void {
    if (this.stopped) return;
    this.rejection = undefined;
    this.lastError = undefined;
    const socket = new WebSocket(this.url, {
      headers: { Authorization: `Bearer ${this.deps.credential()}` },
      handshakeTimeout: CONNECT_TIMEOUT_MS,
      maxPayload: MAX_FRAME_BYTES,
    });
    this.socket = socket;
    const streams = new AgentStreams(
      this.deps.docker,
      this.deps.cluster,
      {
        sendFrame: (frame) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
        },
        sendData: (frame) => {
          if (socket.readyState === WebSocket.OPEN) socket.send(frame);
        },
      },
      this.deps.log,
    );
    this.streams = streams;
    socket.on('unexpected-response', (_request, response) => {
      this.identityGone = response.statusCode === HTTP_GONE;
      this.revoked = response.headers[CONNECT_REFUSAL.header] === CONNECT_REFUSAL.credentialRevoked;
      this.rejection = HTTP_REJECTIONS[response.statusCode ?? 0];
      this.lastError = `HTTP ${response.statusCode}`;
      socket.terminate();
    });
    socket.on('open', () => void this.onOpen(socket));
    socket.on('message', (data, isBinary) => {
      if (socket !== this.socket) return;
      this.lastHeardAtMs = Date.now();
      if (isBinary) {
        // Stream data (stdin) keeps its place behind the streamOpen that came before it.
        const streamData = decodeStreamData(new Uint8Array(data as Buffer));
        if (!streamData) this.deps.log('ignoring a binary frame that is not stream data');
        else this.inbox = this.inbox.then(() => streams.input(streamData));
        return;
      }
      const raw = data.toString();
      this.inbox = this.inbox
        .then(() => this.onMessage(socket, raw))
        .catch((error: unknown) => this.deps.log(`handling a frame failed: ${String(error)}`));
    });
    socket.on('ping', () => {
      this.lastHeardAtMs = Date.now();
    });
    socket.on('pong', () => {
      this.lastHeardAtMs = Date.now();
    });
    socket.on('error', (error) => {
      this.lastError ??= error.message;
    });
    socket.on('close', (code, reason) => {
      streams.closeAll('the link to the control plane closed');
      this.onClose(socket, code, reason.toString());
    });
  }

  private async onOpen(socket: WebSocket): Promise<void> {
    this.lastHeardAtMs = Date.now();
    this.armHeartbeat(socket, HEARTBEAT_INTERVAL_MS);
    try {
      const hello = await this.deps.hello();
      if (socket === this.socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(hello));
    } catch (error) {
      this.deps.log(`could not build hello: ${error instanceof Error ? error.message : String(error)}`);
      socket.terminate();
    }
  }

  /**
   * Sends the keepalive every interval; a link silent for SILENT_INTERVALS_BEFORE_CUT intervals is
   * cut and redialled. The keepalive is the fixed KEEPALIVE_PING, never a timestamped ping: a Workers
   * host answers exactly that frame without waking the cluster's Durable Object.
   */
  private armHeartbeat(socket: WebSocket, intervalMs: number): void {
    this.heartbeatIntervalMs = intervalMs;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (socket !== this.socket) return;
      const silentMs = Date.now() - this.lastHeardAtMs;
      if (silentMs > SILENT_INTERVALS_BEFORE_CUT * this.heartbeatIntervalMs) {
        this.deps.log(`control plane silent for ${silentMs} ms; reconnecting`);
        this.lastError = 'heartbeat timeout';
        socket.terminate();
        return;
      }
      if (socket.readyState === WebSocket.OPEN) socket.send(KEEPALIVE_PING);
    }, intervalMs);
  }

  private async onMessage(socket: WebSocket, raw: string | Uint8Array): Promise<void> {
    let frame: ControlFrame;
    try {
      frame = parseControlFrame(raw);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.deps.log(`closing the link: ${error.message}`);
      socket.close(error.closeCode, error.message.slice(0, 120));
      return;
    }
    const handled = handleControlFrame(frame, this.contextFor(socket));
    // A command is taken in memory by now; its answer waits for the state file, the next frame need not.
    if (ANSWERED_WHEN_DURABLE.has(frame.type)) {
      handled.catch((error: unknown) => this.deps.log(`handling a frame failed: ${String(error)}`));
      return;
    }
    await handled;
  }

  /** What a handler may do, bound to the connection its frame arrived on. */
  private contextFor(socket: WebSocket): HandlerContext {
    return {
      tasks: this.deps.tasks,
      streams: this.streams!,
      log: this.deps.log,
      reply: (frame) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
      },
      welcomed: (heartbeatIntervalMs) => {
        if (socket !== this.socket) return;
        this.welcomed = true;
        this.backoff.reset();
        this.rejectedBackoff.reset();
        this.armHeartbeat(socket, heartbeatIntervalMs);
      },
    };
  }

  private onClose(socket: WebSocket, code: number, reason: string): void {
    if (socket !== this.socket) return;
    clearInterval(this.heartbeatTimer);
    this.socket = undefined;
    const wasWelcomed = this.welcomed;
    this.welcomed = false;
    if (this.stopped) return;
    if (this.revoked || code === CLOSE_CODES.credentialRevoked) {
      this.stopped = true;
      this.deps.log(REVOKED_MESSAGE);
      this.deps.onCredentialRevoked?.(REVOKED_MESSAGE);
      return;
    }
    if (this.identityGone) {
      this.identityGone = false;
      this.deps.log('the control plane says this instance was deregistered; registering as a new instance');
      void this.deps
        .onIdentityGone()
        .catch((error: unknown) => this.deps.log(`forgetting the identity failed: ${String(error)}`))
        .then(() => {
          if (!this.stopped) this.connect();
        });
      return;
    }
    const rejection = this.rejection ?? CLOSE_REJECTIONS[code];
    const delayMs = rejection ? this.rejectedBackoff.nextDelayMs() : this.backoff.nextDelayMs();
    const why =
      rejection ??
      `${wasWelcomed ? 'link closed' : 'could not connect'} (${this.describeClose(code, reason)})`;
    this.deps.log(`${why}; retrying in ${delayMs} ms`);
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  private describeClose(code: number, reason: string): string {
    const parts = [`code ${code}`];
    if (reason) parts.push(reason);
    if (this.lastError) parts.push(this.lastError);
    return parts.join(', ');
  }
}
