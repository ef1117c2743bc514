// What Heat would do with the stack Sahara creates, as bootproof's own pure code: read the
// main template and its nested templates (stack.files), expand every OS::Heat::ResourceGroup
// into its member stacks, resolve get_param / get_resource / get_attr / list_join /
// str_replace, and give
//   (a) Heat's own validation findings, in Heat's words: property constraints (an
//       OS::Cinder::Volume's size is an Integer with Range(min=1); required properties; a
//       server's block device mapping), every get_param declared (UserParameterMissing), a
//       nested template's parameters given exactly (TemplateResource), every get_resource /
//       get_attr / depends_on naming a resource of its template, no dependency cycle;
//   (b) what Heat would then ask Cinder and Nova, in order: the volumes a server depends on
//       (Cinder's create arguments as CinderVolume._create_arguments builds them), the server
//       create (novaclient's POST /servers body for Server.handle_create: legacy
//       block_device_mapping as Server._build_block_device_mapping and novaclient's
//       _parse_block_device_mapping write it, or imageRef), and the volume attachments
//       (OS::Cinder::VolumeAttachment: POST os-volume_attachments with no device).
// Physical ids are uuids derived from the stack path, so the same stack always gets the same
// ids. Heat code is not run (python3-heat is not installed); the rules follow Heat Zed
// (heat/engine/resources/openstack/{cinder/volume.py,nova/server.py,heat/resource_group.py},
// hot/functions.py, constraints.py), cited where they apply.
import { createHash } from "node:crypto";
import type { NovaLegacyBdm } from "../../harness/openstack/nova-server.js";
import type { HeatTemplate, SaharaStackTemplate } from "../../harness/openstack/sahara.js";
import { yamlExcerpt } from "./yaml-excerpt.js";

/** What Heat's custom constraints look up (glance.image, cinder.vtype). */
export interface HeatCloud {
  images: readonly string[];
  volumeTypes: readonly string[];
}

export type HeatCheck = "property" | "parameter" | "reference";

export interface HeatFinding {
  check: HeatCheck;
  /** The template Heat reads it in: "main" or a key of stack.files (file://worker.yaml). */
  template: string;
  /** The resource (or `outputs.<name>`) and the path in it. */
  resource: string;
  path: Array<string | number>;
  /** What Heat says, in Heat's words. */
  heat: string;
  /** What bootproof can add in the node group's terms (e.g. the cycle the parameter would close). */
  note?: string;
  /** The stacks Heat meets it in, as Heat names nested stacks in its errors ("" is the main stack). */
  stacks: string[];
  /** Sahara's own text of the offending part of the template. */
  snippet: string;
}

/** A value Heat knows only once a resource exists (an attribute), or a function not modelled here. */
export class Unresolved {
  constructor(readonly what: string) {}
  toJSON(): string {
    return `<unresolved: ${this.what}>`;
  }
}

/** Cinder's volume create, as Heat's OS::Cinder::Volume sends it. */
export interface CinderVolumeCreate {
  /** The resource, as Heat names it: the stack path and the resource name. */
  resource: string;
  id: string;
  size: number | null;
  imageRef: string | null;
  volumeType: string | null;
  availabilityZone: string | null;
  name: string;
  schedulerHints: Record<string, unknown> | null;
}

/** POST /servers as novaclient writes it for Heat's OS::Nova::Server (the fields Nova boots from). */
export interface NovaServerCreateBody {
  name: string;
  imageRef: string;
  flavorRef: string;
  availability_zone: string | null;
  block_device_mapping?: NovaLegacyBdm[];
  /** networks: [{port}] from the server's `networks` property. */
  networks: Array<{ port: string }>;
}

export interface HeatAttachment {
  resource: string;
  volumeId: string;
  mountpoint: string | null;
}

export interface HeatServerPlan {
  resource: string;
  id: string;
  /** The server's index in its ResourceGroup (0 for the first instance of the node group). */
  index: number;
  /** Volumes Heat creates before the server: the ones it depends on (its block device mapping). */
  volumesBefore: string[];
  create: NovaServerCreateBody;
  /**
   * Attachments of volumes to this server, after it is ACTIVE. Heat creates the members of a
   * ResourceGroup concurrently: this is one possible order (by index), Heat promises none.
   */
  attachments: HeatAttachment[];
}

