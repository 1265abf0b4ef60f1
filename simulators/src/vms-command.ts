/**
 * The `vms` command of the simulators' command line: one simulated guidance screen on Modbus TCP
 * or MQTT, with its HTTP control endpoint. Kept apart from cli.ts so that it can be tested in-process.
 */
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { UsageError } from './loop-command.js';
import { LOG_LEVELS as LEVELS, intFlag } from './cli-flags.js';
import { startVmsSimulator } from './vms/simulator.js';

export const VMS_USAGE = `Usage: node --import tsx simulators/src/cli.ts vms [flags]

Starts one simulated guidance screen (VMS) and its HTTP control endpoint, then prints one JSON line:
  Modbus TCP: {"event":"listening","id","wire":"modbus-tcp","profile","host","port","unitId","control"}
  MQTT:       {"event":"listening","id","wire":"mqtt","profile","brokerUrl","topicBase","control"}

Flags:
  --wire modbus-tcp|mqtt  how the screen is reached (default modbus-tcp)
  --profile ID|FILE       builtin vms profile (quanlink-vms-r1, quanlink-vms-g1) or a profile YAML
                          (default quanlink-vms-r1 for modbus-tcp, quanlink-vms-g1 for mqtt)
  --id ID                 device id of the screen (default sign-1)
  --host HOST             Modbus TCP: address to listen on (default 127.0.0.1)
  --port N                Modbus TCP: port; 0 = any free port (default 0)
  --unit-id N             Modbus TCP: unit id (default 1)
  --broker URL            MQTT: broker, e.g. mqtt://127.0.0.1:1883 (default: an embedded broker on a free port)
  --topic-base T          MQTT: topic prefix (default the profile's, e.g. vms/ID)
  --control-port N        port of the HTTP control endpoint; 0 = any free port (default 0)
  --log-level LEVEL       pino level for stderr logs (default info)
  -h, --help              show this help

Control endpoint:
  GET    /state                          what is shown, faults, history length
  GET    /display.png[?page=N][&scale=S] what is shown as PNG (page N from 1, S px per LED)
  POST   /faults {"offline":true,"slowMs":500,"reject":true,"pixelFailures":40,"displaysOther":true,
                  "doorOpen":true,"powerFault":true}   (any subset)
  DELETE /faults
`;

export interface VmsCommand {
  wire: 'modbus-tcp' | 'mqtt';
  profile: string;
  id: string;
  host: string;
  port: number | undefined;
  unitId: number | undefined;
  broker: string | undefined;
  topicBase: string | undefined;
  controlPort: number;
  logLevel: string;
}


/** argv after the kind ('vms'). */
export function parseVmsCommand(argv: string[]): VmsCommand | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        wire: { type: 'string' },
        profile: { type: 'string' },
        id: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'unit-id': { type: 'string' },
        broker: { type: 'string' },
        'topic-base': { type: 'string' },
        'control-port': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const wire = v.wire ?? 'modbus-tcp';
  if (wire !== 'modbus-tcp' && wire !== 'mqtt') throw new UsageError(`--wire must be modbus-tcp or mqtt, got '${wire}'`);
  if (wire === 'mqtt') {
    for (const flag of ['host', 'port', 'unit-id'] as const) if (v[flag] !== undefined) throw new UsageError(`--${flag} is for --wire modbus-tcp`);
  } else {
    for (const flag of ['broker', 'topic-base'] as const) if (v[flag] !== undefined) throw new UsageError(`--${flag} is for --wire mqtt`);
  }
  if (v.broker !== undefined && !/^(mqtts?|wss?|tcp):\/\//.test(v.broker)) throw new UsageError(`--broker must be a URL like mqtt://host:1883, got '${v.broker}'`);
  if (v['log-level'] !== undefined && !LEVELS.includes(v['log-level'])) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}, got '${v['log-level']}'`);
  return {
    wire,
    profile: v.profile ?? (wire === 'mqtt' ? 'quanlink-vms-g1' : 'quanlink-vms-r1'),
    id: v.id ?? 'sign-1',
    host: v.host ?? '127.0.0.1',
    port: intFlag('port', v.port, 0, 65535),
    unitId: intFlag('unit-id', v['unit-id'], 1, 255),
    broker: v.broker,
    topicBase: v['topic-base'],
    controlPort: intFlag('control-port', v['control-port'], 0, 65535) ?? 0,
    logLevel: v['log-level'] ?? 'info',
  };
}

/** Starts the screen; the returned line is the listening line without its event name. */
export async function startVms(cmd: VmsCommand, logger: Logger): Promise<{ line: Record<string, unknown>; close(): Promise<void> }> {
  const sim = await startVmsSimulator({
    id: cmd.id,
    profile: cmd.profile,
    wire: cmd.wire,
    controlPort: cmd.controlPort,
    logger,
    ...(cmd.wire === 'modbus-tcp' ? { host: cmd.host, port: cmd.port ?? 0, unitId: cmd.unitId ?? 1 } : {}),
    ...(cmd.broker !== undefined && { brokerUrl: cmd.broker }),
    ...(cmd.topicBase !== undefined && { topicBase: cmd.topicBase }),
  });
  const where = cmd.wire === 'modbus-tcp' ? { host: cmd.host, port: sim.port, unitId: sim.unitId } : { brokerUrl: sim.brokerUrl, topicBase: sim.topicBase };
  return { line: { id: sim.id, wire: sim.wire, profile: cmd.profile, ...where, control: sim.controlUrl }, close: () => sim.close() };
}
