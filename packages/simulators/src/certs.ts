import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

/** A throwaway CA and a server certificate it signed, valid for localhost, 127.0.0.1, ::1 and any extra hosts. */
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
 * The certificates for `certDir`, created there on first use and reused afterwards (replaced when they do not
 * name every one of `hosts`); without a directory, generated once per process with the CA written to a temp
 * file. `hosts`: DNS names or IP addresses the server certificate is valid for besides the loopback ones
 * (e.g. `simulators`, the name other containers reach it by).
 */
export function loadOrCreateCerts(certDir?: string, hosts: readonly string[] = []): Promise<CertBundle> {
  const dir = certDir ? path.resolve(certDir) : '';
  const key = `${dir}\n${[...hosts].sort().join(',')}`;
  let p = pending.get(key);
  if (!p) {
    p = dir ? fromDir(dir, hosts) : inTempDir(hosts);
    // A failure must not stick: the next call tries again.
    p.catch(() => pending.delete(key));
    pending.set(key, p);
  }
  return p;
}

const altName = (host: string) => (isIP(host) ? { type: 7 as const, ip: host } : { type: 2 as const, value: host });

async function generateBundle(hosts: readonly string[]): Promise<Omit<CertBundle, 'caFile'>> {
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
        altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }, ...hosts.map(altName)],
      },
    ],
  });
  return { caPem: ca.cert, caKeyPem: ca.private, certPem: server.cert, keyPem: server.private };
}

async function inTempDir(hosts: readonly string[]): Promise<CertBundle> {
  const bundle = await generateBundle(hosts);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'push-sim-'));
  const caFile = path.join(dir, CA_FILE);
  await fs.writeFile(caFile, bundle.caPem);
  return { ...bundle, caFile };
}

function stillValid(b: Omit<CertBundle, 'caFile'>, hosts: readonly string[]): boolean {
  try {
    const cert = new X509Certificate(b.certPem);
    const ca = new X509Certificate(b.caPem);
    const names = hosts.every((h) => (isIP(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined));
    return cert.checkIssued(ca) && Date.parse(cert.validTo) > Date.now() + 30 * DAY_MS && names;
  } catch {
    return false;
  }
}

async function readBundle(file: string, hosts: readonly string[]): Promise<Omit<CertBundle, 'caFile'> | undefined> {
  try {
    const b = JSON.parse(await fs.readFile(file, 'utf8')) as Omit<CertBundle, 'caFile'>;
    return stillValid(b, hosts) ? b : undefined;
  } catch {
    return undefined;
  }
}

async function fromDir(dir: string, hosts: readonly string[]): Promise<CertBundle> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, BUNDLE_FILE);
  let bundle = await readBundle(file, hosts);
  if (!bundle) {
    // Expired, unreadable or without a host now asked for: replace it.
    await fs.rm(file, { force: true });
    const fresh = await generateBundle(hosts);
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(fresh), { mode: 0o600 });
    try {
      // link() fails when the file exists, so a second process starting at the same moment keeps
      // the first one's CA instead of replacing it under a server already using it.
      await fs.link(tmp, file);
      bundle = fresh;
    } catch {
      bundle = (await readBundle(file, hosts)) ?? fresh;
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
