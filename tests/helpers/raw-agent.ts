/**
 * A hand-driven agent connection: speaks the protocol frame by frame, so tests can send what a
 * real agent never would (duplicates, stale reports, garbage) to the real control plane.
 */
import WebSocket from 'ws';
import type { AgentFrame, ControlFrame } from '../../protocol/frames';
import { AGENT_CONNECT_PATH, PROTOCOL_VERSION } from '../../protocol/link';
import { parseControlFrame } from '../../protocol/parsing';
import { waitFor } from './wait';

export interface RawAgent {
  socket: WebSocket;
  received: ControlFrame[];
  /** The same frames as sent, byte for byte (the keepalive pong must be an exact string). */
  receivedText: string[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: AgentFrame | string | Buffer): void;
  waitForFrame<T extends ControlFrame['type']>(
    type: T,
    predicate?: (frame: Extract<ControlFrame, { type: T }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<ControlFrame, { type: T }>>;
  close(): void;
}

export async function connectRawAgent(endpoint: string, cluster: string, token: string): Promise<RawAgent> {
  const url = `${endpoint.replace(/^http/, 'ws')}${AGENT_CONNECT_PATH}?cluster=${encodeURIComponent(cluster)}`;
  const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
  const received: ControlFrame[] = [];
  const receivedText: string[] = [];
  socket.on('message', (data) => {
    receivedText.push(data.toString());
    received.push(parseControlFrame(data.toString()));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    received,
    receivedText,
    closed,
    send: (frame) =>
      socket.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame)),
    waitForFrame: (type, predicate = () => true, timeoutMs = 10_000) =>
      waitFor(
        `a ${type} frame (received so far: ${received.map((f) => f.type).join(', ') || 'none'})`,
        () =>
          received.find(
            (f): f is Extract<ControlFrame, { type: typeof type }> =>
              f.type === type && predicate(f as Extract<ControlFrame, { type: typeof type }>),
          ),
        timeoutMs,
      ),
    close: () => socket.close(),
  };
}

export function helloFrame(overrides: Partial<Extract<AgentFrame, { type: 'hello' }>> = {}): AgentFrame {
  return {
    type: 'hello',
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: 'raw-test',
    hostname: 'raw-host',
    resources: { cpu: 4096, memoryMiB: 8192 },
    attributes: [{ name: 'ecs.os-type', value: 'linux' }],
    dockerVersion: '0.0-test',
    tasks: [],
    ...overrides,
  };
}
