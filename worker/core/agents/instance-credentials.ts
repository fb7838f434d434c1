/**
 * Each container instance proves who it is with a credential of its own, issued once at
 * registration: `berth_ic_<instanceId>_<secret>`. The agent keeps it in its state file; the control
 * plane keeps only a SHA-256 of it. The instance id inside the credential only says which row to
 * check; knowing it (it is public, the `ec2InstanceId` of DescribeContainerInstances) proves nothing.
 */
import { sha256Hex } from '../sha256';

const CREDENTIAL_PREFIX = 'berth_ic_';
/** Instance ids are chosen by the control plane: 32 lowercase hex digits, like ECS task ids. */
export const INSTANCE_ID_PATTERN = /^[0-9a-f]{32}$/;
const CREDENTIAL_PATTERN = /^berth_ic_([0-9a-f]{32})_([0-9a-f]{64})$/;

export interface IssuedCredential {
  credential: string;
  credentialSha256: string;
}

export async function issueInstanceCredential(
  instanceId: string,
  newId: () => string,
): Promise<IssuedCredential> {
  // Two 128-bit random ids: 256 bits of secret, so a plain SHA-256 is a safe way to store it.
  const credential = `${CREDENTIAL_PREFIX}${instanceId}_${newId()}${newId()}`;
  return { credential, credentialSha256: await sha256Hex(credential) };
}

export function isInstanceCredential(token: string): boolean {
  return token.startsWith(CREDENTIAL_PREFIX);
}

/** The instance id a well-formed credential claims, or undefined. */
export function claimedInstanceId(credential: string): string | undefined {
  return CREDENTIAL_PATTERN.exec(credential)?.[1];
}

/** Compares the credential's hash with the stored one in time independent of where they differ. */
export async function credentialMatches(credential: string, storedSha256: string | null): Promise<boolean> {
  if (!storedSha256) return false;
  const actual = await sha256Hex(credential);
  if (actual.length !== storedSha256.length) return false;
  let difference = 0;
  for (let i = 0; i < actual.length; i++) difference |= actual.charCodeAt(i) ^ storedSha256.charCodeAt(i);
  return difference === 0;
}
