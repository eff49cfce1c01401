// Validates Kubernetes objects offline against the API schemas shipped in the npm packages
// kubernetes-models (built-in kinds) and @kubernetes-models/prometheus-operator (ServiceMonitor).
// usage: node validate_k8s.mjs NODE_MODULES_DIR OBJECTS.json
// OBJECTS.json is a JSON array of {source, object}. Prints one line per object and exits 1 if any
// object fails or has a kind no installed package knows. Note: the schemas accept unknown fields,
// so the Python side checks the fields that matter (probes, ports, securityContext) itself.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modulesDir, objectsFile] = process.argv.slice(2);
if (!modulesDir || !objectsFile) {
  console.error('usage: node validate_k8s.mjs NODE_MODULES_DIR OBJECTS.json');
  process.exit(2);
}

function candidates(apiVersion, kind) {
  return [
    join(modulesDir, 'kubernetes-models', apiVersion, `${kind}.mjs`),
    join(modulesDir, '@kubernetes-models', 'prometheus-operator', apiVersion, `${kind}.js`),
  ];
}

let failed = 0;
for (const { source, object } of JSON.parse(readFileSync(objectsFile, 'utf8'))) {
  const { apiVersion, kind } = object ?? {};
  const name = `${source}: ${kind}/${object?.metadata?.name} (${apiVersion})`;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || apiVersion.includes('..')) {
    console.log(`FAIL ${name}: no apiVersion/kind`);
    failed++;
    continue;
  }
  const file = candidates(apiVersion, kind).find((f) => existsSync(f));
  if (!file) {
    console.log(`FAIL ${name}: no schema for this apiVersion and kind`);
    failed++;
    continue;
  }
  const Model = (await import(pathToFileURL(file).href))[kind];
  try {
    new Model(object).validate();
    console.log(`ok   ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