export interface HeatPlan {
  /** Heat's validation findings; empty when Heat accepts the stack. */
  findings: HeatFinding[];
  servers: HeatServerPlan[];
  /** Every OS::Cinder::Volume Heat would create, by id. */
  volumes: Record<string, CinderVolumeCreate>;
  /** Every OS::Neutron::Port, by id, with the MAC Neutron would give it (bootproof's stand-in). */
  ports: Record<string, { resource: string; mac: string }>;
}

/** Heat's HOT functions (2016-04-08 and later): a one-key map with one of these keys is a call. */
const HOT_FUNCTIONS = new Set([
  "get_param",
  "get_resource",
  "get_attr",
  "list_join",
  "str_replace",
  "get_file",
  "repeat",
  "digest",
  "resource_facade",
  "str_split",
  "map_merge",
  "map_replace",
  "yaql",
  "if",
  "equals",
  "not",
  "and",
  "or",
  "contains",
  "filter",
  "make_url",
  "list_concat",
  "list_concat_unique",
  "str_replace_strict",
  "str_replace_vstrict",
]);
/** Parameters every stack has without declaring them. */
const PSEUDO_PARAMETERS = new Set(["OS::stack_name", "OS::stack_id", "OS::project_id"]);
/** Heat's max_nested_stack_depth default. */
const MAX_NESTED_DEPTH = 5;
const ID_NAMESPACE = "bootproof-heat";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Unresolved);

