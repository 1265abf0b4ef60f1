/** The session description for DESCRIBE (RFC 4566, RFC 6184 §8.2.1): one H.264 video stream. */
import { profileLevelId, spropParameterSets } from './h264.js';
import { H264_CLOCK_RATE, H264_PAYLOAD_TYPE } from './rtp.js';

export const TRACK_CONTROL = 'trackID=1';

export function buildSdp(o: { host: string; sessionId: string; sps: Buffer; pps: Buffer; fps: number; width: number; height: number }): string {
  const ip = o.host.includes(':') ? 'IP6' : 'IP4';
  const any = ip === 'IP6' ? '::' : '0.0.0.0';
  return [
    'v=0',
    `o=- ${o.sessionId} 1 IN ${ip} ${o.host}`,
    's=Quanlink camera simulator',
    `c=IN ${ip} ${any}`,
    't=0 0',
    'a=control:*',
    'a=range:npt=0-',
    `m=video 0 RTP/AVP ${H264_PAYLOAD_TYPE}`,
    `a=rtpmap:${H264_PAYLOAD_TYPE} H264/${H264_CLOCK_RATE}`,
    `a=fmtp:${H264_PAYLOAD_TYPE} packetization-mode=1;profile-level-id=${profileLevelId(o.sps)};sprop-parameter-sets=${spropParameterSets(o.sps, o.pps)}`,
    `a=framerate:${o.fps}`,
    `a=x-dimensions:${o.width},${o.height}`,
    `a=control:${TRACK_CONTROL}`,
    '',
  ].join('\r\n');
}
