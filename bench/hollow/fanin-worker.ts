/**
 * A load-generator process of light hollow hosts for fanin: raw WebSocket clients that speak just
 * enough of the agent protocol to be connected hosts (hello; answer pings; ping at the interval the
 * welcome names) without the agent's runtime, state file or task registry, so 10,000 of them fit on
 * the load side of a 2-core machine. With `speakProtocol: false` (the echo reference) they only
 * send the same pings and read the echoes. Driven over IPC by bench/hollow/load-process.ts.
 */
import WebSocket from 'ws';
import { type AgentFrame, PROTOCOL_VERSION } from '../../protocol/agent-protocol';
import type { FaninStart, LoadCommand, LoadReport } from './fleet-messages';

/** Until a welcome names the interval (and for the echo reference): the control plane's default. */
const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;
const HANDSHAKE_TIMEOUT_MS = 60_000;
const NOTABLE_LOG_LIMIT = 20;
/** A host whose connection fails before it is connected tries again, like an agent, this many times. */
const CONNECT_ATTEMPTS = 5;
const RETRY_DELAY_MS = 1_000;

const sockets: WebSocket[] = [];
const timers: NodeJS.Timeout[] = [];
const notableLogs: string[] = [];
/** Hosts connected right now. */
const connectedSockets = new Set<WebSocket>();
/** Connected hosts whose socket closed while the benchmark was still measuring. */
let dropped = 0;
let stopping = false;

function note(line: string) {
  if (notableLogs.length < NOTABLE_LOG_LIMIT) notableLogs.push(line);
}

function report(type: LoadReport['type'], error?: string, then?: () => void): void {
  const usage = process.cpuUsage();
  const message: LoadReport = {
    type,
    connected: connectedSockets.size,
    cpuMs: (usage.user + usage.system) / 1000,
    rssMiB: process.memoryUsage.rss() / (1024 * 1024),
    notableLogs: dropped > 0 ? [`${dropped} connections dropped`, ...notableLogs] : notableLogs,
    error,
  };
  process.send?.(message, undefined, {}, () => then?.());
}

function hello(hostIndex: number): AgentFrame {
  return {
    type: 'hello',
    protocolVersion: PROTOCOL_VERSION,
    agentVersion: 'hollow-fanin',
    hostname: `fanin-${hostIndex}`,
    resources: { cpu: 4096, memoryMiB: 16_384 },
    attributes: [{ name: 'ecs.os-type', value: 'linux' }],
    dockerVersion: '0.0-hollow',
    tasks: [],
  };
}

function startHeartbeat(socket: WebSocket, intervalMs: number) {
  timers.push(
    setInterval(() => {
      if (socket.readyState === WebSocket.OPEN)
        socket.send(JSON.stringify({ type: 'ping', sentAtMs: Date.now() }));
    }, intervalMs),
  );
}

/**
 * Resolves true once the host is connected (welcomed, for protocol speakers), false if the socket
 * closed before that: the caller bounds the attempts in flight and retries.
 */
function connect(command: FaninStart, hostIndex: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new WebSocket(command.socketUrl, {
      headers: { Authorization: `Bearer ${command.joinToken}` },
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    sockets.push(socket);
    socket.on('open', () => {
      if (command.speakProtocol) return socket.send(JSON.stringify(hello(hostIndex)));
      connectedSockets.add(socket);
      startHeartbeat(socket, DEFAULT_HEARTBEAT_INTERVAL_MS);
      resolve(true);
    });
    socket.on('message', (data) => {
      if (!command.speakProtocol) return;
      const frame = JSON.parse(data.toString()) as {
        type: string;
        heartbeatIntervalMs?: number;
        sentAtMs?: number;
      };
      if (frame.type === 'welcome') {
        connectedSockets.add(socket);
        startHeartbeat(socket, frame.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
        resolve(true);
      } else if (frame.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong', sentAtMs: frame.sentAtMs }));
      }
    });
    socket.on('error', (error) => note(`host ${hostIndex}: ${error.message}`));
    socket.on('close', (code) => {
      if (stopping) return;
      note(`host ${hostIndex}: closed with code ${code}`);
      if (connectedSockets.delete(socket)) dropped++;
      resolve(false);
    });
  });
}

async function start(command: FaninStart) {
  let next = 0;
  const connector = async () => {
    while (next < command.hosts) {
      const hostIndex = command.firstHostIndex + next++;
      for (let attempt = 1; !(await connect(command, hostIndex)); attempt++) {
        if (attempt === CONNECT_ATTEMPTS)
          throw new Error(`host ${hostIndex} could not connect: ${notableLogs.at(-1)}`);
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
      }
    }
  };
  await Promise.all(Array.from({ length: command.connectConcurrency }, connector));
  report('ready');
}

function stop() {
  stopping = true;
  for (const timer of timers) clearInterval(timer);
  for (const socket of sockets) socket.terminate();
  report('stopped', undefined, () => process.exit(0));
}

process.on('message', (command: LoadCommand) => {
  if (command.type === 'stop') return stop();
  start(command as FaninStart).catch((error: unknown) => {
    report('failed', error instanceof Error ? error.stack : String(error));
    process.exit(1);
  });
});
