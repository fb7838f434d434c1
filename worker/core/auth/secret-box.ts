/**
 * Secrets at rest: AES-256-GCM under the server key (32 bytes), a fresh 96-bit IV per secret, and
 * the owner's id as associated data, so a ciphertext copied onto another row doesn't open.
 * Stored as base64 of IV || ciphertext+tag. Web Crypto only, so it runs on Node and Workers.
 */
const encoder = new TextEncoder();

async function aesKey(serverKey: Uint8Array): Promise<CryptoKey> {
  if (serverKey.length !== 32) throw new Error('the server key must be 32 bytes');
  return crypto.subtle.importKey('raw', new Uint8Array(serverKey), 'AES-GCM', false, ['encrypt', 'decrypt']);
}

export async function sealSecret(serverKey: Uint8Array, secret: string, owner: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: encoder.encode(owner) },
      await aesKey(serverKey),
      encoder.encode(secret),
    ),
  );
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return btoa(String.fromCharCode(...out));
}

export async function openSecret(serverKey: Uint8Array, sealed: string, owner: string): Promise<string> {
  const bytes = Uint8Array.from(atob(sealed), (c) => c.charCodeAt(0));
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: encoder.encode(owner) },
    await aesKey(serverKey),
    bytes.slice(12),
  );
  return new TextDecoder().decode(plain);
}

/** Reads a server key written as base64 (BERTH_SERVER_KEY, the `server.key` file). */
export function parseServerKey(text: string, source: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(text.trim()), (c) => c.charCodeAt(0));
  } catch {
    throw new Error(`${source}: not base64`);
  }
  if (bytes.length !== 32)
    throw new Error(`${source}: must be 32 bytes (base64 of 32 random bytes), got ${bytes.length}`);
  return bytes;
}

export function newServerKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}
