/** The server's UDP port pair for RTP (even) and RTCP (the next, odd) as RFC 3550 §11 asks. */
import dgram from 'node:dgram';

export interface UdpPortPair {
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
  rtpPort: number;
  rtcpPort: number;
  close(): Promise<void>;
}

function bind(socket: dgram.Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

export async function bindUdpPortPair(host: string, attempts = 20): Promise<UdpPortPair> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  let lastError = 'every port the OS offered was odd';
  for (let i = 0; i < attempts; i++) {
    const rtp = dgram.createSocket(type);
    try {
      await bind(rtp, 0, host);
    } catch (err) {
      await closeSocket(rtp);
      throw new Error(`UDP bind on ${host} failed: ${(err as Error).message}`);
    }
    const rtpPort = rtp.address().port;
    if (rtpPort % 2 !== 0 || rtpPort === 65534) {
      await closeSocket(rtp);
      continue;
    }
    const rtcp = dgram.createSocket(type);
    try {
      await bind(rtcp, rtpPort + 1, host);
    } catch (err) {
      lastError = (err as Error).message;
      await Promise.all([closeSocket(rtp), closeSocket(rtcp)]);
      continue;
    }
    return { rtp, rtcp, rtpPort, rtcpPort: rtpPort + 1, close: async () => void (await Promise.all([closeSocket(rtp), closeSocket(rtcp)])) };
  }
  throw new Error(`no free even/odd UDP port pair on ${host} after ${attempts} tries (${lastError})`);
}
