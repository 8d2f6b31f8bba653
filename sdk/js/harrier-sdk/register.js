// `node --import harrier-sdk/register --test ...`: run a detector natively,
// with the host import answered by a fake host and captures importable as
// text (see hooks.js).
import { register } from 'node:module';

register('./hooks.js', import.meta.url);
