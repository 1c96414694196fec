import { setTimeout as sleep } from "node:timers/promises";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from "@tsctl/api";
import {
  ClientClosedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  isRecoverableError,
  type Etcd3,
  type IMember,
} from "etcd3";

/**
 * EtcdMember is one member of the etcd cluster. The id is etcd's uint64 member id as a decimal
 * string: it does not fit a double, so it is never turned into a number.
 */
export interface EtcdMember {
  id: string;
  /** Empty while an added member has not started yet (etcd learns the name from the member). */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner?: boolean;
}

/** Membership calls go to the local member; a short deadline keeps a stuck cluster from hanging joins. */
const callTimeoutMs = 5000;
const deadline = (): { deadline: number } => ({ deadline: Date.now() + callTimeoutMs });

/**
 * listMembers returns the cluster's members as the local member knows them. etcd 3.4 ignores
 * the request's linearizable flag (3.5 honours it), so this also answers without quorum.
 */
export async function listMembers(client: Etcd3): Promise<EtcdMember[]> {
  const res = await unavailable("list etcd members", () => client.cluster.memberList({ linearizable: true }, deadline()));
  return res.members.map(toMember);
}

/**
 * addMember adds a member that will start with `--name=<name>` and listen for peers at peerUrl,
 * and returns the --initial-cluster it must start with (every member, itself included, as
 * "name=peerUrl"). Retrying after a join that failed before the new member started is fine: a
 * not yet started member with the same peer URL is reused. It refuses (FailedPrecondition) while
 * another added member has not started, since that member's name is unknown and etcd would count
 * it against quorum; remove it first.
 *
 * etcd (--strict-reconfig-check, on by default) refuses an add with "unhealthy cluster" unless
 * every voting member has been connected to the local one for the last 5 s, so a join right after
 * another, or while a member is down, waits: addMember retries for up to `waitMs` (default 15 s)
 * and then fails with UnavailableError.
 *
 * A voting member counts against quorum from the moment it is added: adding one to a 1-member
 * cluster leaves 1 of 2 up, and nothing commits (not even its removal) until it starts. With
 * `learner` the member is added as a non-voting learner instead, which costs no quorum; promote
 * it with promoteMember once it has started.
 */
export async function addMember(
  client: Etcd3,
  name: string,
  peerUrl: string,
  opts: { waitMs?: number; learner?: boolean } = {},
): Promise<{ member: EtcdMember; initialCluster: string }> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new InvalidArgumentError(`invalid etcd member name ${JSON.stringify(name)}`);
  let members = await listMembers(client);
  let member = members.find((m) => m.peerUrls.includes(peerUrl));
  if (member !== undefined && member.name !== "" && member.name !== name) {
    throw new FailedPreconditionError(`peer URL ${peerUrl} already belongs to etcd member ${member.name} (${member.id})`);
  }
  if (member !== undefined && member.name === name) {
    throw new FailedPreconditionError(`etcd member ${name} (${member.id}) already exists and has started; remove it first`);
  }
  const namesake = members.find((m) => m.name === name && !m.peerUrls.includes(peerUrl));
  if (namesake !== undefined) {
    throw new FailedPreconditionError(`etcd member name ${name} is taken by ${namesake.id} at ${namesake.peerUrls.join(",")}`);
  }
  const pending = members.filter((m) => m.name === "" && m.id !== member?.id);
  if (pending.length > 0) {
    const ids = pending.map((m) => `${m.id} at ${m.peerUrls.join(",")}`).join("; ");
    throw new FailedPreconditionError(`another etcd member was added and has not started yet (${ids}); remove it first`);
  }
  if (member === undefined) {
    const res = await retryUnhealthy(opts.waitMs ?? 15_000, () =>
      unavailable("add etcd member", () => client.cluster.memberAdd({ peerURLs: [peerUrl], isLearner: opts.learner === true }, deadline())),
    );
    member = toMember(res.member);
    // The response carries the membership right after the add; use it rather than a second read.
    members = res.members.map(toMember);
  }
  const id = member.id;
  const initialCluster = members
    .flatMap((m) => m.peerUrls.map((u) => `${m.id === id ? name : m.name}=${u}`))
    .sort()
    .join(",");
  return { member, initialCluster };
}

