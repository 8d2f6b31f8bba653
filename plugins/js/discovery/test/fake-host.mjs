// A fake of the harrier:detector/host import for native tests.
export const logs = [];
export function log(level, message) {
  logs.push(`${level}: ${message}`);
}
export function nowNs() {
  return 0n;
}
export function process(_pid) {
  return undefined;
}
export function ancestry(_pid, _maxDepth) {
  return [];
}
export function recentWrite(_path) {
  return undefined;
}
