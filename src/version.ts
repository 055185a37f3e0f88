/** This package's name and version, as written into graphs, caches, /info and --version. */
export const PRODUCER = { name: 'igbert', version: '0.1.0' } as const;
