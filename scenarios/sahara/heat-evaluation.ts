// The evaluation half of bootproof's Heat: a stack and its nested stacks read as Heat reads them
// (HOT functions resolved, ResourceGroups expanded, references and cycles checked), on top of
// HeatValidation's findings and property checks.
import { Unresolved } from "./heat-types.js";
import { type EvaluatedResource, HeatValidation, type StackInstance } from "./heat-validation.js";
import {
  derivedUuid,
  formatPath,
  hasUnresolved,
  heatInteger,
  isObject,
  type Json,
  parametersOf,
  resourcesOf,
} from "./heat-values.js";

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

interface Context {
  stack: StackInstance;
  resource: string;
  deps: Set<string>;
}

export class HeatEvaluation extends HeatValidation {
  /** Every resource of every stack Heat evaluates (validation-only members included). */
  readonly evaluatedResources: EvaluatedResource[] = [];
  private readonly evaluated: StackInstance[] = [];

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
