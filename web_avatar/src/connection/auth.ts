// The server's token (AVATAR_DRIVER_TOKEN), when it has one. It comes in the page's URL
// fragment (`#token=…`: a fragment is never sent to a server, so no log keeps it), is kept in
// this browser's localStorage, and goes with every request: REST as a Bearer header, the
// publisher's hello, a watcher's URL (the server redacts it from its logs).
const KEY = "avatar-driver-token";

function fromFragment(): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (token === null) return null;
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  return token;
}

export function serverToken(): string | null {
  const given = fromFragment();
  if (given !== null) {
    if (given) localStorage.setItem(KEY, given);
    else localStorage.removeItem(KEY); // `#token=` forgets it
  }
  return localStorage.getItem(KEY);
}

/** fetch() for the server's REST API, with the token when there is one. */
export function api(path: string, init: RequestInit = {}): Promise<Response> {
  const token = serverToken();
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(path, { ...init, headers });
}
