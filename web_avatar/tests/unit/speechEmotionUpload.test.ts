import { describe as suite, expect, it } from "vitest";
import { describe, embeddedJson, refusal } from "../../src/report/upload";

suite("speech-emotion upload helpers", () => {
  it("describes the progress in megabytes and percent, then the last step", () => {
    expect(describe({ sentBytes: 2_500_000, totalBytes: 10_000_000, phase: "uploading" }))
      .toBe("Analysing… 2.5 of 10.0 MB (25 %)");
    expect(describe({ sentBytes: 0, totalBytes: 0, phase: "uploading" })).toContain("(0 %)");
    expect(describe({ sentBytes: 1, totalBytes: 1, phase: "finishing" })).toBe("Analysing the last utterances…");
  });

  it("finds the JSON a report page embeds", () => {
    const page = '<p>x</p><script type="application/json" id="report">{"source":"prosody","a":"\\u003c/script\\u003e"}</script>';
    expect(JSON.parse(embeddedJson(page)!)).toEqual({ source: "prosody", a: "</script>" });
    expect(embeddedJson("<p>no report</p>")).toBeNull();
  });

  it("turns the server's refusals into messages a user can act on", () => {
    expect(refusal(422, '{"detail":"not a readable audio file: Invalid data"}').message)
      .toBe("422: not a readable audio file: Invalid data");
    expect(refusal(503, '{"detail":"the server is already making as many reports as it may at once; try again"}').message).toContain("try again in a moment");
    expect(refusal(502, "Bad Gateway").message).toBe("502: Bad Gateway");
    expect(refusal(0, "").status).toBe(0);
  });
});
