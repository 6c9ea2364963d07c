/**
 * `import()` of an ES module as Node's own loader runs it. aedes ships only ES modules; this
 * CommonJS file is required with Node's own `require` (see load-aedes.ts), so its `import()` is Node's
 * even when the caller runs inside a module sandbox (jest's), where `import()` is unavailable.
 */
export const nativeImport = (specifier: string): Promise<unknown> => import(specifier);
