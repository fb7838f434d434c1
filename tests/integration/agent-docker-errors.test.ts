/**
 * The Docker runtime's failures against a real engine: each keeps Docker's status code and carries
 * a name and whether a retry can help, so the agent never has to read the message.
 */
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../agent/runtime/docker';
import { ContainerRuntimeError } from '../../agent/runtime/runtime-error';
import { buildContainer } from '../helpers/fake-control-plane';

const runtime = new DockerRuntime();

async function failureOf(call: Promise<unknown>): Promise<ContainerRuntimeError> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof ContainerRuntimeError))
    throw new Error(`expected a ContainerRuntimeError, got ${String(error)}`);
  return error;
}

describe("the Docker runtime's errors", () => {
  it('fail a create from an image the engine does not have with NoSuchImage, HTTP 404, not retryable', async () => {
    const image = 'berth-test/never-built:1';
    const error = await failureOf(
      runtime.createContainer({
        name: `berth-docker-errors-${Date.now()}`,
        spec: buildContainer({ name: 'main', image }),
        networkMode: 'bridge',
        labels: {},
        links: [],
        stopTimeoutSeconds: 1,
      }),
    );
    expect([error.name, error.statusCode, error.retryable]).toEqual(['NoSuchImage', 404, false]);
    expect(error.message).toContain(image);
  });

  it('fail a start of a container that does not exist with NoSuchContainer, HTTP 404, not retryable', async () => {
    const error = await failureOf(runtime.startContainer('berth-docker-errors-no-such-container'));
    expect([error.name, error.statusCode, error.retryable]).toEqual(['NoSuchContainer', 404, false]);
  });

  it('fail a pull from a registry nobody answers with a retryable EngineError, HTTP 500', async () => {
    const error = await failureOf(runtime.pullImage('127.0.0.1:1/berth-test/unreachable:1', 30_000));
    expect([error.name, error.statusCode, error.retryable]).toEqual(['EngineError', 500, true]);
  });

  it('fail every call to an engine that is not there with a retryable EngineUnreachable', async () => {
    const nowhere = new DockerRuntime(new Docker({ socketPath: '/nonexistent/docker.sock' }));
    const error = await failureOf(nowhere.version());
    expect([error.name, error.statusCode, error.retryable]).toEqual(['EngineUnreachable', undefined, true]);
  });
});
