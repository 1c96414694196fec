/**
 * runc owns running task containers on this node: overlayfs rootfs from image layers, the OCI
 * bundle, conmon-supervised runc containers that outlive tsd, their exit codes, logs and exec,
 * and removal of every mount, cgroup, process and directory they had. State lives in files and
 * runc's state root only, so a restarted tsd adopts what is running. It must never touch
 * containers, mounts or cgroups outside its own roots and cgroup parent, and never decides which
 * tasks run: the agent drives it through the Controller contract.
 */
export { createRuncExecutor, RuncExecutor, type RuncExecutorOptions } from "./runc-executor.js";
export { RuncController } from "./runc-controller.js";
export { conmonArgs } from "./conmon.js";
export { buildOciSpec, cgroupsPathFor, type OciSpec } from "./oci-spec.js";
export { mergeEnv, processArgs } from "./process-spec.js";
export { parseK8sLine, readK8sLog } from "./k8s-log.js";
