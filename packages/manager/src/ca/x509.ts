/**
 * x509 is the one door to @peculiar/x509. The library's dependency-injection container (tsyringe)
 * refuses to load without a Reflect metadata polyfill, and ES modules evaluate their imports in
 * source order, so the polyfill is imported here, first, and every file of ca/ imports the library
 * through this module instead of directly.
 */
import "reflect-metadata";

export * as x509 from "@peculiar/x509";
