/**
 * CLI: serve a local libSQL file over HTTP for `@libsql/client/web` (e.g. the control plane under
 * wrangler dev).
 *
 *   tsx db/libsql-http/main.ts --db .berth/berth.db --port 8080 [--host 127.0.0.1] [--auth-token <t>]
 */
import { parseArgs } from 'node:util';
import { startLibsqlHttpServer } from './server';

const USAGE =
  'usage: tsx db/libsql-http/main.ts --db <file> --port <n> [--host <address>] [--auth-token <token>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      db: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'auth-token': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = Number(values.port);
  if (!values.db || values.port === undefined || !Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const server = await startLibsqlHttpServer({
    databasePath: values.db,
    port,
    host: values.host,
    authToken: values['auth-token'],
  });
  console.log(`libsql-http: serving ${values.db} at ${server.url}`);
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
