// decideRange and ifRangeHolds on their own: the RFC 9110 §14 corner cases.
import { describe, expect, it } from "vitest";
import { decideRange, ifRangeHolds } from "../../../harness/http/range.js";

describe("decideRange", () => {
  it.each([
    [undefined, 100, { kind: "full" }],
    ["bytes=0-0", 100, { kind: "partial", first: 0, last: 0 }],
    ["bytes=99-", 100, { kind: "partial", first: 99, last: 99 }],
    ["bytes=-1", 100, { kind: "partial", first: 99, last: 99 }],
    ["bytes= , 10-19 ,", 100, { kind: "partial", first: 10, last: 19 }],
    ["bytes=\t5-6", 100, { kind: "partial", first: 5, last: 6 }],
    ["bytes=0-99999999999999999999999", 100, { kind: "partial", first: 0, last: 99 }],
    ["bytes=100-", 100, { kind: "unsatisfiable" }],
    ["bytes=99999999999999999999999-", 100, { kind: "unsatisfiable" }],
    ["bytes=-0", 100, { kind: "unsatisfiable" }],
    ["bytes=0-", 0, { kind: "unsatisfiable" }],
    ["bytes=-5", 0, { kind: "full" }],
    ["bytes=0-1,2-3", 100, { kind: "full" }],
    ["bytes=200-,300-", 100, { kind: "unsatisfiable" }],
    ["bytes=", 100, { kind: "full" }],
    ["bytes=1-2-3", 100, { kind: "full" }],
    ["bytes=+1-2", 100, { kind: "full" }],
    ["bytes 0-1", 100, { kind: "full" }],
    ["pages=0-1", 100, { kind: "full" }],
  ])("%j on %i bytes → %j", (header, size, decision) => {
    expect(decideRange(header, size)).toEqual(decision);
  });
});

describe("ifRangeHolds", () => {
  const etag = '"10-abc"';
  const date = "Tue, 01 Dec 2026 10:00:00 GMT";
  it.each([
    [undefined, true],
    [etag, true],
    [` ${etag} `, true],
    ['"other"', false],
    [`W/${etag}`, false],
    [date, true],
    ["Tue, 01 Dec 2026 10:00:01 GMT", false],
  ])("%j → %s", (ifRange, holds) => {
    expect(ifRangeHolds(ifRange, etag, date)).toBe(holds);
  });
});
