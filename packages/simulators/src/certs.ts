import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

/** A throwaway CA and a server certificate it signed, valid for localhost, 127.0.0.1 and ::1. */
export interface CertBundle {
  caPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
  /** The CA as a file, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
}

const DAY_MS = 24 * 3600 * 1000;
const BUNDLE_FILE = 'certs.json';
const CA_FILE = 'ca.pem';

/** One promise per directory (and one for "no directory"): two simulators started together share one CA. */
const pending = new Map<string, Promise<CertBundle>>();

/**
 * The certificates for `certDir`, created there on first use and reused afterwards; without a directory,
 * generated once per process with the CA written to a temp file.
 */
export function loadOrCreateCerts(certDir?: string): Promise<CertBundle> {
  const key = certDir ? path.resolve(certDir) : '';
  let p = pending.get(key);
  if (!p) {
    p = key ? fromDir(key) : inTempDir();
    // A failure must not stick: the next call tries again.
    p.catch(() => pending.delete(key));
    pending.set(key, p);
  }
  return p;
}

async function generateBundle(): Promise<Omit<CertBundle, 'caFile'>> {
  const now = Date.now();
  const ca = await generate([{ name: 'commonName', value: 'push-dispatch simulators CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - DAY_MS),
    notAfterDate: new Date(now + 3650 * DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - DAY_MS),
    // Under 825 days: what Apple platforms accept for a TLS server certificate.
    notAfterDate: new Date(now + 800 * DAY_MS),
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { caPem: ca.cert, caKeyPem: ca.private, certPem: server.cert, keyPem: server.private };
}

async function inTempDir(): Promise<CertBundle> {
  const bundle = await generateBundle();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'push-sim-'));
  const caFile = path.join(dir, CA_FILE);
  await fs.writeFile(caFile, bundle.caPem);
  return { ...bundle, caFile };
}

function stillValid(b: Omit<CertBundle, 'caFile'>): boolean {
  try {
    const cert = new X509Certificate(b.certPem);
    const ca = new X509Certificate(b.caPem);
    return cert.checkIssued(ca) && Date.parse(cert.validTo) > Date.now() + 30 * DAY_MS;
  } catch {
    return false;
  }
}

async function readBundle(file: string): Promise<Omit<CertBundle, 'caFile'> | undefined> {
  try {
    const b = JSON.parse(await fs.readFile(file, 'utf8')) as Omit<CertBundle, 'caFile'>;
    return stillValid(b) ? b : undefined;
  } catch {
    return undefined;
  }
}

async function fromDir(dir: string): Promise<CertBundle> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, BUNDLE_FILE);
  let bundle = await readBundle(file);
  if (!bundle) {
    // Expired or unreadable: replace it.
    await fs.rm(file, { force: true });
    const fresh = await generateBundle();
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(fresh), { mode: 0o600 });
    try {
      // link() fails when the file exists, so a second process starting at the same moment keeps
      // the first one's CA instead of replacing it under a server already using it.
      await fs.link(tmp, file);
      bundle = fresh;
    } catch {
      bundle = (await readBundle(file)) ?? fresh;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }
  const caFile = path.join(dir, CA_FILE);
  const current = await fs.readFile(caFile, 'utf8').catch(() => '');
  if (current !== bundle.caPem) {
    const tmp = `${caFile}.${process.pid}.tmp`;
    await fs.writeFile(tmp, bundle.caPem);
    await fs.rename(tmp, caFile);
  }
  return { ...bundle, caFile };
}
