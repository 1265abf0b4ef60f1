/** node-onvif 0.1.7 ships no types; only video/onvif.ts uses it, through its own typed adapter. */
declare module 'node-onvif' {
  const onvif: unknown;
  export default onvif;
}
