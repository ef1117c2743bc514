// iPXE scripts bootproof serves: Ironic's iSCSI boot-from-volume script and a chain script.
export { type ChainScriptInput, renderChainScript, tftpUrl } from "./chain-script.js";
export {
  formatIscsiRootPath,
  ISCSI_DEFAULT_PORT,
  type IscsiRootPath,
  IscsiRootPathError,
  ipxeLunField,
  MAX_SINGLE_LEVEL_LUN,
  parseIpxeLunField,
  parseIscsiRootPath,
  samFirstLevel,
} from "./root-path.js";
export {
  IpxeScriptInputError,
  parseSanBootInput,
  type SanBootInput,
  SanBootInputSchema,
  type SanBootSpec,
  type SanVolume,
} from "./san-input.js";
export {
  BOOT_DRIVE,
  driveAssignments,
  renderSanBootScript,
  SAN_ATTACH_FAILED_MESSAGE,
  type SanScriptOptions,
  volumeRootPaths,
} from "./san-script.js";
