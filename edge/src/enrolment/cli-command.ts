/** `quanlink-edge enrol`: the technician's one command that turns a fresh box into an enrolled gateway. */
import { parseArgs } from 'node:util';
import { enrolGateway, EnrolmentError } from './enrol.js';

export const ENROL_USAGE = `  enrol --cloud https://HOST:PORT --token T --config FILE [--gateway-id ID] [--name N]
       [--ca FILE] [--data-dir DIR] [--force]
                                         enrol with a one-time token (or QUANLINK_ENROL_TOKEN): writes the
                                         config (0600) with the gateway's identity, password and the cloud's
                                         CA; --ca: the CA to trust for an https cloud (an http URL sends the
                                         token in clear: trusted networks only); --force: re-enrol over an
                                         existing config (its devices are kept)
`;

export async function enrolCommand(args: string[], usage: (message: string) => Error): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      cloud: { type: 'string' },
      token: { type: 'string' },
      config: { type: 'string' },
      'gateway-id': { type: 'string' },
      name: { type: 'string' },
      ca: { type: 'string' },
      'data-dir': { type: 'string' },
      force: { type: 'boolean' },
    },
    strict: true,
  });
  const token = values.token ?? process.env.QUANLINK_ENROL_TOKEN;
  if (values.cloud === undefined) throw usage('missing --cloud (the cloud API, e.g. https://cloud.example:8443)');
  if (values.config === undefined) throw usage('missing --config');
  if (token === undefined || token === '') throw usage('missing --token (or QUANLINK_ENROL_TOKEN)');
  try {
    const enrolled = await enrolGateway({
      cloudHttpUrl: values.cloud,
      token,
      configFile: values.config,
      gatewayId: values['gateway-id'],
      name: values.name,
      caFile: values.ca,
      dataDir: values['data-dir'],
      force: values.force ?? false,
    });
    console.log(JSON.stringify({ enrolled: enrolled.gatewayId, config: enrolled.configFile, mqtt: enrolled.mqttUrl, site: enrolled.site, gridCell: enrolled.gridCell, ...(enrolled.caFile ? { ca: enrolled.caFile } : {}) }));
    return 0;
  } catch (err) {
    if (err instanceof EnrolmentError) {
      console.error(`quanlink-edge: enrolment failed: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
