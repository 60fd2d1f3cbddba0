#!/usr/bin/env node
// `npm run docs`: writes the documents generated from the code (tests fail when they are stale):
// docs/configuration.md from the environment schemas.
'use strict';
const { writeFileSync } = require('node:fs');
const path = require('node:path');
const { configurationDoc } = require('../packages/config/dist');

const root = path.resolve(__dirname, '..');
writeFileSync(path.join(root, 'docs', 'configuration.md'), configurationDoc());
process.stdout.write('wrote docs/configuration.md\n');
