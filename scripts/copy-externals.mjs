// Usage: node scripts/copy-externals.mjs <outdir> <package>...
//
// Makes <outdir> self-contained beside the esbuild bundle: copies each package the bundle
// leaves external (`--external:<package>`), with everything it depends on, into
// <outdir>/node_modules, exactly as package-lock.json resolved them, and marks <outdir> as
// ES modules. dynalite is external because it loads its actions with
// `require('./actions/' + name)` (no extension), which esbuild cannot map inside a bundle, and
// its LevelDB binding (classic-level) is a native addon found next to its own files.
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [outDir, ...roots] = process.argv.slice(2);
if (!outDir || roots.length === 0) {
  process.stderr.write('usage: node scripts/copy-externals.mjs <outdir> <package>...\n');
  process.exit(2);
}

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
/** @type {Record<string, {dependencies?: Record<string, string>, optionalDependencies?: Record<string, string>, peerDependencies?: Record<string, string>, dev?: boolean}>} */
const packages = lock.packages ?? {};

/** Node's lookup from a package's location: its own node_modules, then each enclosing one. */
function resolve(from, name) {
  let dir = from;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

const wanted = new Set();
const queue = roots.map((name) => {
  const location = resolve('', name);
  if (!location) throw new Error(`${name} is not in package-lock.json`);
  return location;
});
while (queue.length > 0) {
  const location = queue.shift();
  if (wanted.has(location)) continue;
  wanted.add(location);
  const entry = packages[location];
  const required = Object.keys(entry.dependencies ?? {});
  const optional = [...Object.keys(entry.optionalDependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {})];
  for (const name of required) {
    const dep = resolve(location, name);
    if (!dep) throw new Error(`${location} needs ${name}, which package-lock.json does not have`);
    queue.push(dep);
  }
  for (const name of optional) {
    const dep = resolve(location, name);
    if (dep && existsSync(dep)) queue.push(dep);
  }
}

for (const location of [...wanted].sort()) {
  if (!existsSync(location)) throw new Error(`${location} is missing: run npm ci first`);
  cpSync(location, join(outDir, location), { recursive: true, dereference: true });
}
writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ private: true, type: 'module' }, null, 2)}\n`);
process.stdout.write(`${outDir}/node_modules: ${wanted.size} packages for ${roots.join(', ')}\n`);