/**
 * promoteMember makes a started learner a voting member. etcd refuses while the learner's log is
 * behind the leader's ("not in sync"); that is retried for up to waitMs (default 15 s).
 * Must be sent to a voting member (learners refuse it). Promoting a voting member is a no-op.
 */
export async function promoteMember(client: Etcd3, id: string, opts: { waitMs?: number } = {}): Promise<void> {
  const until = Date.now() + (opts.waitMs ?? 15_000);
  for (;;) {
    try {
      await unavailable("promote etcd member", () => client.cluster.memberPromote({ ID: id }, deadline()));
      return;
    } catch (err) {
      const message = err instanceof Error ? err.message : "";
      if (/can only promote a learner member/.test(message) && !/in sync/.test(message)) return;
      if (/member not found/.test(message)) throw new NotFoundError(`etcd member ${id} not found`);
      const again = /in sync with leader|unhealthy cluster/.test(message) || err instanceof UnavailableError;
      if (!again || Date.now() + 300 > until) throw err;
      await sleep(300);
    }
  }
}

/**
 * removeMember removes a member by id; NotFound if no such member. Like an add, etcd refuses the
 * removal of a voting member that is up ("unhealthy cluster") unless the others have been
 * connected for 5 s and would keep quorum; retried for up to waitMs (default 15 s).
 */
export async function removeMember(client: Etcd3, id: string, opts: { waitMs?: number } = {}): Promise<void> {
  if (!/^[0-9]+$/.test(id)) throw new InvalidArgumentError(`invalid etcd member id ${JSON.stringify(id)}`);
  try {
    await retryUnhealthy(opts.waitMs ?? 15_000, () =>
      unavailable("remove etcd member", () => client.cluster.memberRemove({ ID: id }, deadline())),
    );
  } catch (err) {
    if (err instanceof Error && /member not found/.test(err.message)) throw new NotFoundError(`etcd member ${id} not found`);
    throw err;
  }
}

/**
 * wouldLoseQuorum tells whether removing `removingId` would leave a cluster in which the healthy
 * members are not a majority, i.e. the cluster could no longer commit. Used to refuse a demotion,
 * node removal or leave that would take the cluster down. Learners do not vote and are ignored.
 * Removing the last member always loses quorum.
 */
export function wouldLoseQuorum(members: EtcdMember[], healthyIds: Set<string>, removingId: string): boolean {
  const remaining = members.filter((m) => m.id !== removingId && m.isLearner !== true);
  if (remaining.length === 0) return true;
  const healthy = remaining.filter((m) => healthyIds.has(m.id)).length;
  return healthy < Math.floor(remaining.length / 2) + 1;
}

/** leaderMemberId returns the raft leader's member id as the local member sees it, or undefined. */
export async function leaderMemberId(client: Etcd3): Promise<string | undefined> {
  const status = await unavailable("etcd status", () => client.maintenance.status(deadline()));
  return status.leader === "0" || status.leader === "" ? undefined : status.leader;
}

/** localMemberId returns the id of the member the client talks to (from its response header). */
export async function localMemberId(client: Etcd3): Promise<string> {
  const status = await unavailable("etcd status", () => client.maintenance.status(deadline()));
  return status.header.member_id;
}

/** retryUnhealthy repeats fn while etcd answers "unhealthy cluster", until waitMs have passed. */
async function retryUnhealthy<T>(waitMs: number, fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof UnavailableError && /unhealthy cluster/.test(err.message)) || Date.now() + 500 > until) throw err;
      await sleep(500);
    }
  }
}

function toMember(m: IMember): EtcdMember {
  const out: EtcdMember = { id: m.ID, name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs };
  if (m.isLearner) out.isLearner = true;
  return out;
}

/** unavailable maps connection failures to UnavailableError and keeps etcd's own answers. */
async function unavailable<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const connection =
      err instanceof GRPCUnavailableError ||
      err instanceof GRPCDeadlineExceededError ||
      err instanceof GRPCCancelledError ||
      err instanceof ClientClosedError ||
      (err instanceof Error && (isRecoverableError(err) || err.name === "BrokenCircuitError"));
    if (connection) throw new UnavailableError(`${what}: ${(err as Error).message}`, err);
    throw err;
  }
}
