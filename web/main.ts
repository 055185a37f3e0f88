/**
 * The page: load a model (URL or picked files), validate the antibody as it is typed, and switch between the views.
 * Every view gets a PageContext and runs the library's tasks itself; nothing is sent anywhere.
 */
import { IgBert, InputError, chainField, chainLetter, clearModelCache, normalizeChain, type AntibodyRecord, type Chain, type LoadProgress, type WebDevicePreference, type WeightDType } from '../src/web.js';
import { byId } from './lib/dom.js';
import { mountBatch } from './views/batch.js';
import { mountFill } from './views/fill.js';
import { mountLikelihood } from './views/likelihood.js';
import { mountScan } from './views/scan.js';

export interface PageContext {
  /** The loaded model, or undefined (views say "load a model first"). */
  model(): IgBert | undefined;
  /** The antibody in the form, validated against the model's alphabet; undefined (with messages shown) when invalid. */
  antibody(options?: { allowMasks?: boolean }): AntibodyRecord | undefined;
  /** Runs a task with its button disabled and its status line updated; errors are shown there, never thrown. */
  run(button: HTMLButtonElement, status: HTMLElement, label: string, task: (model: IgBert) => Promise<string>): Promise<void>;
}

const params = new URLSearchParams(location.search);
const urlInput = byId<HTMLInputElement>('model-url');
const filesInput = byId<HTMLInputElement>('model-files');
const dtypeSelect = byId<HTMLSelectElement>('dtype');
const deviceSelect = byId<HTMLSelectElement>('device');
const loadButton = byId<HTMLButtonElement>('load');
const loadStatus = byId('load-status');
const loadProgress = byId<HTMLProgressElement>('load-progress');
const backendNote = byId('backend');
const heavyInput = byId<HTMLTextAreaElement>('heavy');
const lightInput = byId<HTMLTextAreaElement>('light');

urlInput.value = params.get('model') ?? '';
dtypeSelect.value = params.get('dtype') ?? 'fp32';
deviceSelect.value = params.get('device') ?? 'auto';
heavyInput.value = params.get('heavy') ?? '';
lightInput.value = params.get('light') ?? '';

let model: IgBert | undefined;

function showProgress(progress: LoadProgress): void {
  loadStatus.textContent = progress.message;
  loadProgress.hidden = progress.stage === 'ready';
  if (progress.fraction === undefined) loadProgress.removeAttribute('value');
  else loadProgress.value = progress.fraction;
}

