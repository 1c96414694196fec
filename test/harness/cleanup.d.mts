export function mountsUnder(dir: string): Promise<string[]>;
export function cgroupDirs(cgroupParent: string): Promise<string[]>;
export function pidsInCgroups(dirs: string[]): Promise<number[]>;
export function pidsMentioning(dir: string): Promise<number[]>;
export function forceCleanup(dir: string, cgroupParent: string): Promise<void>;
