import type { Aedes } from 'aedes' with { 'resolution-mode': 'import' };

/**
 * The aedes class. aedes is an ES module; this file is CommonJS, so it is imported through
 * native-import.ts, required with Node's own `require`: `process.getBuiltinModule` hands out
 * Node's module loader even inside a module sandbox (jest replaces `require('node:module')`).
 */
export async function loadAedes(): Promise<typeof Aedes> {
  const nodeRequire = process.getBuiltinModule('node:module').createRequire(__filename);
  const { nativeImport } = nodeRequire('./native-import') as typeof import('./native-import');
  const module = (await nativeImport('aedes')) as { Aedes: typeof Aedes };
  return module.Aedes;
}
