import { describe, expect, it } from "vitest";
import { avatarRequestHeaders } from "../../src/scene/avatarModel";

describe("an avatar's request", () => {
  const ORIGIN = "http://localhost:8000";

  it("carries the token (full or watch-only) as a Bearer header to this server's API", () => {
    expect(avatarRequestHeaders("/v1/rigs/brunette/avatar?v=0123", ORIGIN, "watch-token"))
      .toEqual({ Authorization: "Bearer watch-token" });
    expect(avatarRequestHeaders("http://localhost:8000/v1/rigs/x/avatar", ORIGIN, "t")).toEqual({ Authorization: "Bearer t" });
  });

  it("never sends the token to another site, to static files, or when there is none", () => {
    expect(avatarRequestHeaders("https://models.example/v1/rigs/x/avatar", ORIGIN, "t")).toEqual({});
    expect(avatarRequestHeaders("//models.example/v1/x", ORIGIN, "t")).toEqual({});
    expect(avatarRequestHeaders("/avatars/default.glb", ORIGIN, "t")).toEqual({});
    expect(avatarRequestHeaders("blob:http://localhost:8000/123", ORIGIN, "t")).toEqual({});
    expect(avatarRequestHeaders("/v1/rigs/x/avatar", ORIGIN, null)).toEqual({});
  });
});
