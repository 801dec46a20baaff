// Preloaded (NODE_OPTIONS=--require) by `npm run test:mutation`. @stryker-mutator/mocha-runner 9.6.1 loads
// mocha's CLI helpers as `mocha/lib/cli/run-helpers` and `.../options` without an extension; mocha 12 ships
// them as .cjs, so the plugin fails to load ("Cannot find TestRunner plugin mocha"; stryker-js PR #6205,
// open). This resolves exactly those extensionless paths inside mocha/lib/cli to their .cjs files and
// leaves every other resolution alone. Remove it when the runner ships the fix.
const Module = require('node:module');
const path = require('node:path');
const fs = require('node:fs');

const original = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  try {
    return original.call(this, request, ...rest);
  } catch (e) {
    const cjs = `${request}.cjs`;
    if (e.code === 'MODULE_NOT_FOUND' && /[\\/]mocha[\\/]lib[\\/]cli[\\/][\w-]+$/.test(request) && path.isAbsolute(request) && fs.existsSync(cjs)) return cjs;
    throw e;
  }
};
