import { describe, expect, it } from "vitest";
import { byCodePoint } from "../../../firmware/code-point-order.js";

describe("byCodePoint", () => {
  it("orders by code units, independent of the locale", () => {
    expect(["sdb", "sda", "Sdz", "sd_a", "sd-a", "vda"].sort(byCodePoint)).toEqual(["Sdz", "sd-a", "sd_a", "sda", "sdb", "vda"]);
    expect(byCodePoint("a", "a")).toBe(0);
  });
});
