/**
 * Which `Host` headers the control plane answers. Berth has no authentication yet and listens on
 * loopback, so a web page could otherwise drive it by DNS rebinding: the page's own name is made
 * to resolve to 127.0.0.1, and the browser then sends Berth requests with `Host: <that name>`.
 * Accepting only names the operator configured defeats that, because an attacker cannot make a
 * browser send a configured name with its page's requests.
 *
 * An allowed entry is a host name (`berth.example.com`), an IP address (`10.0.0.5`, `[fd00::5]`),
 * or a wildcard for every subdomain (`*.example.com`), optionally with a port (`:8787`); without a
 * port, any port matches. Matching ignores case and a trailing dot.
 */

/** Always allowed: no rebinding page can make a browser send these names. */
export const LOOPBACK_HOST_NAMES: readonly string[] = ['127.0.0.1', 'localhost', '[::1]'];

interface HostAndPort {
  name: string;
  /** Absent when the header or entry names no port. */
  port?: string;
}

const HOST_NAME = /^(?:\*\.)?[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;
const BRACKETED_IPV6 = /^\[[0-9a-f:.]+\]$/;
const PORT = /^\d{1,5}$/;

function splitHost(text: string): HostAndPort | undefined {
  const lower = text.trim().toLowerCase();
  // An IPv6 literal is bracketed, so the port is whatever follows the closing bracket.
  const portColon = lower.startsWith('[') ? lower.indexOf(':', lower.indexOf(']')) : lower.indexOf(':');
  const rawName = portColon === -1 ? lower : lower.slice(0, portColon);
  const port = portColon === -1 ? undefined : lower.slice(portColon + 1);
  const name = rawName.endsWith('.') ? rawName.slice(0, -1) : rawName;
  if (port !== undefined && !PORT.test(port)) return undefined;
  if (!HOST_NAME.test(name) && !BRACKETED_IPV6.test(name)) return undefined;
  return { name, port };
}

function nameMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1));
  return pattern === name;
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

function isIpLiteral(name: string): boolean {
  return IPV4.test(name) || BRACKETED_IPV6.test(name);
}

/**
 * True when `hostHeader` (a request's `Host`, e.g. `localhost:8787`) names one of `allowed`.
 * A missing or malformed header is refused: every HTTP/1.1 client sends one.
 */
export function isAllowedHost(hostHeader: string | undefined, allowed: readonly string[]): boolean {
  if (!hostHeader) return false;
  const host = splitHost(hostHeader);
  if (!host || host.name.startsWith('*.')) return false;
  // An IP address can't be rebound: a page's requests carry its own host name, never a literal
  // address the attacker doesn't control. So agents and clients may always reach a control plane
  // that listens beyond loopback by its address; only names must be listed.
  if (isIpLiteral(host.name)) return true;
  return allowed.some((entry) => {
    const pattern = splitHost(entry);
    if (!pattern) return false;
    return nameMatches(pattern.name, host.name) && (pattern.port === undefined || pattern.port === host.port);
  });
}

/**
 * The operator's setting, `BERTH_ALLOWED_HOSTS` (an environment variable on Node, a var on
 * Workers): names separated by commas. An entry that is not a host name throws, naming the
 * setting, so a typo is found at start rather than as a 403 later.
 */
export function parseAllowedHosts(setting: string, settingName: string): string[] {
  const entries = setting
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const entry of entries) {
    if (!splitHost(entry)) throw new Error(`${settingName}: '${entry}' is not a host name`);
  }
  return entries;
}

/** The loopback names plus the configured ones: what the control plane answers to. */
export function allowedHostsFor(config: { allowedHosts?: readonly string[] }): readonly string[] {
  return [...LOOPBACK_HOST_NAMES, ...(config.allowedHosts ?? [])];
}
