/** What a simulated Modbus device sends back for one request, whatever the wire. */
export type ServerReply =
  /** Nothing: the request goes unanswered. */
  | undefined
  /** A response PDU, framed for the wire; `badCrc` (RTU) spoils its CRC. */
  | { pdu: Buffer; delayMs?: number; badCrc?: boolean }
  /** Bytes written as they are, outside any frame (line noise). */
  | { noise: Buffer; delayMs?: number }
  /** Close the connection without answering (TCP only). */
  | { drop: true };

/** A request as any Modbus wire delivers it: the unit id it is addressed to and its PDU. */
export interface ServerRequest {
  unitId: number;
  pdu: Buffer;
}

export type RequestHandler = (request: ServerRequest, client: string) => ServerReply;
