// Resolve the component's host import to the fake host when running natively.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
