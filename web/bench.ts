/**
 * A page with no UI for scripts/bench-web.ts: exposes load and timed task runs of igbert/web on window, so the
 * benchmark measures the library in the browser without the page's rendering.
 */
import { describeEngine, IgBert, type AntibodyRecord, type WebDevicePreference, type WeightDType } from '../src/web.js';

let model: IgBert | undefined;

const api = {
  async load(url: string, dtype: WeightDType, device: WebDevicePreference, cache: boolean, maxBatchTokens?: number): Promise<{ seconds: number; backend: string; notes: readonly string[] }> {
    await model?.dispose();
    const started = performance.now();
    model = await IgBert.load(url, {
      dtype,
      device,
      cache,
      wasmPaths: new URL('./ort/', location.href).href,
      ...(maxBatchTokens ? { batching: { maxBatchTokens } } : {}),
    });
    return { seconds: (performance.now() - started) / 1000, backend: describeEngine(model.engineInfo), notes: model.loadNotes };
  },
  /** Runs one task over the records; returns wall seconds. */
  async run(task: 'embed' | 'wt-marginal' | 'pll' | 'scan', records: AntibodyRecord[]): Promise<number> {
    if (!model) throw new Error('load a model first');
    const started = performance.now();
    if (task === 'embed') await model.embed(records);
    else if (task === 'scan') await model.scan(records);
    else await model.score(records, { method: task });
    return (performance.now() - started) / 1000;
  },
  memory(): number | undefined {
    return (performance as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
  },
};

(window as unknown as { igbertBench: typeof api }).igbertBench = api;
document.body.dataset['ready'] = 'true';
