/** What a failed ECS call looked like to the AWS SDK: the error name it mapped, its message and HTTP status. */
export interface EcsCallError {
  name: string;
  message: string;
  status?: number;
}

/** Awaits a call that must fail and returns its error as the SDK saw it; fails the test if it succeeded. */
export async function errorOf(promise: Promise<unknown>): Promise<EcsCallError> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
