/**
 * The worker-thread host of one simulated device (execution "workers"): it forwards each request from the executor
 * to a `DeviceRunner` (deviceRunner.ts, where the device's work and timing live) and posts the reply back; on
 * `close` it disposes the backend and closes its port.
 */
import { parentPort } from 'node:worker_threads';
import { DeviceRunner, type DeviceRequest } from './deviceRunner.ts';

export type { DeviceReply, DeviceRequest, DeviceTask } from './deviceRunner.ts';

const port = parentPort;
const runner = new DeviceRunner();

if (port !== null)
  port.on('message', (req: DeviceRequest) => {
    void runner.handle(req).then((r) => {
      if (req.op === 'close') port.close();
      else port.postMessage(r);
    });
  });
