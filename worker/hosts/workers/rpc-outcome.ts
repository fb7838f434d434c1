/**
 * Workers RPC keeps only the message of a thrown error (as "Name: message"), so the Durable Object
 * returns an EcsError as data and the caller's side throws it again: clients keep getting the exact
 * ECS error name and HTTP status. Anything else still throws and becomes a ServerException.
 */
import { EcsError, type EcsErrorName } from '../../core/errors';

export type RpcOutcome<T> = { ok: true; value: T } | { ok: false; errorName: EcsErrorName; message: string };

/** Runs on the Durable Object's side of the call. */
export async function settle<T>(work: () => Promise<T>): Promise<RpcOutcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof EcsError) return { ok: false, errorName: error.errorName, message: error.message };
    throw error;
  }
}

/** Runs on the caller's side of the call. */
export async function unwrap<T>(outcome: Promise<RpcOutcome<T>>): Promise<T> {
  const settled = await outcome;
  if (settled.ok) return settled.value;
  throw new EcsError(settled.errorName, settled.message);
}
