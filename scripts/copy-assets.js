#!/usr/bin/env node
// Part of a workspace's build: copies files tsc does not emit (Lua scripts, the admin page's static files)
// from src/ to dist/, keeping their place. Usage: node ../../scripts/copy-assets.js <folder under src> ...
'use strict';
const { cpSync } = require('node:fs');

for (const folder of process.argv.slice(2)) cpSync(`src/${folder}`, `dist/${folder}`, { recursive: true });
