/**
 * spawner starts the processes the runc executor needs (runc, mount, conmon) from a small helper
 * process, so forks neither copy tsd's whole memory nor block its event loop.
 */
export { DirectSpawner } from "./direct-spawner.js";
export { HelperSpawner } from "./helper-spawner.js";
export { abortError, type DetachedOptions, type RunOptions, type SpawnResult, type Spawner } from "./types.js";
