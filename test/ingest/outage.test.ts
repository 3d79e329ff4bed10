import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalProvider } from '../../src/providers/local/driver.js';
import { createEmptyDatabase } from '../support/db.js';
import { jpegBytes, jsonOf, postIngest } from '../support/http.js';
import { startTestServer, TEST_INGEST_PASSWORD, type TestServer } from '../support/server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

/** Database outage → 503 queue_unavailable within the statement timeout, never 500; recovery without restart. */
describe('queue database outage', () => {
  let proxy: Awaited<ReturnType<typeof startTcpProxy>>;
  let server: TestServer;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const database = await createEmptyDatabase();
    drop = database.drop;
    const real = new URL(database.url);
    proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port) });
    const viaProxy = new URL(database.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    server = await startTestServer({
      providers: [createLocalProvider()],
      databaseUrl: viaProxy.toString(),
      env: { PHOTOCHANGER_QUEUE_STATEMENT_TIMEOUT_MS: '500', PHOTOCHANGER_T_SYNC_RESPONSE_SECONDS: '5' },
    });
  });
  afterAll(async () => {
    proxy.restore();
    await server.close();
    await proxy.close();
    await drop();
  });

  it('answers 503 when the database refuses, 503 within the timeout when it hangs, and recovers', async () => {
    const photo = await jpegBytes(64, 64);
    expect((await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })).status).toBe(
      200,
    );

    proxy.cut();
    const refused = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
    expect(refused.status).toBe(503);
    expect((await jsonOf(refused)).error.code).toBe('queue_unavailable');
    expect(refused.headers.get('cache-control')).toBe('no-store');

    proxy.hang();
    const started = Date.now();
    const hung = await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo });
    const elapsed = Date.now() - started;
    expect(hung.status).toBe(503);
    expect(elapsed).toBeLessThan(2000); // statement timeout 500 ms (+ the client-side margin)

    proxy.restore();
    let recovered = 0;
    for (let i = 0; i < 20 && recovered !== 200; i++) {
      recovered = (await postIngest(server.url, 'slot-001', { password: TEST_INGEST_PASSWORD, file: photo })).status;
      if (recovered !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(recovered).toBe(200);
    expect(server.logLines.filter((l) => l.includes('"level":"error"') && l.includes('unexpected error'))).toEqual([]);
  });
});
