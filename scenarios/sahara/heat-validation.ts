// The findings half of bootproof's Heat: the stack and resource shapes it evaluates, and the base
// of HeatEvaluation (heat-evaluation.ts) that records Heat's findings and checks each resource's
// properties and constraints as Heat's resource plugins validate them.
import type { HeatTemplate, SaharaStackTemplate } from "../../harness/openstack/sahara.js";
import { type HeatCheck, type HeatCloud, type HeatFinding, Unresolved } from "./heat-types.js";
import { formatPath, heatBoolean, heatInteger, isObject, type Json } from "./heat-values.js";
import { yamlExcerpt } from "./yaml-excerpt.js";

export interface StackInstance {
  /** Heat's name for the stack in nested errors: "" (main), "resources.worker.resources[0]", ... */
  path: string;
  template: string;
  parsed: HeatTemplate;
  text: string;
  given: Json;
  /** Heat validates a ResourceGroup's definition with one member even when count is 0: not created. */
  validationOnly: boolean;
  /** The member index in its ResourceGroup (0 for the main stack). */
  index: number;
  depth: number;
}

export interface EvaluatedResource {
  stack: StackInstance;
  name: string;
  type: string;
  properties: Json;
  id: string;
  dependsOn: Set<string>;
}

export abstract class HeatValidation {
  readonly findings = new Map<string, HeatFinding>();

  constructor(
    readonly stack: SaharaStackTemplate,
    readonly cloud: HeatCloud,
  ) {}

  find(
    check: HeatCheck,
    stack: StackInstance,
    resource: string,
    path: Array<string | number>,
    heat: string,
    note?: string,
  ): void {
    const key = `${check}\u0000${stack.template}\u0000${resource}\u0000${formatPath(path)}\u0000${heat}`;
    const known = this.findings.get(key);
    if (known) {
      if (!known.stacks.includes(stack.path)) known.stacks.push(stack.path);
      return;
    }
    const section = resource.startsWith("outputs.") ? ["outputs", resource.slice(8)] : ["resources", resource];
    // Sahara's text down to the first list index (a list is quoted whole).
    const textPath = [...section];
    for (const p of path) {
      if (typeof p === "number") break;
      textPath.push(p);
    }
    let snippet = yamlExcerpt(stack.text, textPath);
    for (let cut = textPath.length - 1; snippet === undefined && cut >= 2; cut--)
      snippet = yamlExcerpt(stack.text, textPath.slice(0, cut));
    // The resource's type line too: what kind of resource Sahara wrote.
    const typeLine = section[0] === "resources" ? yamlExcerpt(stack.text, [...section, "type"]) : undefined;
    const typeText = typeLine?.split("\n").at(-1);
    if (snippet !== undefined && typeText && !snippet.includes(typeText)) snippet = `${snippet}\n${typeText}`;
    this.findings.set(key, {
      check,
      template: stack.template,
      resource,
      path,
      heat,
      ...(note ? { note } : {}),
      stacks: [stack.path],
      snippet: snippet ?? `(${formatPath([...section, ...path])} not found in Sahara's text)`,
    });
  }

  protected propertyError(resource: EvaluatedResource, path: Array<string | number>, message: string): void {
    this.find(
      "property",
      resource.stack,
      resource.name,
      path,
      `Property error: resources.${resource.name}.${formatPath(path)}: ${message}`,
    );
  }

  private required(resource: EvaluatedResource, names: string[]): void {
    for (const name of names)
      if (resource.properties[name] === undefined || resource.properties[name] === null)
        this.propertyError(resource, ["properties"], `Property ${name} not assigned`);
  }

