/**
 * igbert/web — IgBert in the browser on onnxruntime-web (WebGPU, or WebAssembly as the fallback). The same model
 * and tasks as the Node entry point; IgBert.load takes a URL of a Hugging Face-format folder or files the user
 * picked instead of a local path. Nothing here imports a Node module; sequences never leave the page.
 */
export { IgBert, WEB_DEVICES, type ModelSource, type WebDevicePreference, type WebLoadOptions } from './web/igbertWeb.js';
export type { LoadProgress } from './web/loadCheckpoint.js';
export { urlFiles, localFiles, type ModelFiles, type ByteProgress } from './web/modelFiles.js';
export { clearModelCache } from './web/modelCache.js';
export * from './api.js';
