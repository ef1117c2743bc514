// Real Sahara as a function: one node group (of a one-node-group cluster) in, the Heat stack
// Sahara's Heat engine creates for it out (the main template and the node group's nested
// templates, as text and parsed), or the exception Sahara raised and where. The Python side is
// harness/openstack/python/sahara_worker.py, one long-lived worker per run. The templates are
// returned as Sahara wrote them: reading their OS::Nova::Server, OS::Cinder::Volume,
// OS::Cinder::VolumeAttachment and OS::Heat::ResourceGroup resources is the caller's job.
import * as z from "zod/mini";
import "../../emulator/zod-english.js";
import { InfraError, InputError } from "../errors.js";
import { workerPythonDir, workerPythonFile } from "./python-dir.js";
import { type WorkerSpec, workerFor } from "./worker.js";

const count = () => z.number().check(z.int("must be a whole number"), z.gte(0));
const name = () => z.string().check(z.minLength(1));

/** The Nova flavor Sahara looks up for a boot volume's size (`nova.get_flavor`). */
const SaharaFlavorSchema = z.strictObject({
  id: name(),
  diskGb: count(),
  ramMb: count(),
  vcpus: count(),
  ephemeralGb: count(),
});
export type SaharaFlavor = z.infer<typeof SaharaFlavorSchema>;

/**
 * A node group as Sahara's API takes it, plus its cluster's name. A field left out gets the
 * default Sahara's conductor gives it (sahara.conductor.manager.NODE_GROUP_DEFAULTS: no boot
 * from volume, no volumes, mount prefix /volumes/disk); null is Sahara's None.
 */
const SaharaNodeGroupSchema = z.strictObject({
  clusterName: name(),
  /** The node group's name: names its nested templates (`file://<name>.yaml`). */
  name: name(),
  flavor: SaharaFlavorSchema,
  imageId: name(),
  /** What the image's `_sahara_username` property says (Glance is not asked); default "ubuntu". */
  imageUsername: z.optional(name()),
  /** Instances in the node group: the ResourceGroup's count. */
  count: count(),
  availabilityZone: z.optional(z.nullable(z.string())),
  bootFromVolume: z.optional(z.boolean()),
  bootVolumeType: z.optional(z.nullable(z.string())),
  bootVolumeAvailabilityZone: z.optional(z.nullable(z.string())),
  bootVolumeLocalToInstance: z.optional(z.boolean()),
  volumesPerNode: z.optional(count()),
  volumesSizeGb: z.optional(count()),
  volumeType: z.optional(z.nullable(z.string())),
  volumesAvailabilityZone: z.optional(z.nullable(z.string())),
  volumeLocalToInstance: z.optional(z.boolean()),
  volumeMountPrefix: z.optional(z.string()),
});
export type SaharaNodeGroup = z.infer<typeof SaharaNodeGroupSchema>;

/** A Heat template as YAML parsed it: the caller reads its resources. */
const HeatTemplateSchema = z.record(z.string(), z.unknown());
export type HeatTemplate = z.infer<typeof HeatTemplateSchema>;

const SaharaTemplateFileSchema = z.object({
  /** Exactly what Sahara hands Heat. */
  text: z.string(),
  parsed: HeatTemplateSchema,
});
export type SaharaTemplateFile = z.infer<typeof SaharaTemplateFileSchema>;

const SaharaErrorSchema = z.object({
  /** The exception's qualified name, e.g. "sahara.exceptions.NotFoundException". */
  type: z.string(),
  message: z.string(),
  /** Sahara's own frame that raised it: `sahara/service/heat/templates.py:LINE in FUNCTION`. */
  where: z.string(),
});
export type SaharaError = z.infer<typeof SaharaErrorSchema>;

/** Every flavor lookup Sahara made on Nova, with its arguments (e.g. `{id: "m1.small"}`). */
const FlavorLookupsSchema = z.array(z.record(z.string(), z.unknown()));

const SaharaStackSchema = z.object({
  /** The cluster's name: the Heat engine's renaming (name + id prefix) goes through the database, which is not run. */
  name: z.string(),
  timeoutMins: z.number(),
  disableRollback: z.boolean(),
  parameters: z.record(z.string(), z.unknown()),
  /** CONF.heat_stack_tags joined with ",". */
  tags: z.optional(z.nullable(z.string())),
});

const SaharaStackTemplateSchema = z.object({
  outcome: z.literal("template"),
  mainTemplate: HeatTemplateSchema,
  mainTemplateText: z.string(),
  /** stack.files: the node group's template (`file://<name>.yaml`) and, with data volumes, `file://<name>-volume.yaml`. */
  files: z.record(z.string(), SaharaTemplateFileSchema),
  /** The rest of what Sahara passed to Heat's stacks.create. */
  stack: SaharaStackSchema,
  flavorLookups: FlavorLookupsSchema,
  /** The cluster's and node group's ids (uuid5s of the names: the conductor's are random). */
  ids: z.object({ cluster: z.string(), nodeGroup: z.string() }),
});
export type SaharaStackTemplate = z.infer<typeof SaharaStackTemplateSchema>;

const SaharaRefusalSchema = z.object({
  outcome: z.literal("refused"),
  error: SaharaErrorSchema,
  flavorLookups: FlavorLookupsSchema,
});
export type SaharaRefusal = z.infer<typeof SaharaRefusalSchema>;

const SaharaTemplateAnswerSchema = z.discriminatedUnion("outcome", [SaharaStackTemplateSchema, SaharaRefusalSchema]);
/** What real Sahara wrote for a node group, or its exception. */
export type SaharaTemplateAnswer = z.infer<typeof SaharaTemplateAnswerSchema>;

const SaharaVersionsSchema = z.object({
  sahara: z.string(),
  sahara_path: z.string(),
  heat_template_version: z.string(),
  heat_engine_version: z.string(),
  pyyaml: z.string(),
  python: z.string(),
});
export type SaharaVersions = z.infer<typeof SaharaVersionsSchema>;

export function saharaWorkerSpec(): WorkerSpec {
  return { project: "sahara", script: workerPythonFile("sahara_worker.py"), pythonPath: [workerPythonDir()] };
}

/**
 * The Heat stack real Sahara writes for the node group. Sahara's own exceptions are part of
 * the answer; a malformed node group is an InputError, a worker failure a WorkerError.
 */
export function saharaTemplate(nodeGroup: SaharaNodeGroup): Promise<SaharaTemplateAnswer> {
  const parsed = SaharaNodeGroupSchema.safeParse(nodeGroup);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(node group)"}: ${i.message}`).join("; ");
    return Promise.reject(new InputError(`the Sahara node group is malformed (${issues}): fix it to match SaharaNodeGroup`));
  }
  return workerFor(saharaWorkerSpec()).request("template", parsed.data, SaharaTemplateAnswerSchema);
}

/** The node group's own template (`file://<name>.yaml`) of an answer, parsed. */
export function nodeGroupTemplateOf(answer: SaharaStackTemplate, nodeGroupName: string): HeatTemplate | undefined {
  return answer.files[`file://${nodeGroupName}.yaml`]?.parsed;
}

export async function saharaVersions(): Promise<SaharaVersions> {
  const worker = workerFor(saharaWorkerSpec());
  await worker.start();
  const parsed = SaharaVersionsSchema.safeParse(worker.versions);
  if (!parsed.success)
    throw new InfraError(
      `the sahara worker reported versions that do not match the protocol: ${JSON.stringify(worker.versions)}`,
    );
  return parsed.data;
}
