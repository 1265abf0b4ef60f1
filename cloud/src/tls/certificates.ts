/**
 * TLS material for the broker (mqtts) and the HTTP API (https): either files the operator provides,
 * or a private CA and a server certificate generated once into a directory and reused from there.
 * Keys are made by Node's crypto; node-forge (pure JS) writes the X.509 certificates.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import forge from 'node-forge';

export type CloudTlsOptions =
  | { certFile: string; keyFile: string; caFile?: string | undefined }
  | { generate: { dir: string; /** Extra names for the server certificate besides the host, localhost and 127.0.0.1. */ hosts?: string[] | undefined } };

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  /** The CA gateways must trust, when known (always with `generate`). */
  caPem?: string | undefined;
}

export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';
export const SERVER_CERT_FILE = 'server.crt';
export const SERVER_KEY_FILE = 'server.key';

const CA_YEARS = 10;
const SERVER_YEARS = 2;

function readOrExplain(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`TLS ${what} '${file}' cannot be read: ${(err as Error).message}`);
  }
}

/** Loads (or generates) the TLS material; `host` is the address the cloud listens on. */
export function loadTls(options: CloudTlsOptions, host: string): TlsMaterial {
  if ('generate' in options) return generatedTls(options.generate.dir, serverNames(host, options.generate.hosts ?? []));
  return {
    certPem: readOrExplain(options.certFile, 'certificate'),
    keyPem: readOrExplain(options.keyFile, 'private key'),
    ...(options.caFile !== undefined ? { caPem: readOrExplain(options.caFile, 'CA certificate') } : {}),
  };
}

function serverNames(host: string, extra: readonly string[]): string[] {
  const wildcard = host === '0.0.0.0' || host === '::';
  const names = [...(wildcard ? [hostname()] : [host]), 'localhost', '127.0.0.1', '::1', ...extra];
  return [...new Set(names.filter((name) => name !== ''))];
}

function newKeyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; privatePem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    privatePem: privateKey,
  };
}

function newCertificate(publicKey: forge.pki.PublicKey, years: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive serial (high bit clear), 16 random bytes.
  cert.serialNumber = `0${randomBytes(16).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + years * 365 * 86_400_000);
  return cert;
}

function writeOwnerOnly(file: string, content: string): void {
  writeFileSync(file, content, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** A CA and a server certificate in `dir`: created the first time, then reused. */
export function generatedTls(dir: string, names: readonly string[]): TlsMaterial {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = [CA_CERT_FILE, CA_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE].map((name) => join(dir, name));
  if (files.every((file) => existsSync(file))) {
    return { caPem: readFileSync(files[0]!, 'utf8'), certPem: readFileSync(files[2]!, 'utf8'), keyPem: readFileSync(files[3]!, 'utf8') };
  }

  const caKeys = newKeyPair();
  const ca = newCertificate(caKeys.publicKey, CA_YEARS);
  const caName = [
    { name: 'commonName', value: `Quanlink cloud CA ${randomBytes(4).toString('hex')}` },
    { name: 'organizationName', value: 'Quanlink' },
  ];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const serverKeys = newKeyPair();
  const server = newCertificate(serverKeys.publicKey, SERVER_YEARS);
  server.setSubject([{ name: 'commonName', value: names[0]! }]);
  server.setIssuer(caName);
  server.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  server.sign(caKeys.privateKey, forge.md.sha256.create());

  const material = { caPem: forge.pki.certificateToPem(ca), certPem: forge.pki.certificateToPem(server), keyPem: serverKeys.privatePem };
  writeFileSync(files[0]!, material.caPem);
  writeOwnerOnly(files[1]!, caKeys.privatePem);
  writeFileSync(files[2]!, material.certPem);
  writeOwnerOnly(files[3]!, material.keyPem);
  return material;
}