  protected checkProperties(resource: EvaluatedResource): void {
    const p = resource.properties;
    switch (resource.type) {
      case "OS::Cinder::Volume": {
        // properties_schema SIZE: Integer, constraints [Range(min=1)]; validate() → _validate_create_sources.
        const size = p.size;
        if (size === undefined || size === null) {
          const allowNoSize = ["snapshot_id", "source_volid"].filter((k) => p[k]);
          const exclusive = [...allowNoSize, ...["image", "imageRef"].filter((k) => p[k])];
          if (!p.backup_id && (allowNoSize.length !== 1 || exclusive.length !== 1))
            this.find(
              "property",
              resource.stack,
              resource.name,
              ["properties"],
              `If neither "backup_id" nor "size" is provided, one and only one of "source_volid", "snapshot_id" must be specified, but currently specified options: [${exclusive.map((e) => `'${e}'`).join(", ")}].`,
            );
        } else if (!(size instanceof Unresolved)) {
          const n = heatInteger(size);
          if (n === null) this.propertyError(resource, ["properties", "size"], `Value '${String(size)}' is not an integer`);
          else if (n < 1) this.propertyError(resource, ["properties", "size"], `${n} is out of range (min: 1, max: None)`);
        }
        if (typeof p.image === "string" && !this.cloud.images.includes(p.image))
          this.propertyError(
            resource,
            ["properties", "image"],
            `Error validating value '${p.image}': No image matching ${p.image}.`,
          );
        if (typeof p.volume_type === "string" && !this.cloud.volumeTypes.includes(p.volume_type))
          this.propertyError(
            resource,
            ["properties", "volume_type"],
            `Error validating value '${p.volume_type}': The VolumeType (${p.volume_type}) could not be found.`,
          );
        return;
      }
      case "OS::Cinder::VolumeAttachment":
        this.required(resource, ["instance_uuid", "volume_id"]);
        return;
      case "OS::Nova::Server":
        this.checkServer(resource);
        return;
      case "OS::Heat::ResourceGroup": {
        const count = heatInteger(p.count ?? 1);
        if (count === null) this.propertyError(resource, ["properties", "count"], `Value '${String(p.count)}' is not an integer`);
        else if (count < 0) this.propertyError(resource, ["properties", "count"], `${count} is out of range (min: 0, max: None)`);
        if (!isObject(p.resource_def) || typeof p.resource_def.type !== "string")
          this.propertyError(resource, ["properties", "resource_def"], "Property type not assigned");
        return;
      }
      default:
    }
  }

  /** Server._validate_block_device_mapping and the schema of block_device_mapping (Zed). */
  private checkServer(resource: EvaluatedResource): void {
    this.required(resource, ["flavor"]);
    const p = resource.properties;
    const bdm = Array.isArray(p.block_device_mapping) ? p.block_device_mapping : [];
    const bdmV2 = Array.isArray(p.block_device_mapping_v2) ? p.block_device_mapping_v2 : [];
    if (bdm.length > 0 && bdmV2.length > 0)
      this.find(
        "property",
        resource.stack,
        resource.name,
        ["properties"],
        "Cannot define the following properties at the same time: block_device_mapping, block_device_mapping_v2",
      );
    let bootable = p.image !== undefined && p.image !== null;
    for (const [i, mapping] of bdm.entries()) {
      if (!isObject(mapping)) continue;
      const deviceName = mapping.device_name;
      if (deviceName === undefined || deviceName === null) {
        this.propertyError(resource, ["properties", "block_device_mapping", i], "Property device_name not assigned");
        continue;
      }
      if (deviceName === "vda") bootable = true;
      const hasVolume = mapping.volume_id !== undefined && mapping.volume_id !== null;
      const hasSnapshot = mapping.snapshot_id !== undefined && mapping.snapshot_id !== null;
      if (hasVolume && hasSnapshot)
        this.find(
          "property",
          resource.stack,
          resource.name,
          ["properties", "block_device_mapping", i],
          "Cannot define the following properties at the same time: volume_id, snapshot_id",
        );
      if (!hasVolume && !hasSnapshot)
        this.find(
          "property",
          resource.stack,
          resource.name,
          ["properties", "block_device_mapping", i],
          `Either volume_id or snapshot_id must be specified for device mapping ${String(deviceName)}`,
        );
      if (mapping.delete_on_termination !== undefined && heatBoolean(mapping.delete_on_termination) === null)
        this.propertyError(
          resource,
          ["properties", "block_device_mapping", i, "delete_on_termination"],
          `Unrecognized value "${String(mapping.delete_on_termination)}", acceptable values are: true, false`,
        );
    }
    if (bdmV2.length > 0) bootable = true;
    if (!bootable)
      this.find(
        "property",
        resource.stack,
        resource.name,
        ["properties"],
        `Neither image nor bootable volume is specified for instance ${resource.name}`,
      );
    if (typeof p.image === "string" && !this.cloud.images.includes(p.image))
      this.propertyError(resource, ["properties", "image"], `Error validating value '${p.image}': No image matching ${p.image}.`);
  }
}
