/**
 * The socket edge of the agent protocol, shared by both hosts: every text frame from an agent is
 * parsed here and nowhere else, and a bad frame, or one over the connection's frame budget, closes
 * that one connection with a clear code.
 */
import { CLOSE_CODES, ProtocolError, parseAgentFrame } from '../../../protocol/agent-protocol';
import { decodeStreamData } from '../../../protocol/streams';
import type { FrameBudget } from '../agents/frame-budget';
import type { AgentLink } from './agent-links';
import type { ClusterCoordinator } from './cluster-coordinator';

export async function onAgentSocketMessage(
  coordinator: ClusterCoordinator,
  link: AgentLink,
  raw: string | ArrayBuffer | Uint8Array,
  budget: FrameBudget,
  log: (line: string) => void,
): Promise<void> {
  // Stream data is paced by the streams' credit, not by the frame budget; a binary frame that
  // belongs to no open stream of this link (one that just ended, say) costs budget and is dropped.
  const data = typeof raw === 'string' ? undefined : decodeStreamData(raw);
  if (data && coordinator.agentStreamData(link, data)) return;
  if (!budget.take()) {
    log(`closing agent link ${link.id}: over its frame budget`);
    link.close(CLOSE_CODES.tooManyFrames, 'too many frames');
    return;
  }
  if (data) return;
  let frame: ReturnType<typeof parseAgentFrame>;
  try {
    frame = parseAgentFrame(raw);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    log(`closing agent link ${link.id}: ${error.message}`);
    link.close(error.closeCode, error.message.slice(0, 120));
    return;
  }
  if (frame.type === 'hello') await coordinator.agentHello(link, frame);
  else await coordinator.agentFrame(link, frame);
}
