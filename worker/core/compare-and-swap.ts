/**
 * Read-modify-write without a lock, for writes no room serialises (tags, cluster settings): read,
 * compute, and write only if what was read is still what is stored; otherwise read again.
 */
import { EcsError } from './errors';

/**
 * A failed swap means another write landed, so every round some writer finishes, and a call
 * needs at most as many attempts as there are writers at once; the cap only bounds one call's
 * work under a flood of them.
 */
export const MAX_SWAP_ATTEMPTS = 100;

/**
 * Runs `attempt` until it reports that its conditional write landed (or that nothing needed
 * writing). `what` names the contended thing in the retryable error sent if the cap is reached.
 */
export async function untilSwapped(what: string, attempt: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < MAX_SWAP_ATTEMPTS; i++) {
    if (await attempt()) return;
  }
  throw new EcsError('ServerException', `${what} kept changing under concurrent writes; try again.`);
}