byId<HTMLFormElement>('model-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const files = filesInput.files && filesInput.files.length > 0 ? filesInput.files : undefined;
  const url = urlInput.value.trim();
  if (!files && !url) {
    loadStatus.textContent = 'Enter a model folder URL or pick the model files first.';
    urlInput.focus();
    return;
  }
  let address: string | undefined;
  if (!files) {
    // Relative addresses are read from this page's server: /model/ or ../model/ next to the page.
    try {
      address = new URL(url, location.href).href;
    } catch {
      loadStatus.textContent = `Could not load the model: "${url}" is not a URL (an address such as https://host/folder/ or /model/).`;
      document.body.dataset['ready'] = 'error';
      urlInput.focus();
      return;
    }
  }
  loadButton.disabled = true;
  loadProgress.hidden = false;
  backendNote.hidden = true;
  const started = performance.now();
  try {
    await model?.dispose();
    model = undefined;
    model = await IgBert.load(files ?? (address as string), {
      dtype: dtypeSelect.value as WeightDType,
      device: deviceSelect.value as WebDevicePreference,
      // scripts/build-web.ts copies onnxruntime-web's runtime there.
      wasmPaths: new URL('./ort/', location.href).href,
      onProgress: showProgress,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const { config } = model;
    loadStatus.textContent =
      `Loaded ${model.checkpoint.source} (${config.num_hidden_layers} layers, hidden ${config.hidden_size}, ${model.engineInfo.precision}) in ${seconds} s; ` +
      `${model.loadNotes.join('; ')}.`;
    const engine = model.engineInfo;
    const passedOver = model.passedOver.length > 0 ? ` (not ${model.passedOver.join('; not ')})` : '';
    backendNote.textContent = `Runs on ${engine.deviceName ?? engine.device}, ${engine.precision}, ${engine.runtime}${passedOver}.`;
    backendNote.hidden = false;
    document.body.dataset['backend'] = engine.device;
    document.body.dataset['ready'] = 'true';
    validate();
  } catch (error) {
    loadStatus.textContent = `Could not load the model: ${(error as Error).message}`;
    document.body.dataset['ready'] = 'error';
  } finally {
    loadProgress.hidden = true;
    loadButton.disabled = false;
  }
});

byId<HTMLButtonElement>('clear-cache').addEventListener('click', async () => {
  try {
    const removed = await clearModelCache();
    loadStatus.textContent = removed > 0 ? `Forgot ${removed} cached model${removed === 1 ? '' : 's'}.` : 'No cached models to forget.';
  } catch (error) {
    loadStatus.textContent = `Could not forget the cached models: ${(error as Error).message}`;
  }
});

// Whatever no handler above caught is shown at the top of the page, not only in the console.
const pageError = byId('page-error');
function showPageError(reason: unknown): void {
  const message = reason instanceof Error ? reason.message : String(reason);
  pageError.textContent = [pageError.textContent, `Something went wrong: ${message}`].filter(Boolean).join(' ');
  pageError.hidden = false;
}
window.addEventListener('error', (event) => showPageError(event.error ?? event.message));
window.addEventListener('unhandledrejection', (event) => showPageError(event.reason));

// --- the antibody: validated as it is typed, with the message under the chain at fault.
const messages: Record<Chain, HTMLElement> = { heavy: byId('heavy-message'), light: byId('light-message') };
const inputs: Record<Chain, HTMLTextAreaElement> = { heavy: heavyInput, light: lightInput };

/** Messages name "record 1" for the CLI's sake; on the page there is one antibody. */
const withoutRecord = (message: string): string => message.replace(/^record 1( \(id "[^"]*"\))?, /, '');

function validate(options: { allowMasks?: boolean } = {}): AntibodyRecord | undefined {
  const record: AntibodyRecord = { id: 'antibody', heavy: heavyInput.value, light: lightInput.value };
  let ok = true;
  for (const chain of ['heavy', 'light'] as const) {
    messages[chain].textContent = '';
    inputs[chain].removeAttribute('aria-invalid');
    try {
      const normalized = normalizeChain(inputs[chain].value, chain, { record: 1 });
      if (!options.allowMasks && normalized.includes('*')) throw new InputError(`${chain} chain: "*" (a residue to infill) is only allowed in the Infill view.`, { chain: chainLetter(chain) });
    } catch (error) {
      ok = false;
      messages[chain].textContent = withoutRecord((error as Error).message);
      inputs[chain].setAttribute('aria-invalid', 'true');
    }
  }
  if (ok && model) {
    try {
      model.encode([record]);
    } catch (error) {
      ok = false;
      const chain = chainField((error as InputError).location?.chain ?? 'H');
      messages[chain].textContent = withoutRecord((error as Error).message);
      inputs[chain].setAttribute('aria-invalid', 'true');
    }
  }
  if (ok && !heavyInput.value.trim() && !lightInput.value.trim()) {
    messages.heavy.textContent = 'Paste a heavy chain, a light chain, or both.';
    ok = false;
  }
  return ok ? record : undefined;
}
for (const input of [heavyInput, lightInput]) input.addEventListener('input', () => validate({ allowMasks: true }));

const context: PageContext = {
  model: () => model,
  antibody: (options) => validate(options),
  async run(button, status, label, task) {
    if (!model) {
      status.textContent = 'Load a model first (section 1).';
      return;
    }
    button.disabled = true;
    status.textContent = `${label}…`;
    status.dataset['state'] = 'running';
    const started = performance.now();
    try {
      const summary = await task(model);
      status.textContent = `${summary} (${((performance.now() - started) / 1000).toFixed(2)} s on ${model.engineInfo.device === 'webgpu' ? 'WebGPU' : 'WebAssembly'})`;
      status.dataset['state'] = 'done';
    } catch (error) {
      status.textContent = `${label} failed: ${(error as Error).message}`;
      status.dataset['state'] = 'error';
    } finally {
      button.disabled = false;
    }
  },
};

// --- tabs (WAI-ARIA tabs pattern: arrow keys move between tabs, one tab stop).
const tabs = Array.from(document.querySelectorAll<HTMLButtonElement>('[role="tab"]'));
function selectTab(tab: HTMLButtonElement, focus: boolean): void {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute('aria-selected', String(selected));
    other.tabIndex = selected ? 0 : -1;
    byId(other.getAttribute('aria-controls') as string).hidden = !selected;
  }
  if (focus) tab.focus();
}
tabs.forEach((tab, i) => {
  tab.addEventListener('click', () => selectTab(tab, false));
  tab.addEventListener('keydown', (event: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length] as HTMLButtonElement, true);
  });
});

mountLikelihood(byId('panel-likelihood'), context);
mountScan(byId('panel-scan'), context);
mountFill(byId('panel-fill'), context);
mountBatch(byId('panel-batch'), context);
byId('runtime-note').textContent = 'Computation: onnxruntime-web in this tab; no server sees your sequences.';
if (params.get('autoload') === '1' && urlInput.value) loadButton.click();
