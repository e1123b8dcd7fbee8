package privacy

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"unsafe"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol/snowplow/tp2raw"
	"github.com/cespare/xxhash/v2"
)

// ErrNoSecret is wrapped by the error for a contract whose rules need a
// salt or key that is not configured.
var ErrNoSecret = errors.New("privacy secret not configured")

// Stage is the pipeline stage applying contracts' privacy rules. It runs
// after validation, so validation sees the values as sent, and before the
// records are spooled, so the spool and every sink hold the transformed
// record. It is safe for concurrent use.
type Stage struct {
	// hint tells how to configure a missing salt or key.
	hint     Options
	resolver pipeline.Resolver
	logger   *slog.Logger
	secrets  Secrets
	// compiled caches each contract's rules by pointer: a contract is
	// compiled once, and a reloaded one is a new pointer.
	compiled sync.Map // *contract.Contract -> compiled
	// appliers keeps appliers with their hashes: an HMAC's state costs
	// allocations to build for every event.
	appliers sync.Pool
}

type compiled struct {
	rules *Rules
	err   error
}

var _ pipeline.Stage = (*Stage)(nil)

// NewStage returns the stage; resolver finds the contracts of events'
// contexts (the one validation used), secrets may be nil when none is
// configured. logger hears, once per contract, of rules that cannot be
// applied.
func NewStage(resolver pipeline.Resolver, secrets *Secrets, opts Options, logger *slog.Logger) *Stage {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Stage{resolver: resolver, logger: logger, hint: opts}
	if secrets != nil {
		s.secrets = *secrets
	}
	return s
}

// Rules returns c's compiled rules (nil when it has none), or an error when
// they cannot be read or need a salt or key that is not configured.
func (s *Stage) Rules(c *contract.Contract) (*Rules, error) {
	if v, ok := s.compiled.Load(c); ok {
		got := v.(compiled)
		return got.rules, got.err
	}
	r, err := Compile(c.Document)
	if err == nil {
		err = s.usable(r)
	}
	if err != nil {
		err = fmt.Errorf("contract %s: %w", c.URI, err)
	}
	if _, loaded := s.compiled.LoadOrStore(c, compiled{r, err}); !loaded && err != nil {
		// A contract loaded after start (a reload, a backend): its events
		// fail and keep none of its data until it is fixed.
		s.logger.Error("privacy rules cannot be applied; events of the contract fail and their data is not kept", "schema", c.URI, "error", err)
	}
	return r, err
}

func (s *Stage) usable(r *Rules) error {
	for _, p := range r.Paths() {
		if p.Rule.Action == HMAC && len(s.secrets.Key) == 0 {
			return fmt.Errorf("%w: it marks %s hmac but no key is configured; %s", ErrNoSecret, p.Pointer, fix("privacy.hmac.key", s.hint.HMAC.KeyFile))
		}
		if p.Rule.Action == Hash && len(s.secrets.Salt) == 0 {
			return fmt.Errorf("%w: it marks %s hash but no salt is configured; %s", ErrNoSecret, p.Pointer, fix("privacy.salt", s.hint.SaltFile))
		}
	}
	return nil
}

func fix(key, file string) string {
	if file != "" {
		return fmt.Sprintf("create %s (openssl rand -hex 32 > %s; accord init writes one) or set %s_env", file, file, key)
	}
	return fmt.Sprintf("set %s_env or %s_file", key, key)
}

