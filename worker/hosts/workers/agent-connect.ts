/**
 * Who may open an agent socket on Workers: the Worker makes the shared admission checks
 * (worker/core/agents/agent-admission.ts, the same as the Node host's) before it forwards the
 * upgrade to the cluster's Durable Object; only a WebSocket upgrade is considered at all.
 */
import { type AgentAdmission, admitAgent } from '../../core/agents/agent-admission';
import type { CoreDeps } from '../../core/deps';

export type AgentConnectDecision = AgentAdmission | { accepted: false; status: 426; message: string };

export async function decideAgentConnect(deps: CoreDeps, request: Request): Promise<AgentConnectDecision> {
  if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
    return { accepted: false, status: 426, message: 'Upgrade Required: agents connect with a WebSocket' };
  }
  return admitAgent(deps, {
    cluster: new URL(request.url).searchParams.get('cluster'),
    authorization: request.headers.get('Authorization'),
    // Set by Cloudflare's edge, not by the client: the address the connect came from.
    sourceAddress: request.headers.get('CF-Connecting-IP') ?? undefined,
  });
}
