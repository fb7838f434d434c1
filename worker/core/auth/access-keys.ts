/**
 * Access keys: created for a named principal with a policy, listed, deactivated, deleted. The
 * secret is shown once, at creation; at rest it is encrypted with the server key
 * (secret-box.ts), because verifying SigV4 needs the secret itself.
 */
import { eq } from 'drizzle-orm';
import { type AccessKeyRow, accessKeys } from '../../../db/schema';
import type { CoreDeps } from '../deps';
import { invalidParameter } from '../errors';
import { builtInPolicy, type PolicyDocument, validatePolicyDocument } from './policies';
import { openSecret, sealSecret } from './secret-box';

export interface AccessKeySummary {
  accessKeyId: string;
  name: string;
  policy: string;
  status: AccessKeyRow['status'];
  createdAt: string;
}

export interface CreatedAccessKey extends AccessKeySummary {
  secretAccessKey: string;
}

/** The fields of a key's identity as a caller: its principal and what it may do. */
export interface Caller {
  accessKeyId: string;
  principalName: string;
  policies: PolicyDocument[];
}

const KEY_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;

/** `BKIA` and 16 characters, the shape of an AWS access key id (AKIA…), so tools that check it are content. */
function newAccessKeyId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `BKIA${Array.from(bytes, (b) => KEY_ID_ALPHABET[b % 32]).join('')}`;
}

/** 40 characters from 30 random bytes, like an AWS secret access key. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(30));
  return btoa(String.fromCharCode(...bytes));
}

/** A built-in policy's name, or a policy document: the documents a key gets. */
export function policiesFor(
  deps: CoreDeps,
  policy: string | unknown,
): { policyName: string; documents: PolicyDocument[] } {
  if (typeof policy === 'string') {
    const builtIn = builtInPolicy(policy, deps.config);
    if (!builtIn) {
      throw invalidParameter(
        `policy: '${policy.slice(0, 64)}' is not admin, read-only, deployer:<cluster> or a policy document`,
      );
    }
    return { policyName: policy, documents: [builtIn] };
  }
  return { policyName: 'custom', documents: [validatePolicyDocument(policy)] };
}

export async function createAccessKey(
  deps: CoreDeps,
  serverKey: Uint8Array,
  input: { name: string; policy: string | unknown },
): Promise<CreatedAccessKey> {
  if (typeof input.name !== 'string' || !NAME.test(input.name)) {
    throw invalidParameter('name: 1 to 64 letters, digits and +=,.@_- are allowed');
  }
  const { policyName, documents } = policiesFor(deps, input.policy);
  const accessKeyId = newAccessKeyId();
  const secretAccessKey = newSecret();
  const row: AccessKeyRow = {
    accessKeyId,
    principalName: input.name,
    secretCiphertext: await sealSecret(serverKey, secretAccessKey, accessKeyId),
    policiesJson: JSON.stringify(documents),
    policyName,
    status: 'Active',
    createdAtMs: deps.now(),
  };
  await deps.db.insert(accessKeys).values(row);
  return { ...summaryOf(row), secretAccessKey };
}

export function summaryOf(row: AccessKeyRow): AccessKeySummary {
  return {
    accessKeyId: row.accessKeyId,
    name: row.principalName,
    policy: row.policyName,
    status: row.status,
    createdAt: new Date(row.createdAtMs).toISOString(),
  };
}

export async function listAccessKeys(deps: CoreDeps): Promise<AccessKeySummary[]> {
  const rows = await deps.db.select().from(accessKeys).orderBy(accessKeys.createdAtMs);
  return rows.map(summaryOf);
}

export async function setAccessKeyStatus(
  deps: CoreDeps,
  accessKeyId: string,
  status: AccessKeyRow['status'],
): Promise<AccessKeySummary> {
  const [row] = await deps.db
    .update(accessKeys)
    .set({ status })
    .where(eq(accessKeys.accessKeyId, accessKeyId))
    .returning();
  if (!row) throw invalidParameter(`accessKeyId: no access key '${String(accessKeyId).slice(0, 32)}'`);
  return summaryOf(row);
}

export async function deleteAccessKey(deps: CoreDeps, accessKeyId: string): Promise<void> {
  const deleted = await deps.db.delete(accessKeys).where(eq(accessKeys.accessKeyId, accessKeyId)).returning();
  if (deleted.length === 0)
    throw invalidParameter(`accessKeyId: no access key '${String(accessKeyId).slice(0, 32)}'`);
}

/** An active key's secret and its caller identity, for verifying a request; undefined for anything else. */
export async function activeKey(
  deps: CoreDeps,
  serverKey: Uint8Array,
  accessKeyId: string,
): Promise<{ secret: string; caller: Caller } | undefined> {
  if (accessKeyId.length > 128) return undefined;
  const [row] = await deps.db.select().from(accessKeys).where(eq(accessKeys.accessKeyId, accessKeyId));
  if (row?.status !== 'Active') return undefined;
  return {
    secret: await openSecret(serverKey, row.secretCiphertext, accessKeyId),
    caller: {
      accessKeyId,
      principalName: row.principalName,
      policies: JSON.parse(row.policiesJson) as PolicyDocument[],
    },
  };
}

/** Whether any active admin key exists: the first start creates one when none does. */
export async function hasActiveKey(deps: CoreDeps): Promise<boolean> {
  const [row] = await deps.db
    .select({ id: accessKeys.accessKeyId })
    .from(accessKeys)
    .where(eq(accessKeys.status, 'Active'))
    .limit(1);
  return row !== undefined;
}
