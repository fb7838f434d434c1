/**
 * AgentLinks for a Durable Object that hibernates. Which instance a socket belongs to lives in the
 * socket's own attachment (serializeAttachment), which survives hibernation; the object itself
 * keeps only an index it can rebuild from the attachments at any time. After a wake-up the first
 * lookup rebuilds it, so a RunTask that wakes the object still finds every agent's socket.
 */
import type { AgentIdentity } from '../../core/agents/agent-admission';
import type { AgentLink, AgentLinks } from '../../core/cluster/agent-links';

/** The part of a Workers WebSocket this needs; the runtime's hibernatable WebSocket has all of it. */
export interface HibernatableSocket {
  send(message: string | ArrayBuffer | Uint8Array): void;
  close(code?: number, reason?: string): void;
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
}

/** The Durable Object's sockets: `ctx.getWebSockets(tag)`. Each agent socket is tagged with its link id. */
export type SocketsByTag<S extends HibernatableSocket> = (tag?: string) => S[];

/** Everything the object knows about one agent socket. */
export interface AgentAttachment {
  linkId: string;
  clusterName: string;
  identity: AgentIdentity;
  /** When the socket was accepted: its silence counts from here until its first keepalive. */
  acceptedAtMs?: number;
  /** Set once the agent's hello is accepted. */
  instanceArn?: string;
}

export function attachmentOf(socket: HibernatableSocket): AgentAttachment {
  const attachment = socket.deserializeAttachment() as AgentAttachment | null;
  if (!attachment?.linkId)
    throw new Error('agent socket has no attachment: it was not accepted by acceptAgent');
  return attachment;
}

class SocketLink implements AgentLink {
  readonly identity: AgentIdentity;

  constructor(
    readonly id: string,
    readonly socket: HibernatableSocket,
  ) {
    this.identity = attachmentOf(socket).identity;
  }

  send(text: string): void {
    this.socket.send(text);
  }

  sendBinary(bytes: Uint8Array): void {
    this.socket.send(bytes);
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }
}

export class HibernatingAgentLinks<S extends HibernatableSocket> implements AgentLinks {
  /** instanceArn -> linkId, derived from attachments; undefined until first needed after a wake-up. */
  private linkIdByInstance: Map<string, string> | undefined;

  constructor(private readonly sockets: SocketsByTag<S>) {}

  /** The link of a socket the runtime handed to a webSocket* handler. */
  linkOf(socket: HibernatableSocket): AgentLink {
    return new SocketLink(attachmentOf(socket).linkId, socket);
  }

  bind(link: AgentLink, instanceArn: string): void {
    const socket = this.socketOf(link);
    if (!socket) return;
    socket.serializeAttachment({ ...attachmentOf(socket), instanceArn } satisfies AgentAttachment);
    this.index().set(instanceArn, link.id);
  }

  unbind(link: AgentLink): void {
    const socket = this.socketOf(link);
    const instanceArn = socket ? attachmentOf(socket).instanceArn : undefined;
    if (socket && instanceArn) {
      const { instanceArn: _unbound, ...rest } = attachmentOf(socket);
      socket.serializeAttachment(rest satisfies AgentAttachment);
    }
    const index = this.index();
    for (const [instance, linkId] of index) if (linkId === link.id) index.delete(instance);
  }

  linkFor(instanceArn: string): AgentLink | undefined {
    const linkId = this.index().get(instanceArn);
    const socket = linkId ? this.sockets(linkId)[0] : undefined;
    return socket && linkId ? new SocketLink(linkId, socket) : undefined;
  }

  instanceOf(link: AgentLink): string | undefined {
    const socket = this.socketOf(link);
    return socket ? attachmentOf(socket).instanceArn : undefined;
  }

  private socketOf(link: AgentLink): HibernatableSocket | undefined {
    // Links handed out by this class carry their socket; a bare AgentLink is found by its tag.
    return link instanceof SocketLink ? link.socket : this.sockets(link.id)[0];
  }

  private index(): Map<string, string> {
    if (!this.linkIdByInstance) {
      this.linkIdByInstance = new Map();
      for (const socket of this.sockets()) {
        const { instanceArn, linkId } = attachmentOf(socket);
        if (instanceArn) this.linkIdByInstance.set(instanceArn, linkId);
      }
    }
    return this.linkIdByInstance;
  }
}
