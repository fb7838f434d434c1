/**
 * How a container runtime fails: every method of `ContainerRuntime` rejects with a
 * ContainerRuntimeError, whose name and `retryable` say what happened, and, for Docker, with the
 * engine's HTTP status. Callers branch on those, never on the message (the engine's own words,
 * kept for people and for ECS-style reasons such as `CannotPullContainerError: <message>`).
 */
import { AgentFailure } from '../errors';

export type RuntimeErrorName =
  /** The image does not exist here or in its registry (Docker: 404 on pull or create). */
  | 'NoSuchImage'
  /** The container does not exist (Docker: 404 on a container). */
  | 'NoSuchContainer'
  /** The request conflicts with what exists, such as a name in use (Docker: 409). */
  | 'Conflict'
  /** The registry refused the credentials or the access (Docker: 401, 403). */
  | 'AccessDenied'
  /** The engine refused the request itself (Docker: any other 4xx). */
  | 'InvalidRequest'
  /** The engine failed while handling the request, a registry it called included (Docker: 5xx). */
  | 'EngineError'
  /** No answer from the engine at all: its socket is missing, refused or reset. */
  | 'EngineUnreachable'
  /** The call outlived its deadline (a pull past IMAGE_PULL_TIMEOUT_MS, a stop past its margin). */
  | 'Timeout';

export class ContainerRuntimeError extends AgentFailure {
  constructor(
    override readonly name: RuntimeErrorName,
    message: string,
    retryable: boolean,
    /** The engine's HTTP status, when it answered. */
    readonly statusCode?: number,
  ) {
    super(name, message, retryable);
  }
}

/** One line for a log: name, status, whether a retry can help, message. */
export function describeRuntimeError(error: unknown): string {
  if (!(error instanceof ContainerRuntimeError))
    return error instanceof Error ? error.message : String(error);
  const status = error.statusCode === undefined ? '' : `HTTP ${error.statusCode}, `;
  return `${error.name} (${status}${error.retryable ? 'retryable' : 'not retryable'}): ${error.message}`;
}