// Check returns the errors of every contract whose rules cannot be
// applied, so that start (and a reload) refuses them instead of storing
// their values in clear.
func (s *Stage) Check(contracts []*contract.Contract) error {
	var errs []error
	for _, c := range contracts {
		if _, err := s.Rules(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Process implements pipeline.Stage.
func (s *Stage) Process(req pipeline.Request, events []pipeline.Event) {
	resolver := s.resolver
	if rr, ok := resolver.(pipeline.RequestResolvers); ok {
		ctx := req.Context
		if ctx == nil {
			ctx = context.Background()
		}
		resolver = rr.ForRequest(ctx, req.LookupDeadline)
	}
	var mem requestMemory
	for i := range events {
		s.event(resolver, &events[i], req.Replay, &mem, len(events)-i)
	}
	if mem.applier != nil {
		s.appliers.Put(mem.applier)
	}
}

// requestMemory is where the stage puts what it makes for one request's
// events: their transformed values and marked attributes in one buffer,
// their records' own contexts in one slice, with one applier. Memory of
// its own for each value was 8 allocations a Snowplow event.
type requestMemory struct {
	bytes    []byte
	contexts []event.Context
	applier  *applier
}

// room makes sure the buffer has room for n bytes more. When it has not,
// the new one has room for what env may still need (its data and
// attributes grown by valueRoom, each context by as much) and for the
// request's later events (remaining, this one included), each taken to
// need as much, so that a request's values take one allocation; but never
// more than sharedRoom for the later events: one large event before many
// small ones would otherwise ask for the large one's size that many times
// over (TestStageRequestMemoryIsBounded).
func (m *requestMemory) room(n int, env *event.Envelope, remaining int) {
	if cap(m.bytes)-len(m.bytes) >= n {
		return
	}
	each := len(env.Payload) + len(env.Attributes) + valueRoom
	for _, c := range env.Contexts {
		each += len(c.Data) + valueRoom
	}
	m.bytes = make([]byte, 0, max(n, each)+min(each*(remaining-1), sharedRoom))
}

// sharedRoom bounds the room set aside for a request's later events, in
// bytes of values and in contexts: 64 KiB holds 100 tracker events'
// attributes and values, or more.
const sharedRoom = 64 << 10

// kept returns what the buffer holds from start, and no room after it:
// appending to a record's value never writes over the next one's.
func (m *requestMemory) kept(start int) []byte {
	return m.bytes[start:len(m.bytes):len(m.bytes)]
}

// ownContexts returns a copy of contexts in the request's slice of them.
func (m *requestMemory) ownContexts(contexts []event.Context, remaining int) []event.Context {
	if cap(m.contexts)-len(m.contexts) < len(contexts) {
		m.contexts = make([]event.Context, 0, len(contexts)+min(len(contexts)*(remaining-1), sharedRoom/int(unsafe.Sizeof(event.Context{}))))
	}
	start := len(m.contexts)
	m.contexts = append(m.contexts, contexts...)
	return m.contexts[start:len(m.contexts):len(m.contexts)]
}

// valueRoom is what a value may grow by under rules: an HMAC is
// "hmac-sha256:", the key id, a colon and 64 hex digits in place of the
// value, a marker about 60 bytes.
const valueRoom = 128

func (s *Stage) event(resolver pipeline.Resolver, ev *pipeline.Event, replay bool, mem *requestMemory, remaining int) {
	if ev.Input.Arbitrary {
		return
	}
	env := &ev.Envelope
	// Only a replayed record's marker is Accord's own: a client's is
	// removed below or replaced by the real one.
	claimed := holdsMarkerName(ev.Input.Attributes)
	if claimed && replay && s.carries(resolver, ev) {
		// A replayed record that already carries today's rules: its data
		// is what they made, and is not transformed again.
		return
	}
	// mark accumulates which rules governed the event, for its marker.
	var mark xxhash.Digest
	mark.Reset()
	usesHMAC := false
	// An applier is taken only for a request some rule governs: events of
	// contracts without rules cost a cache lookup per contract, no more.
	governed := false
	var problem error
	// apply returns data with c's rules applied. A contract whose rules
	// cannot be applied keeps nothing of the data: null.
	apply := func(c *contract.Contract, data []byte) []byte {
		if c == nil || len(data) == 0 {
			return data
		}
		r, err := s.Rules(c)
		if err != nil {
			governed, problem = true, err
			return []byte("null")
		}
		if r == nil {
			return data
		}
		governed = true
		_, _ = mark.WriteString(c.URI)
		var fp [8]byte
		binary.LittleEndian.PutUint64(fp[:], r.Fingerprint())
		_, _ = mark.Write(fp[:])
		usesHMAC = usesHMAC || r.UsesHMAC()
		if mem.applier == nil {
			if mem.applier, _ = s.appliers.Get().(*applier); mem.applier == nil {
				mem.applier = &applier{s: &s.secrets}
			}
		}
		mem.room(len(data)+valueRoom, env, remaining)
		start := len(mem.bytes)
		out, err := r.applyWith(mem.applier, mem.bytes, data)
		if err != nil {
			problem = fmt.Errorf("contract %s: %w", c.URI, err)
			return []byte("null")
		}
		mem.bytes = out
		return mem.kept(start)
	}
	env.Payload = apply(ev.Contract, env.Payload)
	copied := false
	for i, c := range env.Contexts {
		cc, err := resolver.Resolve(c.Schema)
		if err != nil || len(c.Data) == 0 {
			continue // validation failed the event for it
		}
		data := apply(cc, c.Data)
		if len(data) == len(c.Data) && &data[0] == &c.Data[0] {
			continue // no rule: the data as it is
		}
		if !copied {
			// The contexts belong to the input; the record gets its own.
			env.Contexts = mem.ownContexts(env.Contexts, remaining)
			copied = true
		}
		env.Contexts[i].Data = data
	}
	if problem != nil && !ev.Failed() {
		ev.Fail(event.NewFailure(event.SchemaViolation, "the contract's privacy rules could not be applied, so its data was not kept: "+problem.Error()))
	}
	switch {
	case governed && problem == nil:
		keyID := ""
		if usesHMAC {
			keyID = s.secrets.KeyID
		}
		// The input's attributes were looked through for a marker above;
		// the envelope's are the same bytes unless the pipeline added to
		// them (unknown contexts).
		unmarked := !claimed && len(env.Attributes) == len(ev.Input.Attributes) && unsafe.SliceData(env.Attributes) == unsafe.SliceData(ev.Input.Attributes)
		mem.room(len(env.Attributes)+valueRoom, env, remaining)
		start := len(mem.bytes)
		mem.bytes = appendWithMarker(mem.bytes, env.Attributes, unmarked, mark.Sum64(), keyID, true)
		env.Attributes = mem.kept(start)
	case claimed:
		// No rule governs the event: it carries no marker, whatever the
		// input claimed.
		env.Attributes = appendWithMarker(nil, env.Attributes, false, 0, "", false)
	}
	if governed && ev.Failed() {
		if mem.applier == nil {
			mem.applier = &applier{s: &s.secrets}
		}
		s.failedMessages(ev, resolver)
		if env.Raw != "" {
			s.failedRaw(mem.applier, ev, resolver, copied)
		}
	}
}

// failedMessages withholds the words of each failure message about a
// governed value (or one holding it): validation quotes the value as sent
// ("must be a valid email, but is ..."), and the failure is stored with the
// record.
func (s *Stage) failedMessages(ev *pipeline.Event, resolver pipeline.Resolver) {
	f := ev.Envelope.Failure
	var out []event.Message
	for i, m := range f.Messages {
		c := ev.Contract
		rest, ok := strings.CutPrefix(m.InstancePath, "/data")
		if !ok {
			var idx int
			var tail string
			if n, _ := fmt.Sscanf(m.InstancePath, "/contexts/%d/data%s", &idx, &tail); n >= 1 && idx < len(ev.Input.Contexts) {
				rest, _ = strings.CutPrefix(m.InstancePath, fmt.Sprintf("/contexts/%d/data", idx))
				c, _ = resolver.Resolve(ev.Input.Contexts[idx].Schema)
			} else {
				continue
			}
		}
		if rest != "" && rest[0] != '/' || c == nil {
			continue
		}
		r, err := s.Rules(c)
		if err == nil && !r.Governs(rest) {
			continue
		}
		if out == nil {
			// The failure may be shared with what the protocol read.
			out = append([]event.Message(nil), f.Messages...)
		}
		out[i].Message = fmt.Sprintf("%s breaks the contract's %q keyword (the value is withheld: x-accord-pii governs it)", m.InstancePath, m.Keyword)
	}
	if out != nil {
		copied := *f
		copied.Messages = out
		ev.Envelope.Failure = &copied
	}
}

// failedRaw makes a failed record's raw input keep no more than its data
// does: a self-describing event's data and contexts are transformed by the
// same rules; raw that is the data itself becomes the transformed data; a
// JSON object holding the data as one member (a CloudEvent's data, a
// Segment message's properties or traits), when no context's data was
// changed, gets the transformed data in that member; a Snowplow event gets
// the data in its ue_pr/ue_px and the contexts in its co/cx transformed;
// any other raw input is withheld (it could hold the governed values in a
// form the rules cannot find, such as the pixel's query string).
func (s *Stage) failedRaw(a *applier, ev *pipeline.Event, resolver pipeline.Resolver, contextsChanged bool) {
	env := &ev.Envelope
	raw := ev.Input.Raw
	switch {
	case bytes.Equal(raw, ev.Input.Data):
		env.SetRaw(env.Payload)
		return
	case env.Protocol == "selfdesc":
		ctxContracts := make([]*contract.Contract, len(ev.Input.Contexts))
		for i, c := range ev.Input.Contexts {
			ctxContracts[i], _ = resolver.Resolve(c.Schema)
		}
		if out, ok := s.selfdescRaw(a, ev, raw, ctxContracts); ok {
			env.SetRaw(out)
			return
		}
	case env.Protocol == "snowplow":
		if out, ok := s.snowplowRaw(a, ev, raw, resolver); ok {
			env.SetRaw(out)
			return
		}
	case !contextsChanged && len(ev.Input.Data) > 0:
		if out, ok := dataMemberRaw(raw, ev.Input.Data, env.Payload); ok && !repeats(out, ev.Input.Data, env.Payload) {
			env.SetRaw(out)
			return
		}
	}
	env.WithholdRaw()
}

// snowplowRaw rewrites a Snowplow event as sent (its tp2 object or query
// string): the inner data of the self-describing event in ue_pr or ue_px
// by the event's contract, each context in co or cx by its own schema's
// contract, each re-encoded as it came. It fails when a payload field
// cannot be read, or when another field repeats a value the rules took out
// (a uid holding the email the contract hashes).
func (s *Stage) snowplowRaw(a *applier, ev *pipeline.Event, raw []byte, resolver pipeline.Resolver) ([]byte, bool) {
	dataRules := s.rawRules(ev.Contract)
	out, plain, err := tp2raw.RewritePayloads(raw, func(field string, doc []byte) ([]byte, error) {
		if field == "ue_pr" || field == "ue_px" {
			// {"schema": unstruct_event, "data": {"schema": ..., "data": DATA}}
			return rewriteMember(nil, doc, "data", func(out, v []byte) ([]byte, error) {
				return rewriteMember(out, v, "data", func(out, v []byte) ([]byte, error) {
					return dataRules.applyWith(a, out, v)
				})
			})
		}
		// {"schema": contexts, "data": [{"schema": ..., "data": DATA}, ...]}
		return rewriteMember(nil, doc, "data", func(out, v []byte) ([]byte, error) {
			return s.contextsBySchemaRaw(a, out, v, resolver)
		})
	})
	if err != nil {
		return nil, false
	}
	// One budget for the event: a body of many small contexts would
	// otherwise read plain through once per context.
	budget := repeatsScanBudget
	if len(ev.Input.Data) > 0 && repeatsWithin(plain, ev.Input.Data, ev.Envelope.Payload, &budget) {
		return nil, false
	}
	for i, c := range ev.Input.Contexts {
		if i >= len(ev.Envelope.Contexts) || repeatsWithin(plain, c.Data, ev.Envelope.Contexts[i].Data, &budget) {
			return nil, false
		}
	}
	return out, true
}

// rawRules returns c's rules for a failed record's raw input: none for no
// contract, and all of the data dropped for rules that cannot be applied.
func (s *Stage) rawRules(c *contract.Contract) *Rules {
	if c == nil {
		return nil
	}
	r, err := s.Rules(c)
	if err != nil {
		return &Rules{root: &node{rule: &Rule{Action: Drop}}}
	}
	return r
}

// contextsBySchemaRaw appends the array of contexts v with each one's data
// rewritten by the rules of the contract its own schema names (the record's
// contexts are those that read well; these are all that were sent). An
// element that is not an object, or whose schema is not one string, keeps
// nothing.
func (s *Stage) contextsBySchemaRaw(a *applier, out, v []byte, resolver pipeline.Resolver) ([]byte, error) {
	start := jsonscan.SkipSpace(v, 0)
	if start >= len(v) || v[start] != '[' {
		return out, errors.New("not an array of contexts")
	}
	out = append(out, '[')
	_, err := jsonscan.Array(v, start, func(n, es int) (int, error) {
		end, err := jsonscan.Skip(v, es)
		if err != nil {
			return end, err
		}
		if n > 0 {
			out = append(out, ',')
		}
		if v[es] != '{' {
			out = append(out, "null"...)
			return end, nil
		}
		schemas, schema := 0, ""
		_, err = jsonscan.Object(v, es, func(ks, ke, vs int) (int, error) {
			vend, err := jsonscan.Skip(v, vs)
			if err == nil && jsonscan.UnquoteBytes(v[ks:ke]) == "schema" {
				schemas++
				if v[vs] == '"' {
					schema = jsonscan.UnquoteBytes(v[vs:vend])
				}
			}
			return vend, err
		})
		if err != nil {
			return end, err
		}
		r := &Rules{root: &node{rule: &Rule{Action: Drop}}}
		if schemas == 1 && schema != "" {
			c, _ := resolver.Resolve(schema)
			r = s.rawRules(c)
		}
		out, err = rewriteMember(out, v[es:end], "data", func(out, d []byte) ([]byte, error) {
			return r.applyWith(a, out, d)
		})
		return end, err
	})
	return append(out, ']'), err
}

// rewriteMember appends the JSON object v with the value of every member
// named name replaced by what rewrite appends for it; it fails when v is
// not an object.
func rewriteMember(out, v []byte, name string, rewrite func(out, value []byte) ([]byte, error)) ([]byte, error) {
	start := jsonscan.SkipSpace(v, 0)
	if start >= len(v) || v[start] != '{' {
		return out, errors.New("not an object")
	}
	out = append(out, '{')
	first := true
	_, err := jsonscan.Object(v, start, func(ks, ke, vs int) (int, error) {
		end, err := jsonscan.Skip(v, vs)
		if err != nil {
			return end, err
		}
		out = member(out, &first, v[ks:ke])
		if jsonscan.UnquoteBytes(v[ks:ke]) == name {
			out, err = rewrite(out, v[vs:end])
			return end, err
		}
		out = append(out, v[vs:end]...)
		return end, nil
	})
	return append(out, '}'), err
}

// repeats reports whether out holds a value of data (a string's text or a
// number of four characters or more) that the rules took out of it, so is
// not in payload: another member of the raw input repeats it (a Segment
// message's context.traits repeating its traits).
func repeats(out, data, payload []byte) bool {
	budget := repeatsScanBudget
	return repeatsWithin(out, data, payload, &budget)
}

// repeatsWithin is repeats spending its reading from budget, shared by the
// calls for one record (a Snowplow event's data and each of its contexts).
func repeatsWithin(out, data, payload []byte, budget *int) bool {
	found, scanned := repeatsScanned(out, data, payload, *budget)
	*budget -= scanned
	return found
}

// repeatsScanBudget bounds the bytes repeats reads through for one record:
// each value the rules changed is looked for in the whole payload and the
// whole raw input, so a large data of many such values (an array of short
// strings under a governed key) would cost their number times the body's
// size (tens of seconds of CPU for one 1 MB request). Past it, repeats
// answers true: the raw input is withheld, which keeps nothing the record
// does not.
const repeatsScanBudget = 16 << 20

// repeatsScanned is repeats, also saying how many bytes it read through.
// A value found as it is among payload's values is kept and costs no
// scan; the others are looked for in payload (as text: the rules may have
// kept it inside a longer value) and in out.
func repeatsScanned(out, data, payload []byte, budget int) (bool, int) {
	v, ok := decodeWithNumbers(data)
	if !ok {
		return true, 0
	}
	kept := map[string]struct{}{}
	if pv, ok := decodeWithNumbers(payload); ok {
		walkScalars(pv, func(text string) bool {
			kept[text] = struct{}{}
			return true
		})
	}
	found, scanned := false, 0
	walkScalars(v, func(text string) bool {
		if _, ok := kept[text]; ok {
			return true
		}
		if scanned += len(payload) + len(out); scanned > budget {
			found = true // too much to look through: it may repeat
			return false
		}
		if !bytes.Contains(payload, []byte(text)) && bytes.Contains(out, []byte(text)) {
			found = true
			return false
		}
		return true
	})
	return found, scanned
}

func decodeWithNumbers(doc []byte) (any, bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	return v, dec.Decode(&v) == nil
}

// walkScalars calls f with the text of each string and number of v of four
// characters or more, until f returns false.
func walkScalars(v any, f func(text string) bool) bool {
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			if !walkScalars(e, f) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !walkScalars(e, f) {
				return false
			}
		}
	case string:
		if len(x) >= 4 {
			return f(x)
		}
	case json.Number:
		if len(x) >= 4 {
			return f(string(x))
		}
	}
	return true
}

// dataMemberRaw returns raw, a JSON object, with the one top-level member
// whose value is data, byte for byte, replaced by payload. It fails when
// raw is not an object or no member (or more than one) holds data: then
// the data may sit in raw in a form the rules cannot find.
func dataMemberRaw(raw, data, payload []byte) ([]byte, bool) {
	start := jsonscan.SkipSpace(raw, 0)
	if start >= len(raw) || raw[start] != '{' {
		return nil, false
	}
	out := make([]byte, 0, len(raw)+len(payload))
	out = append(out, '{')
	first := true
	found := 0
	_, err := jsonscan.Object(raw, start, func(ks, ke, vs int) (int, error) {
		end, err := jsonscan.Skip(raw, vs)
		if err != nil {
			return end, err
		}
		out = member(out, &first, raw[ks:ke])
		if bytes.Equal(raw[vs:end], data) {
			found++
			out = append(out, payload...)
			return end, nil
		}
		out = append(out, raw[vs:end]...)
		return end, nil
	})
	if err != nil || found != 1 {
		return nil, false
	}
	return append(out, '}'), true
}

// selfdescRaw rewrites the data member and each contexts[i].data member of a
// self-describing event as sent.
func (s *Stage) selfdescRaw(a *applier, ev *pipeline.Event, raw []byte, ctxContracts []*contract.Contract) ([]byte, bool) {
	start := jsonscan.SkipSpace(raw, 0)
	if start >= len(raw) || raw[start] != '{' {
		return nil, false
	}
	rules := func(c *contract.Contract) *Rules {
		if c == nil {
			return nil
		}
		r, err := s.Rules(c)
		if err != nil {
			return &Rules{root: &node{rule: &Rule{Action: Drop}}}
		}
		return r
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '{')
	first := true
	_, err := jsonscan.Object(raw, start, func(ks, ke, vs int) (int, error) {
		end, err := jsonscan.Skip(raw, vs)
		if err != nil {
			return end, err
		}
		out = member(out, &first, raw[ks:ke])
		switch jsonscan.UnquoteBytes(raw[ks:ke]) {
		case "data":
			out, err = rules(ev.Contract).applyWith(a, out, raw[vs:end])
		case "contexts":
			out, err = contextsRaw(a, out, raw[vs:end], func(i int) *Rules {
				if i < len(ctxContracts) {
					return rules(ctxContracts[i])
				}
				return &Rules{root: &node{rule: &Rule{Action: Drop}}}
			})
		default:
			out = append(out, raw[vs:end]...)
		}
		return end, err
	})
	if err != nil {
		return nil, false
	}
	return append(out, '}'), true
}

func contextsRaw(a *applier, out, v []byte, rules func(int) *Rules) ([]byte, error) {
	if v[0] != '[' {
		return append(out, "null"...), nil
	}
	out = append(out, '[')
	_, err := jsonscan.Array(v, 0, func(n, es int) (int, error) {
		end, err := jsonscan.Skip(v, es)
		if err != nil {
			return end, err
		}
		if n > 0 {
			out = append(out, ',')
		}
		if v[es] != '{' {
			out = append(out, "null"...)
			return end, nil
		}
		out = append(out, '{')
		first := true
		_, err = jsonscan.Object(v, es, func(ks, ke, vs int) (int, error) {
			vend, err := jsonscan.Skip(v, vs)
			if err != nil {
				return vend, err
			}
			out = member(out, &first, v[ks:ke])
			if jsonscan.UnquoteBytes(v[ks:ke]) == "data" {
				out, err = rules(n).applyWith(a, out, v[vs:vend])
				return vend, err
			}
			out = append(out, v[vs:vend]...)
			return vend, nil
		})
		out = append(out, '}')
		return end, err
	})
	return append(out, ']'), err
}

// The marker a record carries once contract rules were applied to it:
// attributes.accord_privacy = {"rules": FINGERPRINT, "key_id": ID}, where
// FINGERPRINT identifies the contracts and their rules that governed the
// event's data and contexts, and key_id the HMAC key (when a rule was
// hmac). No protocol has an attribute of that name (CloudEvents extension
// names hold no underscore, the others' are fixed lists).
const markerName = "accord_privacy"

var markerMember = []byte(`"` + markerName + `"`)

// holdsMarkerName is bytes.Contains(b, markerMember), looking for the
// name's end first: attributes are full of the quote the name starts
// with, at which bytes.Contains stops to compare (about 2,900
// instructions for a Snowplow event's 380 bytes of attributes), and
// rarely hold an underscore.
func holdsMarkerName(b []byte) bool {
	const head, tail = `"accord`, `_privacy"`
	for {
		i := bytes.Index(b, []byte(tail))
		if i < 0 {
			return false
		}
		if i >= len(head) && string(b[i-len(head):i]) == head {
			return true
		}
		b = b[i+1:]
	}
}

// carries reports whether the event's input (a replayed record) carries the
// marker of the rules that govern it today, under today's key: applying
// them again would change nothing it should.
func (s *Stage) carries(resolver pipeline.Resolver, ev *pipeline.Event) bool {
	rules, ok := fieldAt(ev.Input.Attributes, "/"+markerName+"/rules")
	if !ok {
		return false
	}
	keyID, _ := fieldAt(ev.Input.Attributes, "/"+markerName+"/key_id")
	var mark xxhash.Digest
	mark.Reset()
	usesHMAC := false
	add := func(c *contract.Contract) bool {
		if c == nil {
			return true
		}
		r, err := s.Rules(c)
		if err != nil {
			return false
		}
		if r == nil {
			return true
		}
		_, _ = mark.WriteString(c.URI)
		var fp [8]byte
		binary.LittleEndian.PutUint64(fp[:], r.Fingerprint())
		_, _ = mark.Write(fp[:])
		usesHMAC = usesHMAC || r.UsesHMAC()
		return true
	}
	if len(ev.Envelope.Payload) > 0 && !add(ev.Contract) {
		return false
	}
	for _, c := range ev.Envelope.Contexts {
		cc, err := resolver.Resolve(c.Schema)
		if err != nil || len(c.Data) == 0 {
			continue
		}
		if !add(cc) {
			return false
		}
	}
	want := ""
	if usesHMAC {
		want = s.secrets.KeyID
	}
	return rules == markerRules(mark.Sum64()) && keyID == want
}

func markerRules(sum uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], sum)
	return hex.EncodeToString(b[:])
}

