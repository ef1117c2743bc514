// Generated inputs over what Ironic's API and Cinder accept: LUNs over Cinder's whole range,
// 1-4 volumes, CHAP none / one-way / mutual per volume with the characters people put in
// secrets, one or several portals, IPv4 and IPv6, connector present or absent, capability set
// or not, each storage interface, BIOS and UEFI. Nothing is left out to make Ironic pass.
import fc from "fast-check";
import type { IronicChap, IronicPortal, IronicRealCase, IronicVolume } from "./case.js";

/**
 * IPv4 portals sit in QEMU's user network, where the guest reaches bootproof's target through
 * a forward; .2 (host), .3 (DNS) and .15-.31 (DHCP leases) are QEMU's own.
 */
const ipv4Portal: fc.Arbitrary<IronicPortal> = fc.record({
  host: fc.integer({ min: 100, max: 250 }).map((n) => `10.0.2.${n}`),
  port: fc.oneof(fc.constant(3260), fc.integer({ min: 1024, max: 65535 })),
  family: fc.constant(4 as const),
});

const ipv6Portal: fc.Arbitrary<IronicPortal> = fc.record({
  host: fc.integer({ min: 1, max: 0xfffe }).map((n) => `fd00:b007::${n.toString(16)}`),
  port: fc.oneof(fc.constant(3260), fc.integer({ min: 1024, max: 65535 })),
  family: fc.constant(6 as const),
});

const portal = fc.oneof({ arbitrary: ipv4Portal, weight: 7 }, { arbitrary: ipv6Portal, weight: 1 });

/** Cinder hands out LUNs 0-16383; small ones are the common case, so weight them up. */
const lun = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 9 }), weight: 3 },
  { arbitrary: fc.integer({ min: 10, max: 255 }), weight: 2 },
  { arbitrary: fc.integer({ min: 256, max: 16383 }), weight: 1 },
);

/** What people do put in CHAP secrets: punctuation, spaces and shell/iPXE metacharacters. */
const SECRET_CHARS = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  ..."!@#$%^&*()-_=+[]{};:'\",.<>/?\\|~ `",
];
const USERNAME_CHARS = [..."abcdefghijklmnopqrstuvwxyz0123456789", ..."-_.@"];

const text = (chars: string[], minLength: number, maxLength: number) =>
  fc.array(fc.constantFrom(...chars), { minLength, maxLength }).map((c) => c.join(""));

/**
 * Pieces a script language can trip on, drawn now and then as a whole: runs of spaces,
 * `${`...`}` (iPXE's setting expansion), quotes, backslashes, `#`, `||`.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: iPXE's setting syntax, on purpose
const SECRET_TOKENS = ["  ", " ", "${", "}", "${x}", '"', "'", "\\", "#", "||", "&&", ";"];

/** A CHAP secret of 12-16 characters or so (what most targets demand), often plain. */
const secret = fc.oneof(
  { arbitrary: text([..."abcdefghijklmnopqrstuvwxyz0123456789"], 12, 16), weight: 2 },
  { arbitrary: text(SECRET_CHARS, 12, 16), weight: 2 },
  {
    arbitrary: fc
      .array(fc.oneof({ arbitrary: fc.constantFrom(...SECRET_CHARS), weight: 6 }, fc.constantFrom(...SECRET_TOKENS)), {
        minLength: 10,
        maxLength: 14,
      })
      .map((pieces) => pieces.join("")),
    weight: 1,
  },
);
const username = text(USERNAME_CHARS, 1, 16);

const chap: fc.Arbitrary<IronicChap | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.record({ username, password: secret }),
  fc.record({ username, password: secret, reverse: fc.record({ username, password: secret }) }),
);

const hexId = (digits: number) =>
  fc
    .array(fc.integer({ min: 0, max: 15 }), { minLength: digits, maxLength: digits })
    .map((d) => d.map((n) => n.toString(16)).join(""));
