/**
 * The typed error an agent puts on the wire (in `nack`): a stable `name` to act on, whether the same
 * command sent again can succeed (`retryable`), and a message for people. Nobody matches on the
 * message. The name is an open string on the wire so that an agent newer than its control plane
 * can still be understood; the names agents send today are AGENT_ERROR_NAMES.
 */
import { z } from 'zod';

export const AGENT_ERROR_NAMES = [
  /** The command could not be written to the agent's state file, so it was not accepted (retryable). */
  'StateFileWriteFailed',
  /** The agent is shutting down; a restarted agent learns the command from its welcome (retryable). */
  'AgentStopping',
  /** Anything the agent did not expect: a bug, not a condition a resend would fix (not retryable). */
  'InternalError',
] as const;
export type AgentErrorName = (typeof AGENT_ERROR_NAMES)[number];

/** Longer names and messages are cut: the error is for a decision, a log line and a record, not a stack trace. */
export const MAX_AGENT_ERROR_NAME_LENGTH = 100;
export const MAX_AGENT_ERROR_MESSAGE_LENGTH = 1_000;

export const agentErrorSchema = z.object({
  name: z.string().min(1).max(MAX_AGENT_ERROR_NAME_LENGTH),
  retryable: z.boolean(),
  message: z.string().max(MAX_AGENT_ERROR_MESSAGE_LENGTH),
});
export type AgentError = z.infer<typeof agentErrorSchema>;

/** The wire form of a named error: only its three fields, cut to what the schema accepts. */
export function agentError(error: { name: string; retryable: boolean; message: string }): AgentError {
  return {
    name: error.name.slice(0, MAX_AGENT_ERROR_NAME_LENGTH),
    retryable: error.retryable,
    message: error.message.slice(0, MAX_AGENT_ERROR_MESSAGE_LENGTH),
  };
}
