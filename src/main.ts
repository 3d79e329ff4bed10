/**
 * Process entry: .env → configuration → server (database, workers, HTTP) → signals.
 * SIGTERM/SIGINT stop gracefully (new ingests get 503 shutting_down, waiting ones finish within
 * their deadline, the embedded database stops last); a second signal exits at once.
 */
import 'dotenv/config';
import { ConfigError, loadConfig } from './config.js';
import { fatalStartMessage } from './startup-errors.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  const early = createLogger(process.env.PHOTOCHANGER_LOG_LEVEL ?? 'info');
  let config;
  try {
    config = loadConfig(process.env, { warn: (m) => early.warn(m) });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  // pino writes asynchronously: flush before exiting, or the last lines (the shutdown) are lost.
  const exit = (code: number) => {
    setTimeout(() => process.exit(code), 1000).unref();
    log.flush(() => process.exit(code));
  };
  let server;
  try {
    server = await startServer(config, log);
  } catch (err) {
    log.fatal({ err: { message: (err as Error)?.message ?? String(err) } }, 'PhotoChanger could not start');
    console.error(fatalStartMessage(err, config));
    return exit(1);
  }

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      void server.forceStop().finally(() => exit(1));
      setTimeout(() => process.exit(1), 2000).unref();
      return;
    }
    stopping = true;
    log.info({ signal }, 'shutting down gracefully');
    server.stop().then(
      () => {
        log.info('stopped');
        exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        exit(1);
      },
    );
  };
  // This process owns its shutdown: server.stop() lets waiting requests finish, then stops the
  // embedded database last (it runs in its own process group, so a Ctrl-C reaches only us).
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, onSignal);
}

main().catch((err: unknown) => {
  console.error(fatalStartMessage(err));
  process.exit(1);
});
