/** RTSP 1.0 server of the camera simulator: H.264 from ffmpeg, RTP over TCP or UDP, several clients. */
export {
  startRtspServer,
  type RtspServer,
  type RtspServerOptions,
  type RtspClientInfo,
  type RtspStats,
} from './server.js';
export { type FrameSource } from './encoder.js';
export { type Credentials as RtspCredentials, digestResponse } from './auth.js';