// appendWithMarker appends attrs (a JSON object, or empty) with the marker
// as its last member, replacing one it had; without add, with none.
// unmarked says attrs are known to hold no "accord_privacy", which spares
// a look.
func appendWithMarker(dst, attrs []byte, unmarked bool, sum uint64, keyID string, add bool) []byte {
	if add {
		if members, ok := markerless(attrs, unmarked); ok {
			// Nothing to take out: the object as it is, less its closing
			// brace, and the marker after its members.
			return appendMarker(append(dst, members...), jsonscan.SkipSpace(members, 1) == len(members), sum, keyID)
		}
	}
	return appendRebuiltWithMarker(dst, attrs, sum, keyID, add)
}

// appendRebuiltWithMarker is appendWithMarker member by member, for
// attributes that may hold a marker (a replayed record's, or a client's
// claim to one).
func appendRebuiltWithMarker(dst, attrs []byte, sum uint64, keyID string, add bool) []byte {
	begin := len(dst)
	out := append(dst, '{')
	first := true
	if start := jsonscan.SkipSpace(attrs, 0); start < len(attrs) && attrs[start] == '{' {
		_, err := jsonscan.Object(attrs, start, func(ks, ke, vs int) (int, error) {
			end, err := jsonscan.Skip(attrs, vs)
			if err != nil || string(jsonscan.TextBytes(attrs[ks:ke])) == markerName {
				return end, err
			}
			out = member(out, &first, attrs[ks:ke])
			out = append(out, attrs[vs:end]...)
			return end, nil
		})
		if err != nil {
			out, first = out[:begin+1], true // attributes are the pipeline's JSON; should they not be, only the marker
		}
	}
	if !add {
		return append(out, '}')
	}
	return appendMarker(out, first, sum, keyID)
}

