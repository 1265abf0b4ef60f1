/**
 * RTSP 1.0 messages on a TCP stream (RFC 2326 §6, §7, §10.12): requests are cut out of the
 * byte stream with limits, interleaved binary frames (`$` channel length data) from the client
 * (RTCP receiver reports) are passed through, responses are formatted.
 */

export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;

export interface RtspRequest {
  method: string;
  uri: string;
  version: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Map<string, string>;
  body: Buffer;
}

export type RtspReadEvent =
  | { kind: 'request'; request: RtspRequest }
  | { kind: 'interleaved'; channel: number; data: Buffer }
  /** A request that cannot be served. fatal: the stream cannot be resynchronised; answer and close. */
  | { kind: 'bad'; status: number; problem: string; fatal: boolean; cseq?: string };

export const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  413: 'Request Entity Too Large',
  451: 'Parameter Not Understood',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'RTSP Version Not Supported',
};

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Cuts requests out of the bytes of one connection. After a fatal event it ignores everything. */
export class RtspMessageReader {
  private buf: Buffer = Buffer.alloc(0);
  private dead = false;

  constructor(
    private readonly onEvent: (event: RtspReadEvent) => void,
    private readonly limits = { maxHeaderBytes: MAX_HEADER_BYTES, maxBodyBytes: MAX_BODY_BYTES },
  ) {}

  push(chunk: Buffer): void {
    if (this.dead) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (!this.dead && this.buf.length > 0 && this.next()) {
      /* one message consumed per round */
    }
  }

  /** Consumes one message if it is complete; false when more bytes are needed. */
  private next(): boolean {
    const buf = this.buf;
    // Empty lines between messages are allowed (RFC 2326 §15, as HTTP's robustness rule).
    let start = 0;
    while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
    if (start > 0) {
      this.buf = buf.subarray(start);
      return true;
    }
    if (buf[0] === 0x24) {
      if (buf.length < 4) return false;
      const length = buf.readUInt16BE(2);
      if (buf.length < 4 + length) return false;
      this.buf = buf.subarray(4 + length);
      this.onEvent({ kind: 'interleaved', channel: buf[1]!, data: buf.subarray(4, 4 + length) });
      return true;
    }
    const crlf = buf.indexOf('\r\n\r\n');
    const lf = buf.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? { at: crlf, len: 4 } : lf >= 0 ? { at: lf, len: 2 } : undefined;
    if ((!end && buf.length > this.limits.maxHeaderBytes) || (end && end.at > this.limits.maxHeaderBytes)) {
      this.fail(400, `header block longer than ${this.limits.maxHeaderBytes} bytes`, cseqOf(buf.subarray(0, this.limits.maxHeaderBytes).toString('latin1')));
      return false;
    }
    if (!end) return false;
    const head = buf.subarray(0, end.at).toString('latin1');
    const parsed = parseHead(head);
    const bodyStart = end.at + end.len;
    const lengthText = parsed.headers?.get('content-length');
    let bodyLength = 0;
    if (lengthText !== undefined) {
      if (!/^\d{1,9}$/.test(lengthText.trim())) {
        this.fail(400, `Content-Length '${lengthText.slice(0, 40)}' is not a number`, cseqOf(head));
        return false;
      }
      bodyLength = Number(lengthText.trim());
      if (bodyLength > this.limits.maxBodyBytes) {
        this.fail(413, `body of ${bodyLength} bytes is over ${this.limits.maxBodyBytes}`, cseqOf(head));
        return false;
      }
    }
    if (buf.length < bodyStart + bodyLength) return false;
    this.buf = buf.subarray(bodyStart + bodyLength);
    if ('problem' in parsed) {
      this.onEvent({ kind: 'bad', status: 400, problem: parsed.problem, fatal: false, ...(parsed.cseq !== undefined && { cseq: parsed.cseq }) });
    } else {
      this.onEvent({ kind: 'request', request: { ...parsed.request, body: buf.subarray(bodyStart, bodyStart + bodyLength) } });
    }
    return true;
  }

  private fail(status: number, problem: string, cseq: string | undefined): void {
    this.dead = true;
    this.buf = Buffer.alloc(0);
    this.onEvent({ kind: 'bad', status, problem, fatal: true, ...(cseq !== undefined && { cseq }) });
  }
}

function cseqOf(head: string): string | undefined {
  const m = /(?:^|\n)cseq[ \t]*:[ \t]*(\d{1,10})[ \t]*\r?(?:\n|$)/i.exec(head);
  return m?.[1];
}

type ParsedHead =
  | { request: Omit<RtspRequest, 'body'>; headers: Map<string, string> }
  | { problem: string; cseq: string | undefined; headers?: Map<string, string> };

function parseHead(head: string): ParsedHead {
  const lines = head.split(/\r?\n/);
  const requestLine = lines[0]!;
  const parts = requestLine.split(' ');
  const cseq = cseqOf(head);
  if (parts.length !== 3 || !TOKEN.test(parts[0]!) || parts[1]!.length === 0 || !/^[\x21-\x7e]+$/.test(parts[1]!) || !/^[A-Z]+\/\d+\.\d+$/.test(parts[2]!)) {
    return { problem: `malformed request line '${printable(requestLine)}'`, cseq };
  }
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^[ \t]/.test(line) && last !== undefined) {
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim().toLowerCase() : '';
    if (!TOKEN.test(name)) return { problem: `malformed header line ${i + 1} '${printable(line)}'`, cseq };
    const value = line.slice(colon + 1).trim();
    const prior = headers.get(name);
    headers.set(name, prior === undefined ? value : `${prior}, ${value}`);
    last = name;
  }
  return { request: { method: parts[0]!, uri: parts[1]!, version: parts[2]!, headers }, headers };
}

function printable(text: string): string {
  const shown = text.slice(0, 80).replace(/[^\x20-\x7e]/g, '?');
  return text.length > 80 ? `${shown}...` : shown;
}

/** An RTSP/1.0 response; CSeq first as clients expect. */
export function formatResponse(status: number, headers: ReadonlyArray<[string, string]>, body?: Buffer | string): Buffer {
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let head = `RTSP/1.0 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  if (payload && payload.length > 0) head += `Content-Length: ${payload.length}\r\n`;
  head += '\r\n';
  return payload && payload.length > 0 ? Buffer.concat([Buffer.from(head, 'latin1'), payload]) : Buffer.from(head, 'latin1');
}
