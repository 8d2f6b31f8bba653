// Work around `jco types` of jco 1.35: the WASI file-system shim it runs on
// (@bytecodealliance/preview2-shim 0.26) starts with no preopened directory,
// so the type generator cannot read any WIT path ("failed to read path for
// WIT ... No such file or directory"). Preload this module to give it the
// file system, from the project directory:
//
//   node --import harrier-sdk/jco-preopen node_modules/.bin/jco types wit --world-name detector -o types/

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const fromProject = createRequire(pathToFileURL(`${process.cwd()}/package.json`));
const fromJco = createRequire(fromProject.resolve('@bytecodealliance/jco'));
const fromTranspile = createRequire(fromJco.resolve('@bytecodealliance/jco-transpile'));
const fs = await import(pathToFileURL(fromTranspile.resolve('@bytecodealliance/preview2-shim/filesystem')).href);
if (typeof fs._addPreopen === 'function' && fs._getPreopens?.().length === 0) fs._addPreopen('/', '/');
