/**
 * Platform selection from an image index, with containerd's (and so Docker's) compatibility
 * rules: arm64 entries without a variant are v8, an arm/v7 host also runs v6 and v5 images, and
 * an exact variant beats a compatible one. Pure: the host platform is a parameter.
 */
import type { Descriptor, Platform } from "./types.js";

const ARCH_ALIASES: Record<string, string> = { x86_64: "amd64", x86: "386", i386: "386", aarch64: "arm64", armhf: "arm", armel: "arm" };

/** normalizePlatform lower-cases, maps architecture aliases and fills the default variants. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (architecture === "armhf" && variant === undefined) variant = "v7";
  if (architecture === "armel" && variant === undefined) variant = "v6";
  architecture = ARCH_ALIASES[architecture] ?? architecture;
  if (architecture === "arm64" && (variant === undefined || variant === "8")) variant = "v8";
  if (architecture === "arm" && variant === undefined) variant = "v7";
  if (architecture === "arm" && /^[5-8]$/.test(variant ?? "")) variant = `v${variant}`;
  if (architecture === "amd64" && (variant === undefined || variant === "v1")) variant = undefined;
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** formatPlatform renders "linux/arm64/v8" (variant only when set). */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant !== undefined ? [p.variant] : [])].join("/");
}

/** compatibleVariants lists the variants an entry may have to run on want, best first. */
function compatibleVariants(want: Platform): (string | undefined)[] {
  if (want.architecture === "arm") {
    const n = Number((want.variant ?? "v7").slice(1));
    const out: string[] = [];
    for (let v = n; v >= 5; v--) out.push(`v${v}`);
    return out;
  }
  return [want.variant];
}

/**
 * selectManifest picks the index entry for want: the entry with the best-ranked compatible
 * variant, the first one on ties. Entries without a platform (e.g. attestations) never match.
 */
export function selectManifest(entries: readonly Descriptor[], want: Platform): Descriptor | undefined {
  const w = normalizePlatform(want);
  const variants = compatibleVariants(w);
  let best: Descriptor | undefined;
  let bestRank = Infinity;
  for (const e of entries) {
    if (e.platform === undefined) continue;
    const p = normalizePlatform(e.platform);
    if (p.os !== w.os || p.architecture !== w.architecture) continue;
    const rank = variants.indexOf(p.variant);
    if (rank >= 0 && rank < bestRank) {
      best = e;
      bestRank = rank;
    }
  }
  return best;
}

/** hostPlatform is this machine's platform in OCI naming. */
export function hostPlatform(): Platform {
  const arch = ({ x64: "amd64", ia32: "386", ppc64: "ppc64le" } as Record<string, string>)[process.arch] ?? process.arch;
  if (arch === "arm64") return { os: "linux", architecture: arch, variant: "v8" };
  if (arch === "arm") {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    return { os: "linux", architecture: arch, variant: `v${typeof v === "string" || typeof v === "number" ? v : 7}` };
  }
  return { os: "linux", architecture: arch };
}
