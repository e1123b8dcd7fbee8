package sdk

import (
	"fmt"
	"strings"
)

// tsImports writes the imports of every contract version's type, key and
// validator from the contract modules.
func tsImports(b *strings.Builder, m *Model, versions []*Version) {
	want := map[*Version]bool{}
	for _, v := range versions {
		want[v] = true
	}
	for _, c := range m.Contracts {
		var names, types []string
		for _, v := range c.Versions {
			if want[v] {
				names = append(names, "schema"+v.TypeName, "validate"+v.TypeName)
				types = append(types, v.TypeName)
			}
		}
		if len(names) == 0 {
			continue
		}
		fmt.Fprintf(b, "import { %s } from \"./%s.js\";\n", strings.Join(names, ", "), c.File)
		fmt.Fprintf(b, "import type { %s } from \"./%s.js\";\n", strings.Join(types, ", "), c.File)
	}
}

// snowplowContexts writes the Context type (any contract version, typed
// by its key) and the check of a list of them.
func snowplowContexts(b *strings.Builder, m *Model) {
	b.WriteString("\n")
	jsdoc(b, "", "A context (an entity attached to an event): any contract version, its data typed by its schema.")
	b.WriteString("export type Context =\n")
	vs := m.Versions()
	for i, v := range vs {
		end := ""
		if i == len(vs)-1 {
			end = ";"
		}
		fmt.Fprintf(b, "  | { schema: %s; data: %s }%s\n", jsString(v.URI), v.TypeName, end)
	}
	if len(vs) == 0 {
		b.WriteString("  never;\n")
	}
	b.WriteString("\nconst contextChecks: Record<string, (data: unknown, prefix: string) => Message[]> = {\n")
	for _, v := range vs {
		fmt.Fprintf(b, "  %s: validate%s,\n", jsString(v.URI), v.TypeName)
	}
	b.WriteString("};\n\n")
	b.WriteString(`function check(msgs: Message[], context: Context[] | undefined): void {
  (context ?? []).forEach((c, i) => {
    const prefix = ` + "`/contexts/${i}/data`" + `;
    const validate = Object.prototype.hasOwnProperty.call(contextChecks, c.schema) ? contextChecks[c.schema] : undefined;
    if (validate === undefined) {
      msgs.push({ instance_path: ` + "`/contexts/${i}/schema`" + `, schema_path: "", message: ` + "`no contract ${JSON.stringify(c.schema)} is in this library`" + ` });
    } else {
      msgs.push(...validate(c.data, prefix));
    }
  });
  if (msgs.length > 0) throw new ValidationError(msgs);
}
`)
}

// SnowplowNode and SnowplowBrowser are the wrapper files' names.
const (
	SnowplowNode    = "snowplow-node.ts"
	SnowplowBrowser = "snowplow-browser.ts"
	SegmentFile     = "segment.ts"
)

