/**
 * int64 fields: proto/ marks them jstype = JS_NUMBER, but the generated code may type them as
 * bigint depending on the generator version. These helpers work with either, so regenerating
 * the schema does not break the agent.
 */
import { create } from "@bufbuild/protobuf";
import { TaskStatusSchema, type TaskStatus } from "@tsctl/api";

/** Int64 is whatever type the generated code uses for int64 fields. */
export type Int64 = TaskStatus["timestampMs"];

const isBigint = typeof create(TaskStatusSchema).timestampMs === "bigint";

/** int64 converts a number to the generated int64 field type. */
export function int64(n: number): Int64 {
  return (isBigint ? BigInt(Math.trunc(n)) : n) as Int64;
}