const uuid = fc.tuple(hexId(8), hexId(4), hexId(3), hexId(3), hexId(12)).map(([a, b, c, d, e]) => `${a}-${b}-4${c}-8${d}-${e}`);

/**
 * Volume `index` of a node: its id starts with the index, so ids (and the IQNs named after
 * them) stay distinct however far fast-check shrinks them (one LU per volume, as in Cinder).
 */
const volume = (index: number): fc.Arbitrary<IronicVolume> =>
  fc
    .record({
      volumeId: uuid.map((id) => `${index.toString(16)}${id.slice(1)}`),
      bootIndex: fc.constant(index),
      connection: fc.record({
        targetIqn: hexId(7).map((h) => `iqn.2010-10.org.openstack:volume-${index.toString(16)}${h}`),
        targetLun: lun,
        portals: fc.oneof(
          { arbitrary: fc.array(portal, { minLength: 1, maxLength: 1 }), weight: 3 },
          fc.array(portal, { minLength: 2, maxLength: 3 }),
        ),
        listForm: fc.boolean(),
        chap,
      }),
    })
    .chain((v) =>
      // Several portals only exist in Cinder's list form; some arrays give each port its own IQN.
      v.connection.portals.length > 1
        ? fc.boolean().map((ownIqns) => ({
            ...v,
            connection: {
              ...v.connection,
              listForm: true,
              ...(ownIqns
                ? {
                    portalIqns: v.connection.portals.map((_, i) =>
                      i === 0 ? v.connection.targetIqn : `${v.connection.targetIqn}-port${i}`,
                    ),
                  }
                : {}),
            },
          }))
        : fc.constant(v),
    );

/** Mostly one or two volumes; up to four. */
const volumeCount = fc.oneof(
  { arbitrary: fc.constant(1), weight: 4 },
  { arbitrary: fc.constant(2), weight: 2 },
  fc.integer({ min: 3, max: 4 }),
);

/** Boot indexes 0..n-1 (unique, as Ironic's database demands), sometimes without 0. */
const volumes = volumeCount.chain((count) =>
  fc
    .tuple(
      fc.oneof({ arbitrary: fc.constant(false), weight: 9 }, fc.constant(true)),
      ...Array.from({ length: count }, (_, i) => volume(i)),
    )
    .map(([withoutBootVolume, ...list]) => (withoutBootVolume ? list.map((v) => ({ ...v, bootIndex: v.bootIndex + 1 })) : list)),
);

/**
 * Weighted towards nodes the spec boots (most of a run's boots then boot something), with
 * every other choice still drawn.
 */
export const ironicRealCaseArbitrary: fc.Arbitrary<IronicRealCase> = fc.record({
  node: fc.record({
    uuid,
    bootMode: fc.constantFrom<"bios" | "uefi">("bios", "uefi"),
    iscsiBoot: fc.oneof(
      { arbitrary: fc.constant<"true">("true"), weight: 12 },
      fc.constant<"false">("false"),
      fc.constant(undefined),
    ),
    storageInterface: fc.oneof(
      { arbitrary: fc.constant<"cinder">("cinder"), weight: 8 },
      { arbitrary: fc.constant<"external">("external"), weight: 4 },
      fc.constant<"noop">("noop"),
    ),
    deployInterface: fc.oneof({ arbitrary: fc.constant<"direct">("direct"), weight: 8 }, fc.constant<"ramdisk">("ramdisk")),
    imageSource: fc.oneof({ arbitrary: fc.constant(false), weight: 8 }, fc.constant(true)),
    targetRegistration: fc.constantFrom<"bare" | "with-connection">("with-connection", "bare"),
  }),
  connector: fc.oneof(
    { arbitrary: hexId(8).map((h) => ({ connectorId: `iqn.2010-04.org.openstack:node-${h}` })), weight: 12 },
    fc.constant(undefined),
  ),
  volumes,
  storage: fc.constant({}),
});
