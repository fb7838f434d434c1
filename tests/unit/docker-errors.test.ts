/**
 * Docker's failures keep their HTTP status and get a name and a retryability (agent/runtime/docker-errors.ts),
 * from errors shaped as dockerode throws them.
 */
import { describe, expect, it } from 'vitest';
import { dockerError } from '../../agent/runtime/docker-errors';
import { ContainerRuntimeError } from '../../agent/runtime/runtime-error';

/** What docker-modem throws when the engine answers with an error status. */
function engineAnswered(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), {
    statusCode,
    reason: 'unexpected',
    json: { message },
  });
}

/** What Node throws when the engine's socket does not answer at all. */
const unanswered = (code: string) =>
  Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code, syscall: 'connect' });

const fieldsOf = (error: ContainerRuntimeError) => ({
  name: error.name,
  statusCode: error.statusCode,
  retryable: error.retryable,
  message: error.message,
});

describe('dockerError', () => {
  it("names a 404 on a pull or a create NoSuchImage, keeps the status, is not retryable, and keeps Docker's own words", () => {
    const error = dockerError(engineAnswered(404, 'No such image: berth-test/none:1'), 'NoSuchImage');
    expect(error).toBeInstanceOf(ContainerRuntimeError);
    expect(fieldsOf(error)).toEqual({
      name: 'NoSuchImage',
      statusCode: 404,
      retryable: false,
      message: 'No such image: berth-test/none:1',
    });
  });

  it('names a 404 on a container call NoSuchContainer', () => {
    expect(dockerError(engineAnswered(404, 'No such container: abc'), 'NoSuchContainer').name).toBe(
      'NoSuchContainer',
    );
  });

  it("calls every 4xx the request's fault (not retryable) and every 5xx the engine's (retryable)", () => {
    const cases: [number, string, boolean][] = [
      [400, 'InvalidRequest', false],
      [401, 'AccessDenied', false],
      [403, 'AccessDenied', false],
      [409, 'Conflict', false],
      [500, 'EngineError', true],
      [503, 'EngineError', true],
    ];
    for (const [statusCode, name, retryable] of cases) {
      const error = dockerError(engineAnswered(statusCode, 'no'), 'NoSuchContainer');
      expect([error.name, error.statusCode, error.retryable]).toEqual([name, statusCode, retryable]);
    }
  });

  it('names an engine that did not answer EngineUnreachable, without a status, retryable', () => {
    for (const code of ['ENOENT', 'ECONNREFUSED', 'ECONNRESET']) {
      const error = dockerError(unanswered(code), 'NoSuchContainer');
      expect([error.name, error.statusCode, error.retryable]).toEqual(['EngineUnreachable', undefined, true]);
    }
  });

  it('names a call cut by its deadline Timeout, retryable', () => {
    const error = dockerError(
      new DOMException('The operation timed out.', 'TimeoutError'),
      'NoSuchContainer',
    );
    expect([error.name, error.retryable]).toEqual(['Timeout', true]);
  });

  it('leaves an error that is already typed as it is', () => {
    const typed = new ContainerRuntimeError('Timeout', 'pulling took too long', true);
    expect(dockerError(typed, 'NoSuchImage')).toBe(typed);
  });
});
