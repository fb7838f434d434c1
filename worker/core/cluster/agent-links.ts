/**
 * The seam between a coordinator and the sockets of its agents. On Node the links live in a Map;
 * in a Durable Object they are hibernatable WebSockets found again through their attachments.
 */
import type { AgentIdentity } from '../agents/agent-admission';

export interface AgentLink {
  /** Stable for the life of the socket. */
  readonly id: string;
  /** What admission proved about the agent before the socket opened; the hello can't change it. */
  readonly identity: AgentIdentity;
  send(text: string): void;
  /** Stream data (protocol/streams.ts), the protocol's only binary frames. */
  sendBinary(bytes: Uint8Array): void;
  close(code: number, reason: string): void;
}

export interface AgentLinks {
  bind(link: AgentLink, instanceArn: string): void;
  unbind(link: AgentLink): void;
  linkFor(instanceArn: string): AgentLink | undefined;
  instanceOf(link: AgentLink): string | undefined;
}

/** The in-process registry used by the Node host and by tests. */
export class InMemoryAgentLinks implements AgentLinks {
  private readonly byInstance = new Map<string, AgentLink>();
  private readonly byLink = new Map<string, string>();

  bind(link: AgentLink, instanceArn: string): void {
    this.byInstance.set(instanceArn, link);
    this.byLink.set(link.id, instanceArn);
  }

  unbind(link: AgentLink): void {
    const instanceArn = this.byLink.get(link.id);
    this.byLink.delete(link.id);
    if (instanceArn && this.byInstance.get(instanceArn)?.id === link.id) this.byInstance.delete(instanceArn);
  }

  linkFor(instanceArn: string): AgentLink | undefined {
    return this.byInstance.get(instanceArn);
  }

  instanceOf(link: AgentLink): string | undefined {
    return this.byLink.get(link.id);
  }
}
