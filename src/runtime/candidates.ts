/**
 * Which engine runs: one ordered candidate list, the same on Node and in browsers. A preference names the devices
 * tried, in order; each platform supplies the candidates it has (Node: cuda, webgpu, cpu; browsers: webgpu, wasm).
 * A candidate that fails hands over to the next with one line saying why; when every one fails, one error lists
 * each reason. A candidate this machine plainly lacks (no NVIDIA GPU, no GPU device at all) is skipped under
 * "auto" without a line, so CPU-only users see no noise — `igbert doctor` shows every reason.
 */
import { RuntimeFailure } from '../errors.js';
import { DEVICES, type Device, type Engine } from './engine.js';

export const DEVICE_PREFERENCES = ['auto', ...DEVICES] as const;
export type DevicePreference = (typeof DEVICE_PREFERENCES)[number];

/** For each preference, the devices tried, in order: "auto" is the fastest that starts. */
export const DEVICE_ORDER: Readonly<Record<DevicePreference, readonly Device[]>> = {
  auto: ['cuda', 'webgpu', 'cpu', 'wasm'],
  cuda: ['cuda'],
  webgpu: ['webgpu', 'cpu', 'wasm'],
  cpu: ['cpu'],
  wasm: ['wasm'],
};

/** Why a candidate cannot be tried here; `absent` when this machine has no such device at all. */
export interface Unavailable {
  reason: string;
  absent?: boolean;
}

export interface EngineCandidate {
  readonly device: Device;
  /** A cheap check before starting (no weights read): why not, or undefined to try it. */
  check?(): Promise<Unavailable | undefined>;
  /** Builds the engine (uploads weights, creates the first session); throws with the reason when it cannot. */
  start(): Promise<Engine>;
}

export interface SelectedEngine {
  engine: Engine;
  /** Candidates passed over before it, each "device: reason". */
  passedOver: string[];
}

/**
 * Starts the first candidate of `preference` that works. `log` gets one line per candidate that was present but
 * failed when another is tried next.
 */
export async function selectEngine(
  preference: DevicePreference,
  candidates: Partial<Record<Device, EngineCandidate>>,
  log: (line: string) => void,
): Promise<SelectedEngine> {
  const order = DEVICE_ORDER[preference].filter((device) => preference !== 'auto' || candidates[device]);
  const passedOver: string[] = [];
  for (const [i, device] of order.entries()) {
    const candidate = candidates[device];
    const next = order[i + 1];
    let failure: Unavailable;
    if (!candidate) failure = { reason: `igbert has no ${device} engine on this platform` };
    else {
      try {
        const unavailable = await candidate.check?.();
        if (!unavailable) return { engine: await candidate.start(), passedOver };
        failure = unavailable;
      } catch (error) {
        failure = { reason: (error as Error).message };
      }
    }
    passedOver.push(`${device}: ${failure.reason}`);
    if (next && !(preference === 'auto' && failure.absent)) log(`${device} is not available (${failure.reason}); trying ${next}.`);
  }
  throw new RuntimeFailure(
    order.length === 1
      ? `device ${order[0]} cannot run here: ${passedOver[0]?.slice(`${order[0]}: `.length)}`
      : `no device could run the model (${preference}): ${passedOver.join('; ')}`,
    { details: { tried: passedOver } },
  );
}
