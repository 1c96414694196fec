/**
 * WWW-Authenticate parsing (RFC 7235 §4.1): a header holds one or more challenges, each a scheme
 * followed by comma-separated auth-params whose values are tokens or quoted strings. Registries
 * answer 401 with `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
 */

/** Challenge is one parsed challenge; scheme and parameter names are lower-cased. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** parseChallenges parses a WWW-Authenticate value; unparseable tails are dropped, never thrown. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const skip = (chars: string): void => {
    while (i < header.length && chars.includes(header[i] as string)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < header.length && TOKEN_CHAR.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  const quoted = (): string => {
    let s = "";
    i++; // opening quote
    while (i < header.length && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < header.length) i++;
      s += header[i];
      i++;
    }
    i++; // closing quote
    return s;
  };
  let current: Challenge | undefined;
  while (i < header.length) {
    skip(" \t,");
    if (i >= header.length) break;
    const start = i;
    const name = token();
    if (name === "") break;
    skip(" \t");
    if (current !== undefined && header[i] === "=" && header[i + 1] !== "=") {
      i++;
      skip(" \t");
      current.params[name.toLowerCase()] = header[i] === '"' ? quoted() : token();
      continue;
    }
    i = start + name.length;
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
    skip(" \t");
    // token68 (e.g. `Negotiate abc==`) carries no params we use; skip it.
    const save = i;
    const t68 = token();
    skip(" \t");
    if (t68 !== "" && header[i] === "=" && header[i + 1] !== "=") {
      i = save; // it was a param name; the loop reads it
    } else if (t68 !== "") {
      while (header[i] === "=") i++;
    } else {
      i = save;
    }
  }
  return out;
}
