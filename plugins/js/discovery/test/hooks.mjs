// Module resolution hook: harrier:detector/host@0.2.0 -> fake-host.mjs.
export async function resolve(specifier, context, next) {
  if (specifier === 'harrier:detector/host@0.2.0') {
    return { url: new URL('./fake-host.mjs', import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
