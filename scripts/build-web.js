// Bundles the browser code (web/) into dist/web: the console and GraphiQL, each a page, one
// script and one stylesheet whose names carry a content hash (the server caches them for a
// year; the pages revalidate). No CDN: everything the pages load is served by the node.
const { readFileSync, writeFileSync, mkdirSync, rmSync } = require('node:fs');
const { join, basename } = require('node:path');
const esbuild = require('esbuild');

const root = join(__dirname, '..');
const out = join(root, 'dist', 'web');

async function main() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'assets'), { recursive: true });
  const result = await esbuild.build({
    entryPoints: { console: join(root, 'web/console/main.ts'), graphiql: join(root, 'web/graphiql/main.tsx') },
    bundle: true,
    minify: true,
    sourcemap: 'linked',
    format: 'esm',
    target: ['es2022'],
    outdir: join(out, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    loader: { '.woff2': 'file', '.woff': 'file', '.ttf': 'file', '.svg': 'file' },
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    logLevel: 'warning',
  });
  // Each page names its own hashed script and stylesheet.
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (!output.entryPoint || !file.endsWith('.js')) continue;
    const page = basename(output.entryPoint).replace(/\.tsx?$/, '') === 'main' ? basename(join(output.entryPoint, '..')) : undefined;
    if (!page) continue;
    const script = basename(file);
    const style = output.cssBundle ? basename(output.cssBundle) : undefined;
    const html = readFileSync(join(root, 'web', `${page}.html`), 'utf8')
      .replace('{{script}}', `/assets/${script}`)
      .replace('{{style}}', style ? `/assets/${style}` : '');
    writeFileSync(join(out, `${page}.html`), html);
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
