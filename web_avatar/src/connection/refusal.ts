// Why the server refused a request, in words a person can act on: one reading for every upload.

/** FastAPI's `{detail}` of an error body (a string, else its JSON), else the body's text. */
export function refusalDetail(body: string): string {
  try {
    const parsed = JSON.parse(body);
    return typeof parsed.detail === "string" ? parsed.detail : JSON.stringify(parsed.detail);
  } catch {
    return body; // not JSON: keep the text
  }
}

/** What to add to a refusal's words for its status (503: busy, try again). */
export function statusHint(status: number): string {
  return status === 503 ? " (the server is busy; try again in a moment)" : "";
}
