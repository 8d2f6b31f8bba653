// Small helpers on paths, as the Rust SDK's matching module has them.

/**
 * The last component of a path (`/usr/bin/bash` -> `bash`).
 * @param {string} path
 */
export function basename(path) {
  return path.slice(path.lastIndexOf('/') + 1);
}
