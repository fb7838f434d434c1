/**
 * Failures the agent can name: a stable `name`, whether trying again can succeed, and a message for
 * people. Whatever reaches the wire (a `nack`) is built from these by `agentErrorOf`, so the control
 * plane decides on `name` and `retryable`, never on message text.
 */
import { type AgentError, type AgentErrorName, agentError } from '../protocol/errors';

export class AgentFailure extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** The agent cannot accept a command; answered with a `nack` carrying this error. */
export class CommandRefused extends AgentFailure {
  constructor(name: AgentErrorName, message: string, retryable: boolean) {
    super(name, message, retryable);
  }
}

export const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The wire form of any error: a named failure keeps its name, anything else is a non-retryable InternalError. */
export function agentErrorOf(error: unknown): AgentError {
  if (error instanceof AgentFailure) return agentError(error);
  const name: AgentErrorName = 'InternalError';
  return agentError({ name, retryable: false, message: errorMessage(error) });
}
