/**
 * The `service` command group: wires the per-topic modules together.
 */
import type { Command } from "commander";
import type { Ctx } from "../context.js";
import { registerServiceCreate, registerServiceUpdate } from "./service-create.js";
import { registerServiceList } from "./service-list.js";
import { registerServiceLogs } from "./service-logs.js";
import { registerServiceManage } from "./service-manage.js";

/** registerService adds `service create|update|ls|ps|inspect|rm|scale|logs`. */
export function registerService(program: Command, ctx: Ctx): void {
  // Positional options let `create IMAGE CMD --flag` pass --flag to the container command.
  const service = program.command("service").description("Manage Swarm services").enablePositionalOptions();
  registerServiceCreate(service, ctx);
  registerServiceUpdate(service, ctx);
  registerServiceList(service, ctx);
  registerServiceManage(service, ctx);
  registerServiceLogs(service, ctx);
}
