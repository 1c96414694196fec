/**
 * @tsctl/api owns the wire and storage schema (generated from proto/, never edited by hand),
 * the gRPC adapter and the error classes every package shares. It holds no logic of its own.
 */
export * from "./gen/tsctl/v1/objects_pb.js";
export * from "./gen/tsctl/v1/control_pb.js";
export * from "./gen/tsctl/v1/dispatcher_pb.js";
export * from "./gen/tsctl/v1/node_pb.js";
export * from "./errors.js";
export * from "./grpc.js";
export * from "./ids.js";
export * from "./async-queue.js";
export * from "./gen/tsctl/v1/ca_pb.js";
export * from "./gen/tsctl/v1/membership_pb.js";
