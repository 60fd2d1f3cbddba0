import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { SimulatorEnvError, simulatorOptionsFromEnv, startSimulators } from '../src';

let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sim-start-'));
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('startSimulators', () => {
  it('starts all three on one CA, writes the key, and reuses CA, key and ids on restart', async () => {
    const first = await startSimulators({ dir });
    let info;
    try {
      info = first.info;
      expect(first.apns.caFile).toBe(first.fcm.caFile);
      expect(first.webpush.caFile).toBe(first.fcm.caFile);
      expect(first.apns.caFile).toBe(path.join(dir, 'ca.pem'));
      expect(await fs.readFile(info.apns.keyFile, 'utf8')).toBe(first.apns.signingKeyPem);
      expect(info.env).toEqual({
        APNS_HOST: '127.0.0.1',
        APNS_PORT: String(first.apns.port),
        APNS_KEY_FILE: path.join(dir, 'apns-key.p8'),
        APNS_KEY_ID: first.apns.keyId,
        APNS_TEAM_ID: first.apns.teamId,
        FCM_ENDPOINT: first.fcm.url,
        FCM_PROJECT_ID: first.fcm.projectId,
        FCM_ACCESS_TOKEN: first.fcm.accessToken,
        WEBPUSH_ALLOWED_ENDPOINTS: `127.0.0.1:${first.webpush.port}`,
        NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem'),
      });
      expect(first.describe()).toContain(`curl --http2 -k ${first.apns.url}/_sim/received`);
    } finally {
      await first.close();
    }
    const second = await startSimulators({ dir });
    try {
      expect(second.apns.caPem).toBe(first.apns.caPem);
      expect(second.apns.signingKeyPem).toBe(first.apns.signingKeyPem);
      expect([second.apns.keyId, second.apns.teamId, second.fcm.accessToken]).toEqual([
        info.apns.keyId,
        info.apns.teamId,
        info.fcm.accessToken,
      ]);
    } finally {
      await second.close();
    }
  });

  it('is trusted by a separate node process through NODE_EXTRA_CA_CERTS alone', async () => {
    const sims = await startSimulators({ dir });
    try {
      // No `ca` option in the child: trust comes from the environment, as for a worker process.
      const script = `require('https').get(process.argv[1], (r) => { console.log(r.statusCode); r.resume(); }).on('error', (e) => { console.log(e.code); })`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, `${sims.fcm.url}/_sim/stats`], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: sims.info.env.NODE_EXTRA_CA_CERTS },
      });
      expect(stdout.trim()).toBe('200');
    } finally {
      await sims.close();
    }
  });
});

describe('certificate hosts', () => {
  it('names the extra hosts in the certificate, and replaces a kept one that does not name them', async () => {
    const { X509Certificate } = await import('node:crypto');
    const plain = await startSimulators({ dir });
    const certOf = async () =>
      new X509Certificate((JSON.parse(await fs.readFile(path.join(dir, 'certs.json'), 'utf8')) as { certPem: string }).certPem);
    const plainCert = await certOf();
    await plain.close();
    expect(plainCert.checkHost('simulators')).toBeUndefined();

    const named = await startSimulators({ dir, certHosts: ['simulators', '10.1.2.3'] });
    try {
      const cert = await certOf();
      expect(cert.checkHost('simulators')).toBe('simulators');
      expect(cert.checkIP('10.1.2.3')).toBe('10.1.2.3');
      expect(cert.checkHost('localhost')).toBe('localhost');
      // A worker dialing `simulators` (here resolved to 127.0.0.1) trusts it through NODE_EXTRA_CA_CERTS.
      const script = `require('https').get({ host: '127.0.0.1', servername: 'simulators', port: process.argv[1], path: '/_sim/stats' }, (r) => { console.log(r.statusCode); r.resume(); }).on('error', (e) => { console.log(e.code); })`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, String(named.fcm.port)], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: named.info.caFile },
      });
      expect(stdout.trim()).toBe('200');
    } finally {
      await named.close();
    }
  });

  it('reads SIM_CERT_HOSTS as a list', () => {
    expect(simulatorOptionsFromEnv({ SIM_CERT_HOSTS: 'simulators, sim.internal' }).certHosts).toEqual(['simulators', 'sim.internal']);
    expect(simulatorOptionsFromEnv({}).certHosts).toEqual([]);
  });
});

describe('simulatorOptionsFromEnv', () => {
  it('reads ports, lists and numbers, with the documented defaults', () => {
    const o = simulatorOptionsFromEnv({
      SIM_LATENCY_MS: '20',
      SIM_DEAD: 'a, b*',
      SIM_FCM_QUOTA_PER_MINUTE: '600',
      SIM_APNS_MAX_STREAMS: '100',
    });
    expect(o).toMatchObject({ host: '127.0.0.1', apnsPort: 2197, fcmPort: 4443, dir: '.data/simulators' });
    expect(o.apns).toMatchObject({ latencyMs: 20, dead: ['a', 'b*'], maxConcurrentStreams: 100 });
    expect(o.fcm).toMatchObject({ latencyMs: 20, dead: ['a', 'b*'], quotaPerMinute: 600 });
    expect(o.fcm).not.toHaveProperty('maxConcurrentStreams');
  });

  it.each([
    [{ SIM_ERROR_RATE: '1.5' }, /SIM_ERROR_RATE/],
    [{ SIM_LATENCY_MS: 'fast' }, /SIM_LATENCY_MS/],
    [{ SIM_APNS_PORT: '70000' }, /SIM_APNS_PORT/],
    [{ SIM_APNS_MAX_STREAMS: '0' }, /SIM_APNS_MAX_STREAMS/],
  ])('names the invalid variable in %o', (env, message) => {
    expect(() => simulatorOptionsFromEnv(env)).toThrow(SimulatorEnvError);
    expect(() => simulatorOptionsFromEnv(env)).toThrow(message);
  });
});