/** A uuid derived from `seed` (uuid5-shaped): what Heat's and Cinder's random ids are here. */
export function derivedUuid(seed: string): string {
  const h = createHash("sha1").update(`${ID_NAMESPACE}/${seed}`).digest("hex");
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The MAC Neutron would give a port: its OUI fa:16:3e and three bytes of the port's id. */
export function neutronMac(portId: string): string {
  const h = createHash("sha1").update(`neutron-mac/${portId}`).digest("hex");
  return `fa:16:3e:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

export function hasUnresolved(value: unknown): boolean {
  if (value instanceof Unresolved) return true;
  if (Array.isArray(value)) return value.some(hasUnresolved);
  if (isObject(value)) return Object.values(value).some(hasUnresolved);
  return false;
}

/** Heat's Integer property: Python's int() of the value (heat/engine/properties.py _get_integer). */
export function heatInteger(value: unknown): number | null {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : null;
  if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) return Number.parseInt(value, 10);
  return null;
}

/** Heat's Boolean property: oslo strutils.bool_from_string(strict=True); null when not a boolean. */
export function heatBoolean(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  const text = String(value).trim().toLowerCase();
  if (["1", "t", "true", "on", "y", "yes"].includes(text)) return true;
  if (["0", "f", "false", "off", "n", "no"].includes(text)) return false;
  return null;
}

interface StackInstance {
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

interface EvaluatedResource {
  stack: StackInstance;
  name: string;
  type: string;
  properties: Json;
  id: string;
  dependsOn: Set<string>;
}

interface Context {
  stack: StackInstance;
  resource: string;
  deps: Set<string>;
}

const resourcesOf = (template: HeatTemplate): Json => (isObject(template.resources) ? template.resources : {});
const parametersOf = (template: HeatTemplate): Json => (isObject(template.parameters) ? template.parameters : {});

/** `a.b[0].c` as Heat prints property paths. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}

class HeatEvaluation {
  readonly findings = new Map<string, HeatFinding>();
  /** Every resource of every stack Heat evaluates (validation-only members included). */
  readonly evaluatedResources: EvaluatedResource[] = [];
  private readonly evaluated: StackInstance[] = [];

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

  idOf(stack: StackInstance, resource: string): string {
    return derivedUuid(`${this.stack.stack.name}/${stack.path}/${resource}`);
  }

  physicalName(stack: StackInstance, resource: string): string {
    return `${this.stack.stack.name}${stack.path ? `-${stack.path.replace(/[^A-Za-z0-9]+/g, "-").replace(/-+$/, "")}` : ""}-${resource}`;
  }

  run(): void {
    this.evaluate({
      path: "",
      template: "main",
      parsed: this.stack.mainTemplate,
      text: this.stack.mainTemplateText,
      given: { ...this.stack.stack.parameters },
      validationOnly: false,
      index: 0,
      depth: 0,
    });
    this.checkLocalityHints();
  }

  private parameterValue(stack: StackInstance, name: string): unknown {
    if (name === "OS::stack_name") return this.physicalName(stack, "stack");
    if (name === "OS::stack_id") return derivedUuid(`${this.stack.stack.name}/${stack.path}/stack`);
    if (name === "OS::project_id") return "bootproof";
    if (name in stack.given) return stack.given[name];
    const declared = parametersOf(stack.parsed)[name];
    return isObject(declared) && "default" in declared ? declared.default : undefined;
  }

  resolve(value: unknown, ctx: Context, path: Array<string | number>): unknown {
    if (Array.isArray(value)) return value.map((v, i) => this.resolve(v, ctx, [...path, i]));
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && HOT_FUNCTIONS.has(keys[0]!)) return this.call(keys[0]!, value[keys[0]!], ctx, path);
    return Object.fromEntries(keys.map((k) => [k, this.resolve(value[k], ctx, [...path, k])]));
  }

  private call(fn: string, rawArgs: unknown, ctx: Context, path: Array<string | number>): unknown {
    const args = this.resolve(rawArgs, ctx, [...path, fn]);
    switch (fn) {
      case "get_param": {
        const [name, ...keys] = Array.isArray(args) ? args : [args];
        if (typeof name !== "string") return new Unresolved("get_param with a computed name");
        if (!PSEUDO_PARAMETERS.has(name) && !(name in parametersOf(ctx.stack.parsed))) {
          // hot/functions.py GetParam.result: KeyError → exception.UserParameterMissing.
          this.find("parameter", ctx.stack, ctx.resource, path, `The Parameter (${name}) was not provided.`);
          return new Unresolved(`undeclared parameter ${name}`);
        }
        let current = this.parameterValue(ctx.stack, name);
        if (current === undefined) return new Unresolved(`parameter ${name} without a value`);
        for (const key of keys)
          current = isObject(current) || Array.isArray(current) ? (current as Json)[String(key)] : undefined;
        return current ?? "";
      }
      case "get_resource": {
        const target = this.reference(ctx, path, args);
        return target === null ? new Unresolved(`unknown resource ${String(args)}`) : this.idOf(ctx.stack, target);
      }
      case "get_attr": {
        const [name, attribute] = Array.isArray(args) ? args : [args];
        const target = this.reference(ctx, path, name);
        return new Unresolved(target === null ? `unknown resource ${String(name)}` : `${target}.${String(attribute)}`);
      }
      case "list_join": {
        if (!Array.isArray(args) || hasUnresolved(args)) return new Unresolved("list_join");
        const [separator, ...lists] = args;
        return lists
          .flatMap((l) => (Array.isArray(l) ? l : []))
          .map((item) => (typeof item === "string" ? item : JSON.stringify(item)))
          .join(String(separator));
      }
      case "str_replace": {
        if (!isObject(args) || hasUnresolved(args)) return new Unresolved("str_replace");
        let text = String(args.template ?? "");
        for (const [from, to] of Object.entries(isObject(args.params) ? args.params : {}))
          text = text.split(from).join(typeof to === "string" ? to : JSON.stringify(to));
        return text;
      }
      default:
        return new Unresolved(fn);
    }
  }

  /**
   * A resource a function names: a dependency when it is in the template, else Heat's
   * InvalidTemplateReference (hot/functions.py GetResource / GetAtt validate).
   */
  private reference(ctx: Context, path: Array<string | number>, name: unknown): string | null {
    if (typeof name === "string" && name in resourcesOf(ctx.stack.parsed)) {
      ctx.deps.add(name);
      return name;
    }
    this.find(
      "reference",
      ctx.stack,
      ctx.resource,
      path,
      `The specified reference "${String(name)}" (in ${ctx.resource}.${formatPath(path)}) is incorrect.`,
    );
    return null;
  }

  private evaluate(stack: StackInstance): void {
    this.evaluated.push(stack);
    const definitions = resourcesOf(stack.parsed);
    const here: EvaluatedResource[] = [];
    for (const [name, definition] of Object.entries(definitions)) {
      if (!isObject(definition)) continue;
      const ctx: Context = { stack, resource: name, deps: new Set() };
      const properties = this.resolve(isObject(definition.properties) ? definition.properties : {}, ctx, ["properties"]) as Json;
      const dependsOn = definition.depends_on === undefined ? [] : [definition.depends_on].flat();
      for (const [i, target] of dependsOn.entries()) {
        if (typeof target === "string" && target in definitions) ctx.deps.add(target);
        else
          this.find(
            "reference",
            stack,
            name,
            Array.isArray(definition.depends_on) ? ["depends_on", i] : ["depends_on"],
            `The specified reference "${String(target)}" (in ${name}) is incorrect.`,
          );
      }
      here.push({
        stack,
        name,
        type: String(definition.type),
        properties,
        id: this.idOf(stack, name),
        dependsOn: ctx.deps,
      });
    }
    for (const [name, output] of Object.entries(isObject(stack.parsed.outputs) ? stack.parsed.outputs : {}))
      this.resolve(isObject(output) ? output.value : output, { stack, resource: `outputs.${name}`, deps: new Set() }, ["value"]);
    this.checkCycles(stack, here);
    for (const resource of here) this.checkProperties(resource);
    this.evaluatedResources.push(...here);
    for (const resource of here) if (resource.type === "OS::Heat::ResourceGroup") this.expandGroup(resource);
  }

  /** Heat's dependency graph of one stack may have no cycle (CircularDependencyException). */
  private checkCycles(stack: StackInstance, resources: EvaluatedResource[]): void {
    const byName = new Map(resources.map((r) => [r.name, r]));
    const state = new Map<string, "visiting" | "done">();
    const trail: string[] = [];
    const visit = (name: string): string[] | null => {
      if (state.get(name) === "done") return null;
      if (state.get(name) === "visiting") return [...trail.slice(trail.indexOf(name)), name];
      state.set(name, "visiting");
      trail.push(name);
      for (const dep of byName.get(name)?.dependsOn ?? []) {
        const cycle = visit(dep);
        if (cycle) return cycle;
      }
      trail.pop();
      state.set(name, "done");
      return null;
    };
    for (const resource of resources) {
      const cycle = visit(resource.name);
      if (cycle) {
        this.find("reference", stack, cycle[0]!, [], `Circular Dependency Found: ${cycle.join(" -> ")}`);
        return;
      }
    }
  }

  private propertyError(resource: EvaluatedResource, path: Array<string | number>, message: string): void {
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

  private checkProperties(resource: EvaluatedResource): void {
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

  /** ResourceGroup members: the definition with its index_var replaced, each a nested stack. */
  private expandGroup(group: EvaluatedResource): void {
    const def = group.properties.resource_def;
    if (!isObject(def) || typeof def.type !== "string") return;
    const count = Math.max(0, heatInteger(group.properties.count ?? 1) ?? 0);
    const indexVar = typeof group.properties.index_var === "string" ? group.properties.index_var : "%index%";
    const type = def.type;
    const file = this.stack.files[type];
    if (!file) {
      if (type.startsWith("file://") || type.endsWith(".yaml"))
        this.find(
          "reference",
          group.stack,
          group.name,
          ["properties", "resource_def", "type"],
          `Could not fetch remote template "${type}": it is not in the stack's files`,
        );
      return;
    }
    if (group.stack.depth + 1 > MAX_NESTED_DEPTH) {
      this.propertyError(group, ["properties"], `Recursion depth exceeds ${MAX_NESTED_DEPTH}.`);
      return;
    }
    // ResourceGroup.validate checks a one-member definition even when count is 0.
    const members = Math.max(count, 1);
    for (let index = 0; index < members; index++) {
      const given = replaceIndex(isObject(def.properties) ? def.properties : {}, indexVar, String(index)) as Json;
      const member: StackInstance = {
        path: `${group.stack.path ? `${group.stack.path}.` : ""}resources.${group.name}.resources[${index}]`,
        template: type,
        parsed: file.parsed,
        text: file.text,
        given,
        validationOnly: group.stack.validationOnly || index >= count,
        index,
        depth: group.stack.depth + 1,
      };
      this.checkNestedParameters(group, member);
      this.evaluate(member);
    }
  }

  /** TemplateResource: the properties a nested template gets are exactly its parameters. */
  private checkNestedParameters(group: EvaluatedResource, member: StackInstance): void {
    const declared = parametersOf(member.parsed);
    for (const name of Object.keys(member.given))
      if (!(name in declared))
        this.find(
          "parameter",
          group.stack,
          group.name,
          ["properties", "resource_def", "properties", name],
          `Property error: ${member.path}.properties: Unknown Property ${name}`,
        );
    for (const [name, schema] of Object.entries(declared))
      if (!(name in member.given) && !(isObject(schema) && "default" in schema))
        this.find(
          "parameter",
          group.stack,
          group.name,
          ["properties", "resource_def", "properties"],
          `The Parameter (${name}) was not provided.`,
          `'${member.template}' declares '${name}' without a default and '${group.name}' does not pass it`,
        );
  }

  /**
   * A locality hint (scheduler_hints local_to_instance) on a volume that a server of the same
   * template boots from can name no instance Heat could have created first: whatever the
   * parameter was meant to hold, the volume would wait for the server that waits for it.
   * (Sahara's boot_volume_local_to_instance.) Said beside Heat's own finding.
   */
  private checkLocalityHints(): void {
    for (const finding of this.findings.values()) {
      if (finding.check !== "parameter" || finding.note || !finding.path.includes("local_to_instance")) continue;
      const stack = this.evaluated.find((s) => s.template === finding.template);
      if (!stack) continue;
      const inStack = this.allResourcesOf(stack);
      const waitsFor = (from: string, to: string, seen = new Set<string>()): boolean => {
        if (from === to) return true;
        if (seen.has(from)) return false;
        seen.add(from);
        return [...(inStack.get(from)?.dependsOn ?? [])].some((d) => waitsFor(d, to, seen));
      };
      const server = [...inStack.values()].find(
        (r) => r.type === "OS::Nova::Server" && r.name !== finding.resource && waitsFor(r.name, finding.resource),
      );
      if (!server) continue;
      finding.note =
        `${finding.resource} asks Cinder to place it local to an instance, and the instance of '${finding.template}', ${server.name}, ` +
        `boots from ${finding.resource}: no server exists before its boot volume, so even declared the hint would make ` +
        `${finding.resource} wait for ${server.name}, which waits for ${finding.resource} (a circular dependency)`;
    }
  }

  private allResourcesOf(stack: StackInstance): Map<string, EvaluatedResource> {
    return new Map(this.evaluatedResources.filter((r) => r.stack === stack).map((r) => [r.name, r]));
  }
  /** The resources Heat creates: validation-only members left out. */
  get resources(): EvaluatedResource[] {
    return this.evaluatedResources.filter((r) => !r.stack.validationOnly);
  }
}

