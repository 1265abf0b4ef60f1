/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) with the cloud's authentication and topic ACL.
 * Gateways log in with username = clientId = gateway id and their password; the cloud's own ingest
 * client logs in with a service account whose password lives only in this process's memory.
 */
import { X509Certificate } from 'node:crypto';
import { createServer, isIP, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer, rootCertificates } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { isValidGatewayId } from '@quanlink/contracts';
import type { Logger } from 'pino';
import { generateSecret, secretsEqual } from '../auth/secrets.js';
import { checkGatewayPassword } from '../fleet/credentials.js';
import type { CloudStore } from '../store/types.js';
import { describePrincipal, mayPublish, maySubscribe, SERVICE_USERNAME, type Principal } from './acl.js';

export interface ServiceAccount {
  username: string;
  password: string;
  /** Client ids the service account may use all start with this. */
  clientIdPrefix: string;
}

export function createServiceAccount(): ServiceAccount {
  return { username: SERVICE_USERNAME, password: generateSecret(), clientIdPrefix: SERVICE_USERNAME };
}

export interface BrokerOptions {
  store: CloudStore;
  logger: Logger;
  serviceAccount: ServiceAccount;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Listen with TLS (mqtts://) with this certificate and key (PEM); `ca` signed the certificate, when known. */
  tls?: { cert: string; key: string; ca?: string | undefined } | undefined;
}

export interface EmbeddedBroker {
  /** mqtt://host:port (mqtts:// with TLS) */
  url: string;
  /** How the cloud's own clients (ingest) connect: the one listener, over loopback when it listens on every interface. */
  internal: InternalConnection;
  host: string;
  port: number;
  aedes: Aedes;
  connectedClients(): number;
  /** Closes the live connection of this client id (a revoked gateway); false when it has none. */
  disconnect(clientId: string): boolean;
  close(): Promise<void>;
}

export interface InternalConnection {
  url: string;
  /** With TLS: the certificates to trust (the CA when known, else the server certificate itself and the system's roots). */
  ca?: string[] | undefined;
  /** With TLS: a name of the server certificate, when it does not cover the address in `url`. */
  servername?: string | undefined;
}

/** CONNACK return codes of MQTT 3.1.1 §3.2.2.3. */
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;

function refusal(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export async function startBroker(options: BrokerOptions): Promise<EmbeddedBroker> {
  const { store, serviceAccount } = options;
  const logger = options.logger.child({ component: 'broker' });
  const principals = new WeakMap<Client, Principal>();

  async function identify(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Principal> {
    if (username === undefined || password === undefined) {
      throw refusal('username and password are required', BAD_USERNAME_OR_PASSWORD);
    }
    const secret = password.toString('utf8');
    if (username === serviceAccount.username) {
      if (!secretsEqual(secret, serviceAccount.password)) throw refusal('wrong service account password', BAD_USERNAME_OR_PASSWORD);
      if (!client.id.startsWith(serviceAccount.clientIdPrefix)) {
        throw refusal(`service account client id must start with '${serviceAccount.clientIdPrefix}'`, IDENTIFIER_REJECTED);
      }
      return { kind: 'service' };
    }
    if (!isValidGatewayId(username)) throw refusal('username is not a valid gateway id', BAD_USERNAME_OR_PASSWORD);
    if (client.id !== username) throw refusal(`client id '${client.id}' must equal the gateway id`, IDENTIFIER_REJECTED);
    // Unknown, revoked and wrong password look the same from outside; the log says which.
    const check = await checkGatewayPassword(store, username, secret);
    if (check !== 'ok') throw refusal(check === 'unknown' ? 'unknown gateway' : check === 'revoked' ? 'gateway revoked' : 'wrong password', BAD_USERNAME_OR_PASSWORD);
    return { kind: 'gateway', gatewayId: username };
  }

  const aedes = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      identify(client, username, password).then(
        (principal) => {
          principals.set(client, principal);
          done(null, true);
        },
        (err: Error & { returnCode?: number }) => {
          const returnCode = err.returnCode ?? BAD_USERNAME_OR_PASSWORD;
          logger.warn(
            { gateway: username, clientId: client.id, operation: 'connect', returnCode, reason: err.message },
            'mqtt connection refused',
          );
          done(refusal(err.message, returnCode), false);
        },
      );
    },
    authorizePublish(client, packet, done) {
      if (client === null) {
        // A will left by a client of an earlier broker life: allow only a gateway's own status.
        const clientId = (packet as { clientId?: string }).clientId;
        const allowed = typeof clientId === 'string' && isValidGatewayId(clientId) && mayPublish({ kind: 'gateway', gatewayId: clientId }, packet.topic);
        if (!allowed) logger.warn({ clientId, topic: packet.topic, operation: 'publish will' }, 'mqtt publish denied');
        return done(allowed ? null : new Error(`publish to '${packet.topic}' denied`));
      }
      const principal = principals.get(client);
      if (principal && mayPublish(principal, packet.topic)) return done(null);
      logger.warn(
        { gateway: principal ? describePrincipal(principal) : undefined, clientId: client.id, topic: packet.topic, operation: 'publish' },
        'mqtt publish denied',
      );
      // MQTT 3.1.1 has no negative PUBACK: aedes closes the offender's connection.
      done(new Error(`publish to '${packet.topic}' denied`));
    },
    authorizeSubscribe(client, subscription, done) {
      const principal = principals.get(client);
      if (principal && maySubscribe(principal, subscription.topic)) return done(null, subscription);
      logger.warn(
        { gateway: principal ? describePrincipal(principal) : undefined, clientId: client.id, topic: subscription.topic, operation: 'subscribe' },
        'mqtt subscribe denied',
      );
      // null subscription: SUBACK return code 0x80 for this filter, the connection stays up.
      done(null, null);
    },
  });

