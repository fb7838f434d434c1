/**
 * The Node host's agent sockets: a `ws` server on the API's own port that takes the WebSocket
 * upgrade at AGENT_CONNECT_PATH after the shared admission (the same checks the Worker makes), and
 * one liveness sweep for every socket. Each frame goes through the shared socket edge
 * (worker/core/cluster/agent-socket.ts) with a frame budget per socket.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  AGENT_CONNECT_PATH,
  CLOSE_CODES,
  CONNECT_REFUSAL,
  HEARTBEAT_INTERVAL_MS,
  MAX_FRAME_BYTES,
  SILENT_INTERVALS_BEFORE_CUT,
} from '../../../protocol';
import { allowedHostsFor, isAllowedHost } from '../../api/allowed-hosts';
import { type AgentIdentity, admitAgent } from '../../core/agents/agent-admission';
import { FrameBudget } from '../../core/agents/frame-budget';
import type { AgentLink } from '../../core/cluster/agent-links';
import { onAgentSocketMessage } from '../../core/cluster/agent-socket';
import type { ClusterCoordinator } from '../../core/cluster/cluster-coordinator';
import type { CoreDeps } from '../../core/deps';
import { MAX_DATA_CHANNEL_FRAME_BYTES } from '../../core/exec/data-channel-session';
import { clusterOfSession, DATA_CHANNEL_PATH_PREFIX, sessionIdOfPath } from '../../core/exec/execute-command';
import type { InProcessRooms } from './in-process-rooms';

let nextLinkNumber = 0;

function linkFor(socket: WebSocket, identity: AgentIdentity): AgentLink {
  const id = `link-${++nextLinkNumber}`;
  return {
    id,
    identity,
    send: (text) => socket.send(text),
    sendBinary: (bytes) => socket.send(bytes),
    close: (code, reason) => socket.close(code, reason),
  };
}

function rejectUpgrade(socket: Duplex, status: number, message: string, refusal?: string) {
  const refusalHeader = refusal ? `${CONNECT_REFUSAL.header}: ${refusal}\r\n` : '';
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\n${refusalHeader}Connection: close\r\nContent-Length: 0\r\n\r\n`,
  );
}

export interface AgentSocketServer {
  close(): void;
}

export function serveAgentSockets(
  server: Server,
  deps: CoreDeps,
  rooms: InProcessRooms,
  log: (line: string) => void,
): AgentSocketServer {
  const agentSockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  // ExecuteCommand's data channels (the aws cli's plugin) share the port; their frames are small.
  const dataChannelSockets = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_DATA_CHANNEL_FRAME_BYTES,
  });
  const allowedHosts = allowedHostsFor(deps.config);

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    acceptAgent(request, socket, head).catch((error) => {
      log(`agent upgrade failed: ${String(error)}`);
      rejectUpgrade(socket, 503, 'Service Unavailable');
    });
  });

  async function acceptAgent(request: IncomingMessage, socket: Duplex, head: Buffer) {
    // The same Host rule as the API: a page that rebinds its name to this host can't open a socket either.
    if (!isAllowedHost(request.headers.host, allowedHosts)) return rejectUpgrade(socket, 403, 'Forbidden');
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith(DATA_CHANNEL_PATH_PREFIX))
      return acceptDataChannel(request, socket, head, url);
    if (url.pathname !== AGENT_CONNECT_PATH) return rejectUpgrade(socket, 404, 'Not Found');
    const admission = await admitAgent(deps, {
      cluster: url.searchParams.get('cluster'),
      authorization: request.headers.authorization ?? null,
      sourceAddress: request.socket.remoteAddress,
    });
    if (!admission.accepted)
      return rejectUpgrade(socket, admission.status, admission.message, admission.refusal);
    const room = await rooms.forExistingCluster(admission.clusterName);
    agentSockets.handleUpgrade(request, socket, head, (ws) => attachAgent(ws, room, admission.identity));
  }

  /** The session's token arrives in the first frame; the session checks it (data-channel-session.ts). */
  async function acceptDataChannel(request: IncomingMessage, socket: Duplex, head: Buffer, url: URL) {
    const sessionId = sessionIdOfPath(url.pathname);
    const clusterName = sessionId ? await clusterOfSession(deps, sessionId) : undefined;
    if (!sessionId || !clusterName) return rejectUpgrade(socket, 404, 'Not Found');
    const room = await rooms.forExistingCluster(clusterName);
    dataChannelSockets.handleUpgrade(request, socket, head, (ws) => {
      const session = room.openDataChannel(sessionId, {
        send: (data) => ws.send(data),
        close: (code, reason) => ws.close(code, reason),
      });
      ws.on('message', (data, isBinary) =>
        session.message(isBinary ? new Uint8Array(data as Buffer) : data.toString()),
      );
      ws.on('close', () => session.closed());
      ws.on('error', (error) => {
        if ((error as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
          ws.close(CLOSE_CODES.frameTooLarge, 'frame too large');
        } else ws.terminate();
      });
    });
  }

  // Liveness: agents send a keepalive every interval, so any frame proves a link alive. One sweep
  // over all sockets (not a timer each) probes a link that went quiet with a transport ping and
  // cuts one silent for SILENT_INTERVALS_BEFORE_CUT intervals; the room sees a close.
  const heartbeatIntervalMs = deps.config.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
  const lastHeardAtMs = new Map<WebSocket, number>();
  const livenessSweep = setInterval(() => {
    const nowMs = Date.now();
    for (const [ws, heardAtMs] of lastHeardAtMs) {
      const silentMs = nowMs - heardAtMs;
      if (silentMs > SILENT_INTERVALS_BEFORE_CUT * heartbeatIntervalMs) ws.terminate();
      else if (silentMs > heartbeatIntervalMs) ws.ping();
    }
  }, heartbeatIntervalMs);
  livenessSweep.unref();

  function attachAgent(ws: WebSocket, room: ClusterCoordinator, identity: AgentIdentity) {
    const link = linkFor(ws, identity);
    const budget = new FrameBudget(Date.now);
    const heard = () => lastHeardAtMs.set(ws, Date.now());
    heard();
    ws.on('pong', heard);
    ws.on('message', (data, isBinary) => {
      heard();
      const raw = isBinary ? new Uint8Array(data as Buffer) : data.toString();
      onAgentSocketMessage(room, link, raw, budget, log).catch((error) => {
        log(`agent frame failed on ${link.id}: ${String(error)}`);
      });
    });
    ws.on('close', () => {
      lastHeardAtMs.delete(ws);
      room.agentClosed(link).catch((error) => log(`agent close failed on ${link.id}: ${String(error)}`));
    });
    ws.on('error', (error) => {
      log(`agent socket error on ${link.id}: ${error.message}`);
      if ((error as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        ws.close(CLOSE_CODES.frameTooLarge, 'frame too large');
      }
    });
  }

  return {
    close: () => {
      clearInterval(livenessSweep);
      for (const client of agentSockets.clients) client.terminate();
      for (const client of dataChannelSockets.clients) client.terminate();
    },
  };
}
