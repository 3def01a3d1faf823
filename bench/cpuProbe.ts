/**
 * Loaded into a bench gateway (`node --import …/cpuProbe.js`) to profile its steady state, not
 * its start: from CPU_PROBE_AFTER_MS after start for CPU_PROBE_FOR_MS, written to
 * CPU_PROBE_PATH as a .cpuprofile (Chrome DevTools, or any reader of V8's format).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const after = Number(process.env.CPU_PROBE_AFTER_MS ?? 5_000);
const duration = Number(process.env.CPU_PROBE_FOR_MS ?? 5_000);
const path = process.env.CPU_PROBE_PATH ?? `gateway-${process.pid}.cpuprofile`;

setTimeout(() => {
  void (async () => {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    await new Promise((resolve) => setTimeout(resolve, duration));
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(path, JSON.stringify(profile));
    session.disconnect();
  })();
}, after).unref();