/** Heat's ResourceGroup._handle_repl_val: the index variable replaced in every string value. */
function replaceIndex(value: unknown, indexVar: string, index: string): unknown {
  if (typeof value === "string") return value.split(indexVar).join(index);
  if (Array.isArray(value)) return value.map((v) => replaceIndex(v, indexVar, index));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceIndex(v, indexVar, index)]));
  return value;
}

const text = (value: unknown): string | null => (typeof value === "string" ? value : null);

/**
 * Server._build_block_device_mapping ({device_name: "<id>:<type>:<size>:<delete>"}) then
 * novaclient's _parse_block_device_mapping: the legacy list Nova's API receives.
 */
export function novaclientLegacyBdm(mappings: unknown[]): NovaLegacyBdm[] {
  const byDevice = new Map<string, string>();
  for (const mapping of mappings) {
    if (!isObject(mapping)) continue;
    const parts: string[] = [];
    if (mapping.snapshot_id) parts.push(String(mapping.snapshot_id), "snap");
    else parts.push(String(mapping.volume_id ?? "None"), "");
    parts.push(mapping.volume_size ? String(mapping.volume_size) : "");
    if (heatBoolean(mapping.delete_on_termination ?? false)) parts.push("True");
    byDevice.set(String(mapping.device_name), parts.join(":"));
  }
  return [...byDevice].map(([device_name, mapping]) => {
    const parts = mapping.split(":");
    const bdm: NovaLegacyBdm = { device_name };
    if (parts.length === 1 || !parts[1]!.startsWith("snap")) bdm.volume_id = parts[0]!;
    else bdm.snapshot_id = parts[0]!;
    if (parts.length > 2 && parts[2]) bdm.volume_size = String(Number.parseInt(parts[2], 10));
    if (parts.length > 3) bdm.delete_on_termination = parts[3]!;
    return bdm;
  });
}

