import { invalidParameter } from './errors';

/**
 * nextToken is an opaque, base64url-encoded offset. Offsets are stable enough for ECS's list
 * calls because list order is by creation time and new items sort last.
 */
export interface Page {
  offset: number;
  limit: number;
}

export function readPage(
  input: { nextToken?: string; maxResults?: number },
  defaultLimit: number,
  maxLimit: number,
): Page {
  const { nextToken, maxResults } = input;
  if (maxResults !== undefined && (maxResults < 1 || maxResults > maxLimit)) {
    throw invalidParameter(`maxResults: must be between 1 and ${maxLimit}, got ${maxResults}`);
  }
  const limit = maxResults ?? defaultLimit;
  if (!nextToken) return { offset: 0, limit };
  const offset = decodeToken(nextToken);
  return { offset, limit };
}

/**
 * Far more rows than any Berth table holds, and small enough that offset + limit stays a safe
 * integer that SQLite takes as an integer (a token from a client is not trusted to be ours).
 */
export const MAX_PAGE_OFFSET = 1_000_000_000;

function decodeToken(token: string): number {
  try {
    const text = atob(token.replace(/-/g, '+').replace(/_/g, '/'));
    // Digits as encodeToken writes them: no sign, no leading zero, at most ten of them.
    const match = /^o:(0|[1-9]\d{0,9})$/.exec(text);
    if (match && Number(match[1]) <= MAX_PAGE_OFFSET) return Number(match[1]);
  } catch {
    // fall through to the error below
  }
  throw invalidParameter('nextToken: is not a token returned by a previous call');
}

export function encodeToken(offset: number): string {
  return btoa(`o:${offset}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Fetch limit + 1 rows; the extra row tells whether a next page exists. */
export function pageResult<T>(rows: T[], page: Page): { items: T[]; nextToken?: string } {
  if (rows.length <= page.limit) return { items: rows };
  return { items: rows.slice(0, page.limit), nextToken: encodeToken(page.offset + page.limit) };
}
