/**
 * The RTSP Transport header (RFC 2326 §12.39) for what this server offers: RTP over the RTSP
 * connection (RTP/AVP/TCP;unicast;interleaved=a-b) and unicast RTP over UDP
 * (RTP/AVP[/UDP];unicast;client_port=a-b). The first acceptable alternative wins.
 */

export type TransportChoice =
  | { kind: 'tcp'; channels?: [number, number] }
  | { kind: 'udp'; clientPorts: [number, number] };

function range(text: string | undefined, max: number): [number, number] | undefined {
  const m = text === undefined ? null : /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a + 1 : Number(m[2]);
  return a <= max && b <= max ? [a, b] : undefined;
}

/** Picks the first alternative this server can serve; a problem text when there is none. */
export function chooseTransport(header: string | undefined): TransportChoice | { problem: string } {
  if (header === undefined || header.trim() === '') return { problem: 'no Transport header' };
  const problems: string[] = [];
  for (const alternative of header.split(',')) {
    const [spec = '', ...params] = alternative.trim().split(';').map((p) => p.trim());
    const values = new Map(params.map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? [p.toLowerCase(), ''] : [p.slice(0, eq).toLowerCase(), p.slice(eq + 1)];
    }));
    const upper = spec.toUpperCase();
    if (values.has('multicast')) {
      problems.push(`${spec}: multicast is not offered`);
      continue;
    }
    if (values.has('mode') && !/^"?play"?$/i.test(values.get('mode')!)) {
      problems.push(`${spec}: only mode=play`);
      continue;
    }
    if (upper === 'RTP/AVP/TCP') {
      if (!values.has('interleaved')) {
        return { kind: 'tcp' };
      }
      const channels = range(values.get('interleaved'), 255);
      if (channels) return { kind: 'tcp', channels };
      problems.push(`${spec}: bad interleaved '${values.get('interleaved')}'`);
    } else if (upper === 'RTP/AVP' || upper === 'RTP/AVP/UDP') {
      const ports = range(values.get('client_port'), 65535);
      if (ports && ports[0] > 0) return { kind: 'udp', clientPorts: ports };
      problems.push(`${spec}: needs client_port=a-b`);
    } else {
      problems.push(`${spec}: not RTP/AVP`);
    }
  }
  return { problem: problems.join('; ') };
}
