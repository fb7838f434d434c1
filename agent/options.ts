/**
 * `berth agent` options, from command-line flags first and environment variables second.
 */

export interface AgentAttribute {
  name: string;
  value?: string;
}

export interface AgentOptions {
  /** The control plane's base URL (http(s):// or ws(s)://). */
  endpoint: string;
  cluster: string;
  joinToken: string;
  /** Custom attributes registered with the instance, on top of the ecs.* ones the agent detects. */
  attributes: AgentAttribute[];
  /** CPU units to register (1024 per core); detected when omitted. */
  cpu?: number;
  /** Memory to register, in MiB; detected when omitted. */
  memoryMiB?: number;
  /** Where the state file lives; `./.berth/agent` when omitted. */
  stateDir?: string;
  /** Host ports no task may be given (ECS's ECS_RESERVED_PORTS); DEFAULT_RESERVED_PORTS when omitted. */
  reservedPorts?: number[];
  /**
   * The capacity provider whose pool this host joins: registered as the attribute
   * `berth.capacity-provider` (protocol/attributes.ts); in no pool when omitted.
   */
  capacityProvider?: string;
}

export const DEFAULT_STATE_DIR = './.berth/agent';

type Env = Record<string, string | undefined>;

/** Parses `--name value`, `--name=value` and repeated flags; anything else is an error. */
function parseFlags(argv: string[]): Map<string, string[]> {
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`agent: unexpected argument '${arg}'`);
    const equals = arg.indexOf('=');
    const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
    let value: string;
    if (equals !== -1) value = arg.slice(equals + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) value = argv[++i];
    else throw new Error(`agent: --${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return flags;
}

const KNOWN_FLAGS = [
  'endpoint',
  'cluster',
  'join-token',
  'attribute',
  'cpu',
  'memory',
  'state-dir',
  'reserved-ports',
  'capacity-provider',
];

function required(value: string | undefined, flag: string, envName: string): string {
  if (value === undefined || value.trim() === '') {
    throw new Error(`agent: --${flag} is required (or set ${envName})`);
  }
  return value.trim();
}

function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new Error(`agent: --${flag} must be a positive integer, got '${value}'`);
  }
  return parsed;
}

/** `22,2375,8080`: a comma-separated list of host ports; an empty value reserves none. */
function portList(value: string | undefined, flag: string): number[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((text) => text.trim())
    .filter((text) => text !== '');
  return items.map((text) => {
    const port = Number(text);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`agent: --${flag} must be a comma-separated list of ports (1-65535), got '${text}'`);
    }
    return port;
  });
}

/** A capacity provider's name, as CreateCapacityProvider allows it; an empty value means none. */
function capacityProviderName(value: string | undefined): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const name = value.trim();
  if (!/^[a-zA-Z0-9_-]{1,255}$/.test(name)) {
    throw new Error(
      `agent: --capacity-provider must be a capacity provider name (up to 255 letters, numbers, underscores and hyphens), got '${name}'`,
    );
  }
  return name;
}

function parseAttribute(text: string): AgentAttribute {
  const equals = text.indexOf('=');
  const name = (equals === -1 ? text : text.slice(0, equals)).trim();
  if (!name) throw new Error(`agent: --attribute must look like name=value, got '${text}'`);
  return equals === -1 ? { name } : { name, value: text.slice(equals + 1) };
}

function parseEndpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`agent: --endpoint must be a URL like http://host:8787, got '${text}'`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new Error(`agent: --endpoint must use http, https, ws or wss, got '${url.protocol}'`);
  }
  return text;
}

export function parseAgentOptions(argv: string[], env: Env): AgentOptions {
  const flags = parseFlags(argv);
  for (const name of flags.keys()) {
    if (!KNOWN_FLAGS.includes(name)) throw new Error(`agent: unknown option --${name}`);
  }
  const last = (name: string) => flags.get(name)?.at(-1);
  const attributeTexts =
    flags.get('attribute') ??
    (env.BERTH_AGENT_ATTRIBUTES ?? '')
      .split(',')
      .map((text) => text.trim())
      .filter((text) => text !== '');
  return {
    endpoint: parseEndpoint(required(last('endpoint') ?? env.BERTH_ENDPOINT, 'endpoint', 'BERTH_ENDPOINT')),
    cluster: required(last('cluster') ?? env.BERTH_CLUSTER, 'cluster', 'BERTH_CLUSTER'),
    joinToken: required(last('join-token') ?? env.BERTH_JOIN_TOKEN, 'join-token', 'BERTH_JOIN_TOKEN'),
    attributes: attributeTexts.map(parseAttribute),
    cpu: positiveInteger(last('cpu') ?? env.BERTH_AGENT_CPU, 'cpu'),
    memoryMiB: positiveInteger(last('memory') ?? env.BERTH_AGENT_MEMORY, 'memory'),
    stateDir: last('state-dir') ?? env.BERTH_AGENT_STATE_DIR ?? DEFAULT_STATE_DIR,
    reservedPorts: portList(last('reserved-ports') ?? env.BERTH_AGENT_RESERVED_PORTS, 'reserved-ports'),
    capacityProvider: capacityProviderName(last('capacity-provider') ?? env.BERTH_AGENT_CAPACITY_PROVIDER),
  };
}

/** The socket URL: the endpoint with http(s) turned into ws(s), the connect path and the cluster. */
export function agentSocketUrl(endpoint: string, connectPath: string, cluster: string): string {
  const url = new URL(endpoint);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${connectPath}`;
  url.search = new URLSearchParams({ cluster }).toString();
  return url.toString();
}
