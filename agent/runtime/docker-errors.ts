/**
 * Docker's failures as ContainerRuntimeErrors: the engine's HTTP status and a name kept from
 * dockerode's error, Docker's own words as the message (without dockerode's "(HTTP code N) ... -"
 * wrapping), and whether a retry can help. A 4xx is the request's fault and fails the same way
 * again; a 5xx, an engine that did not answer, or a deadline can pass.
 */
import { ContainerRuntimeError, type RuntimeErrorName } from './runtime-error';

/** Node's errors for an engine socket that is missing, refused or gone mid-call. */
const UNREACHABLE_CODES = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ETIMEDOUT',
]);

/** Docker's own words for a failure, without dockerode's "(HTTP code N) ... -" wrapping. */
export function dockerErrorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const json = (error as { json?: unknown }).json;
  if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message.trim();
  }
  return error.message.replace(/^\(HTTP code \d+\)[^-]*- /, '').trim();
}

export function dockerStatusCode(error: unknown): number | undefined {
  const statusCode = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

function nameOfStatus(statusCode: number, notFound: RuntimeErrorName): RuntimeErrorName {
  if (statusCode === 404) return notFound;
  if (statusCode === 409) return 'Conflict';
  if (statusCode === 401 || statusCode === 403) return 'AccessDenied';
  if (statusCode >= 500) return 'EngineError';
  return 'InvalidRequest';
}

function isDeadline(error: unknown): boolean {
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/**
 * The typed form of anything a dockerode call threw. `notFound` names what a 404 means for the call:
 * a missing image for a pull or a create, a missing container for the rest.
 */
export function dockerError(
  error: unknown,
  notFound: 'NoSuchImage' | 'NoSuchContainer',
): ContainerRuntimeError {
  if (error instanceof ContainerRuntimeError) return error;
  const message = dockerErrorMessage(error);
  const statusCode = dockerStatusCode(error);
  if (statusCode !== undefined) {
    return new ContainerRuntimeError(
      nameOfStatus(statusCode, notFound),
      message,
      statusCode >= 500,
      statusCode,
    );
  }
  if (isDeadline(error)) return new ContainerRuntimeError('Timeout', message, true);
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && UNREACHABLE_CODES.has(code)) {
    return new ContainerRuntimeError('EngineUnreachable', message, true);
  }
  // No status and no socket error: dockerode or the stream failed underneath; treat it as the engine's.
  return new ContainerRuntimeError('EngineError', message, true);
}