// markerless returns attrs without its closing brace when attrs, an
// object, has no member named as the marker, which is every event's but a
// replayed record's. It looks at the bytes only: taking the members apart
// one by one was half of what the stage cost a Snowplow event. A name can
// spell the marker's only plainly or with an escape, and attributes are
// the pipeline's JSON (a decoder's, or a record's read back), as the
// record's encoding trusts them to be.
func markerless(attrs []byte, unmarked bool) ([]byte, bool) {
	attrs = bytes.TrimRight(attrs, " \t\r\n")
	start := jsonscan.SkipSpace(attrs, 0)
	if start >= len(attrs)-1 || attrs[start] != '{' || attrs[len(attrs)-1] != '}' ||
		bytes.IndexByte(attrs, '\\') >= 0 || !unmarked && holdsMarkerName(attrs) {
		return nil, false
	}
	return attrs[start : len(attrs)-1], true
}

// appendMarker appends the marker member to out, an object's members so
// far (first: none yet), and closes the object.
func appendMarker(out []byte, first bool, sum uint64, keyID string) []byte {
	out = member(out, &first, markerMember)
	out = append(out, `{"rules":"`...)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], sum)
	out = hex.AppendEncode(out, b[:]) // markerRules(sum), without a string
	out = append(out, '"')
	if keyID != "" {
		out = append(out, `,"key_id":`...)
		out = jsonscan.AppendString(out, keyID)
	}
	return append(out, "}}"...)
}