  aedes.on('clientError', (client, err) => {
    logger.debug({ clientId: client.id, operation: 'mqtt session', err: err.message }, 'mqtt client error');
  });
  aedes.on('connectionError', (client, err) => {
    logger.debug({ clientId: client.id, operation: 'mqtt connect', err: err.message }, 'mqtt connection error');
  });

  const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, aedes.handle) : createServer(aedes.handle);
  const host = options.host ?? '127.0.0.1';
  const listen = (target: Server, port: number, address: string) =>
    new Promise<void>((resolve, reject) => {
      target.once('error', reject);
      target.listen(port, address, () => {
        target.off('error', reject);
        resolve();
      });
    });
  try {
    await listen(server, options.port ?? 0, host);
  } catch (err) {
    if (server.listening) server.close();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  logger.info({ host, port }, 'mqtt broker listening');

  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${urlHost}:${port}`,
    internal: internalConnection(host, port, options.tls),
    host,
    port,
    aedes,
    connectedClients: () => aedes.connectedClients,
    disconnect(clientId) {
      const client = (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
      if (!client) return false;
      client.close();
      return true;
    },
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The address the cloud's own clients use, and with TLS what they trust and which name they check. */
export function internalConnection(host: string, port: number, tls: BrokerOptions['tls']): InternalConnection {
  const address = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const urlHost = address.includes(':') ? `[${address}]` : address;
  if (!tls) return { url: `mqtt://${urlHost}:${port}` };
  const certificate = new X509Certificate(tls.cert);
  const covered = isIP(address) !== 0 ? certificate.checkIP(address) !== undefined : certificate.checkHost(address) !== undefined;
  const dnsName = (certificate.subjectAltName ?? '')
    .split(', ')
    .find((name) => name.startsWith('DNS:') && !name.includes('*'))
    ?.slice('DNS:'.length);
  return {
    url: `mqtts://${urlHost}:${port}`,
    // Without the CA, the certificate itself is trusted (self-signed), besides the public roots (publicly issued).
    ca: tls.ca !== undefined ? [tls.ca] : [tls.cert, ...rootCertificates],
    ...(!covered && dnsName !== undefined && { servername: dnsName }),
  };
}
