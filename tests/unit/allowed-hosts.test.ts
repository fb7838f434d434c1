import { describe, expect, it } from 'vitest';
import {
  allowedHostsFor,
  isAllowedHost,
  LOOPBACK_HOST_NAMES,
  parseAllowedHosts,
} from '../../worker/api/allowed-hosts';
import { parseBerthConfig as configFromEnv } from '../../worker/config';
import { configFromVars } from '../../worker/hosts/workers/workers-deps';

describe('isAllowedHost', () => {
  it('answers the loopback names on any port', () => {
    for (const host of [
      '127.0.0.1',
      '127.0.0.1:8787',
      'localhost',
      'localhost:1',
      'LocalHost.',
      '[::1]',
      '[::1]:8787',
    ]) {
      expect({ host, allowed: isAllowedHost(host, LOOPBACK_HOST_NAMES) }).toEqual({ host, allowed: true });
    }
  });

  it('refuses any other name, which is what a DNS-rebinding page sends', () => {
    for (const host of [
      'rebind.attacker.example',
      'rebind.attacker.example:8787',
      'localhost.attacker.example',
      '127.0.0.1.nip.io',
      '10.0.0.5.attacker.example',
    ]) {
      expect({ host, allowed: isAllowedHost(host, LOOPBACK_HOST_NAMES) }).toEqual({ host, allowed: false });
    }
  });

  it('accepts any IP address, which no rebinding page can send, so agents can dial a control plane by its address', () => {
    for (const host of ['10.0.0.5', '10.0.0.5:8787', '127.0.0.2', '[fd00::5]:8787', '[::2]']) {
      expect({ host, allowed: isAllowedHost(host, LOOPBACK_HOST_NAMES) }).toEqual({ host, allowed: true });
    }
    expect(isAllowedHost('256.1.1.1', LOOPBACK_HOST_NAMES)).toBe(false);
  });

  it('refuses a missing, empty or malformed Host', () => {
    for (const host of [
      undefined,
      '',
      ' ',
      'localhost:',
      'localhost:http',
      'local host',
      '::1',
      '[::1',
      'a@localhost',
      'localhost/x',
    ]) {
      expect({ host, allowed: isAllowedHost(host, LOOPBACK_HOST_NAMES) }).toEqual({ host, allowed: false });
    }
  });

  it('holds a configured name to its port when the entry gives one', () => {
    const allowed = ['berth.example.com', 'api.example.com:443'];
    expect(isAllowedHost('berth.example.com:9000', allowed)).toBe(true);
    expect(isAllowedHost('BERTH.example.com', allowed)).toBe(true);
    expect(isAllowedHost('api.example.com:443', allowed)).toBe(true);
    expect(isAllowedHost('api.example.com:8443', allowed)).toBe(false);
    expect(isAllowedHost('api.example.com', allowed)).toBe(false);
  });

  it('lets a wildcard entry stand for every subdomain, not the domain itself', () => {
    const allowed = ['*.workers.dev'];
    expect(isAllowedHost('berth.acme.workers.dev', allowed)).toBe(true);
    expect(isAllowedHost('berth.workers.dev:443', allowed)).toBe(true);
    expect(isAllowedHost('workers.dev', allowed)).toBe(false);
    expect(isAllowedHost('evilworkers.dev', allowed)).toBe(false);
    expect(isAllowedHost('*.workers.dev', allowed)).toBe(false);
  });
});

describe('the allowed-hosts setting', () => {
  it('is a comma-separated list of names, blanks ignored', () => {
    expect(parseAllowedHosts(' berth.example.com, *.workers.dev ,,10.0.0.5:8787,[fd00::5]', 'X')).toEqual([
      'berth.example.com',
      '*.workers.dev',
      '10.0.0.5:8787',
      '[fd00::5]',
    ]);
  });

  it('names the setting and the entry that is not a host name', () => {
    expect(() => parseAllowedHosts('berth.example.com,http://x', 'BERTH_ALLOWED_HOSTS')).toThrow(
      "BERTH_ALLOWED_HOSTS: 'http://x' is not a host name",
    );
  });

  it('always keeps the loopback names beside the configured ones', () => {
    expect(allowedHostsFor({})).toEqual(LOOPBACK_HOST_NAMES);
    expect(allowedHostsFor({ allowedHosts: ['berth.example.com'] })).toEqual([
      ...LOOPBACK_HOST_NAMES,
      'berth.example.com',
    ]);
  });

  it('comes from BERTH_ALLOWED_HOSTS on both runtimes', () => {
    expect(configFromEnv({ BERTH_ALLOWED_HOSTS: 'a.example,b.example' }).allowedHosts).toEqual([
      'a.example',
      'b.example',
    ]);
    expect(configFromVars({ LIBSQL_URL: '', BERTH_ALLOWED_HOSTS: '*.workers.dev' }).allowedHosts).toEqual([
      '*.workers.dev',
    ]);
    expect(configFromVars({ LIBSQL_URL: '' }).allowedHosts).toBeUndefined();
    expect(() => configFromVars({ LIBSQL_URL: '', BERTH_ALLOWED_HOSTS: 'a b' })).toThrow(
      /BERTH_ALLOWED_HOSTS/,
    );
  });
});

describe('the request body cap setting', () => {
  it('comes from BERTH_MAX_REQUEST_BODY_BYTES on both runtimes, and must be a positive whole number', () => {
    expect(configFromEnv({ BERTH_MAX_REQUEST_BODY_BYTES: '65536' }).maxRequestBodyBytes).toBe(65_536);
    expect(
      configFromVars({ LIBSQL_URL: '', BERTH_MAX_REQUEST_BODY_BYTES: '65536' }).maxRequestBodyBytes,
    ).toBe(65_536);
    expect(configFromVars({ LIBSQL_URL: '' }).maxRequestBodyBytes).toBeUndefined();
    for (const bad of ['0', '-1', '1.5', '1MiB']) {
      expect(() => configFromEnv({ BERTH_MAX_REQUEST_BODY_BYTES: bad })).toThrow(
        `BERTH_MAX_REQUEST_BODY_BYTES: '${bad}' is not a whole number of bytes (at least 1)`,
      );
    }
  });
});

describe('the INACTIVE service retention setting', () => {
  it('comes from BERTH_INACTIVE_SERVICE_RETENTION_MS on both runtimes, unset meaning the default hour', () => {
    const name = 'BERTH_INACTIVE_SERVICE_RETENTION_MS';
    expect(configFromEnv({ [name]: '5000' }).inactiveServiceRetentionMs).toBe(5_000);
    expect(configFromVars({ LIBSQL_URL: '', [name]: '0' }).inactiveServiceRetentionMs).toBe(0);
    expect(configFromEnv({}).inactiveServiceRetentionMs).toBeUndefined();
    expect(() => configFromEnv({ [name]: '1h' })).toThrow(
      `${name}: '1h' is not a whole number of milliseconds (at least 0)`,
    );
  });
});