// Snowplow generates typed functions over the Snowplow trackers'
// self-describing event: snowplow-node.ts over @snowplow/node-tracker's
// tracker.track(buildSelfDescribingEvent(...)), snowplow-browser.ts over
// @snowplow/browser-tracker's trackSelfDescribingEvent, one function per
// contract version, each checking the data and the contexts first; with
// the TypeScript library's accord.ts and contract modules they import.
func Snowplow(m *Model) Files {
	files := Files{{Path: "accord.ts", Data: []byte(tsRuntime)}}
	files = append(files, tsContracts(m)...)
	vs := m.Versions()

	var n strings.Builder
	n.WriteString("// " + header + "\n\n")
	n.WriteString("// Typed functions over @snowplow/node-tracker: each checks the event's data\n// and its contexts against their contracts, throws a ValidationError (and\n// sends nothing) when they break them, and tracks a self-describing event.\n\n")
	n.WriteString("import { buildSelfDescribingEvent } from \"@snowplow/node-tracker\";\nimport type { Payload, SelfDescribingJson, Timestamp, TrackerCore } from \"@snowplow/node-tracker\";\n")
	n.WriteString("import { ValidationError } from \"./accord.js\";\nimport type { Message } from \"./accord.js\";\n")
	tsImports(&n, m, vs)
	snowplowContexts(&n, m)
	for _, v := range vs {
		n.WriteString("\n")
		jsdoc(&n, "", snowplowDoc(v, "Tracks")...)
		fmt.Fprintf(&n, `export function track%s(
  tracker: Pick<TrackerCore, "track">,
  data: %s,
  context?: Context[],
  timestamp?: Timestamp,
): Payload | undefined {
  const msgs = validate%s(data, "/data");
  check(msgs, context);
  const event = buildSelfDescribingEvent({ event: { schema: schema%s, data: data as unknown as Record<string, unknown> } });
  return tracker.track(event, context as unknown as SelfDescribingJson[] | undefined, timestamp);
}
`, v.TypeName, v.TypeName, v.TypeName, v.TypeName)
	}
	files = append(files, File{Path: SnowplowNode, Data: []byte(n.String())})

	var br strings.Builder
	br.WriteString("// " + header + "\n\n")
	br.WriteString("// Typed functions over @snowplow/browser-tracker: each checks the event's\n// data and its contexts against their contracts, throws a ValidationError\n// (and sends nothing) when they break them, and calls\n// trackSelfDescribingEvent.\n\n")
	br.WriteString("import { trackSelfDescribingEvent } from \"@snowplow/browser-tracker\";\nimport type { CommonEventProperties, SelfDescribingJson } from \"@snowplow/browser-tracker\";\n")
	br.WriteString("import { ValidationError } from \"./accord.js\";\nimport type { Message } from \"./accord.js\";\n")
	tsImports(&br, m, vs)
	snowplowContexts(&br, m)
	for _, v := range vs {
		br.WriteString("\n")
		jsdoc(&br, "", snowplowDoc(v, "Tracks")...)
		fmt.Fprintf(&br, `export function track%s(
  data: %s,
  context?: Context[],
  options?: Omit<CommonEventProperties, "context">,
  trackers?: string[],
): void {
  const msgs = validate%s(data, "/data");
  check(msgs, context);
  trackSelfDescribingEvent(
    { ...options, event: { schema: schema%s, data: data as unknown as Record<string, unknown> }, context: context as unknown as SelfDescribingJson[] | undefined },
    trackers,
  );
}
`, v.TypeName, v.TypeName, v.TypeName, v.TypeName)
	}
	files = append(files, File{Path: SnowplowBrowser, Data: []byte(br.String())})
	return files.sorted()
}

func snowplowDoc(v *Version, verb string) []string {
	lines := []string{fmt.Sprintf("%s a self-describing event of %s, after checking its data and contexts.", verb, v.URI)}
	if v.Description != "" {
		lines = append(lines, "", v.Description)
	}
	if v.SupersededBy != "" {
		lines = append(lines, "", "@deprecated Superseded by "+v.SupersededBy+", a new MODEL of the contract.")
	}
	return lines
}

// Segment generates typed functions over @segment/analytics-node's track,
// one per event name in the contracts' tracking plans (x-accord
// segment_events), as Segment's Typewriter did: each checks the properties
// against the contract version the collector validates that name with.
func Segment(m *Model) Files {
	files := Files{{Path: "accord.ts", Data: []byte(tsRuntime)}}
	files = append(files, tsContracts(m)...)
	var vs []*Version
	seen := map[*Version]bool{}
	for _, te := range m.Tracking {
		if !seen[te.Version] {
			seen[te.Version] = true
			vs = append(vs, te.Version)
		}
	}
	var b strings.Builder
	b.WriteString("// " + header + "\n\n")
	b.WriteString("// Typed functions over @segment/analytics-node's track, one per event name\n// of the contracts' tracking plans: each checks the properties against the\n// contract the collector validates the event with, throws a ValidationError\n// (and sends nothing) when they break it, and calls analytics.track.\n\n")
	b.WriteString("import type { Analytics, TrackParams } from \"@segment/analytics-node\";\nimport { refuse } from \"./accord.js\";\n")
	tsImports(&b, m, vs)
	b.WriteString("\n/** A track's parameters without its event name and properties, which each function sets. */\nexport type TrackOptions = TrackParams extends infer T ? (T extends unknown ? Omit<T, \"event\" | \"properties\"> : never) : never;\n")
	b.WriteString("\n/** The callback analytics.track takes. */\nexport type Callback = Parameters<Analytics[\"track\"]>[1];\n")
	for _, te := range m.Tracking {
		v := te.Version
		b.WriteString("\n")
		lines := []string{fmt.Sprintf("Sends the Segment track %s, its properties checked against %s.", jsString(te.Event), v.URI)}
		if v.Description != "" {
			lines = append(lines, "", v.Description)
		}
		jsdoc(&b, "", lines...)
		fmt.Fprintf(&b, `export function track%s(analytics: Pick<Analytics, "track">, message: TrackOptions & { properties: %s }, callback?: Callback): void {
  refuse(validate%s(message.properties, "/data"));
  analytics.track({ ...message, event: %s, properties: message.properties as unknown as Record<string, unknown> } as TrackParams, callback);
}
`, te.FuncName, v.TypeName, v.TypeName, jsString(te.Event))
	}
	files = append(files, File{Path: SegmentFile, Data: []byte(b.String())})
	return files.sorted()
}