/** Cinder's create arguments for an OS::Cinder::Volume (CinderVolume._create_arguments). */
function volumeCreate(evaluation: HeatEvaluation, resource: EvaluatedResource): CinderVolumeCreate {
  const p = resource.properties;
  const hints = isObject(p.scheduler_hints) ? p.scheduler_hints : null;
  const label = `${resource.stack.path ? `${resource.stack.path}.` : ""}resources.${resource.name}`;
  return {
    resource: label,
    id: resource.id,
    size: heatInteger(p.size),
    imageRef: text(p.image) ?? text(p.imageRef),
    volumeType: text(p.volume_type),
    availabilityZone: text(p.availability_zone) || null,
    name: text(p.name) ?? evaluation.physicalName(resource.stack, resource.name),
    schedulerHints: hints,
  };
}

/** Everything Heat would do with Sahara's stack: its findings, then its calls. Pure. */
export function heatPlan(stack: SaharaStackTemplate, cloud: HeatCloud): HeatPlan {
  const evaluation = new HeatEvaluation(stack, cloud);
  evaluation.run();
  const volumes: Record<string, CinderVolumeCreate> = {};
  const ports: HeatPlan["ports"] = {};
  for (const resource of evaluation.resources) {
    if (resource.type === "OS::Cinder::Volume") volumes[resource.id] = volumeCreate(evaluation, resource);
    if (resource.type === "OS::Neutron::Port")
      ports[resource.id] = {
        resource: `${resource.stack.path ? `${resource.stack.path}.` : ""}resources.${resource.name}`,
        mac: neutronMac(resource.id),
      };
  }
  const attachments = evaluation.resources
    .filter((r) => r.type === "OS::Cinder::VolumeAttachment")
    .map((r) => ({
      instance: text(r.properties.instance_uuid),
      attachment: {
        resource: `${r.stack.path ? `${r.stack.path}.` : ""}resources.${r.name}`,
        volumeId: text(r.properties.volume_id) ?? "",
        mountpoint: text(r.properties.mountpoint),
      },
    }));
  const servers = evaluation.resources
    .filter((r) => r.type === "OS::Nova::Server")
    .map((server): HeatServerPlan => {
      const p = server.properties;
      const bdm = Array.isArray(p.block_device_mapping) ? novaclientLegacyBdm(p.block_device_mapping) : [];
      const networks = (Array.isArray(p.networks) ? p.networks : [])
        .map((n) => (isObject(n) ? text(n.port) : null))
        .filter((port): port is string => port !== null)
        .map((port) => ({ port }));
      return {
        resource: `${server.stack.path ? `${server.stack.path}.` : ""}resources.${server.name}`,
        id: server.id,
        index: server.stack.index,
        volumesBefore: bdm.map((b) => b.volume_id).filter((id): id is string => id !== undefined && id in volumes),
        create: {
          name: text(p.name) ?? evaluation.physicalName(server.stack, server.name),
          imageRef: text(p.image) ?? "",
          flavorRef: text(p.flavor) ?? String(p.flavor ?? ""),
          availability_zone: text(p.availability_zone),
          ...(bdm.length > 0 ? { block_device_mapping: bdm } : {}),
          networks,
        },
        attachments: attachments.filter((a) => a.instance === server.id).map((a) => a.attachment),
      };
    });
  return { findings: [...evaluation.findings.values()], servers, volumes, ports };
}

/**
 * A finding as a report line: Heat's words, where, what bootproof adds, and Sahara's text.
 * Names that vary with the node group (templates, resources) are quoted, so that one defect
 * is one kind of failure whatever the node group is called (failureKindKey folds quotes).
 */
export function describeFinding(finding: HeatFinding): string {
  const nested = finding.stacks.filter((s) => s !== "").length;
  const where = nested === 0 ? "the main stack" : `nested stacks: ${nested}`;
  const snippet = finding.snippet
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
  return `Heat refuses the stack: ${finding.heat} [in '${finding.template}', ${where}]${finding.note ? `\n  ${finding.note}` : ""}\n  Sahara wrote ('${finding.template}'):\n${snippet}`;
}
